/** The live event feed: newest first, filtered by category, type and free text. */
import { memo, useMemo, useState } from 'react';
import { eventCategory, eventTypes, type EventCategory, type EventType, type RealtimeEvent } from '../../../shared/events.js';
import { compactJson, formatTime } from '../live/format.js';
import type { EventFeed as EventFeedModel } from '../live/use-event-feed.js';

const categories: EventCategory[] = ['agent', 'governance', 'user', 'room', 'notification', 'system', 'sphere', 'connection', 'stream'];

export function EventFeed({ feed }: { feed: EventFeedModel }) {
  const [category, setCategory] = useState<EventCategory | 'all'>('all');
  const [type, setType] = useState<EventType | 'all'>('all');
  const [search, setSearch] = useState('');

  const countsByCategory = useMemo(() => {
    const counts = new Map<EventCategory, number>();
    for (const event of feed.events) counts.set(eventCategory(event.type), (counts.get(eventCategory(event.type)) ?? 0) + 1);
    return counts;
  }, [feed.events]);

  const visible = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return feed.events.filter(
      (event) =>
        (category === 'all' || eventCategory(event.type) === category) &&
        (type === 'all' || event.type === type) &&
        (needle === '' || searchableText(event).includes(needle)),
    );
  }, [feed.events, category, type, search]);

  const typeChoices = category === 'all' ? eventTypes : eventTypes.filter((candidate) => eventCategory(candidate) === category);

  return (
    <section className="panel" data-testid="event-feed">
      <div className="panel-header">
        <h2>Live events</h2>
        <span className="count" data-testid="event-feed-count">
          {visible.length} shown · {feed.events.length} kept · {feed.received.toLocaleString()} received
        </span>
      </div>
      {feed.error && (
        <div className="banner" role="alert">
          The event stream failed: {feed.error.message}
        </div>
      )}
      {feed.lastGapAt && (
        <div className="banner warn">Some events before {formatTime(feed.lastGapAt)} could not be replayed after a reconnect.</div>
      )}
      <div className="category-chips" role="group" aria-label="Filter by category">
        <button type="button" aria-pressed={category === 'all'} onClick={() => selectCategory('all')}>
          all
        </button>
        {categories.map((candidate) => (
          <button
            type="button"
            key={candidate}
            aria-pressed={category === candidate}
            onClick={() => selectCategory(candidate)}
            data-testid={`feed-category-${candidate}`}
          >
            {candidate} {countsByCategory.get(candidate) ?? 0}
          </button>
        ))}
      </div>
      <div className="feed-filters">
        <select aria-label="Event type" value={type} onChange={(event) => setType(event.target.value as EventType | 'all')} data-testid="feed-type">
          <option value="all">every type</option>
          {typeChoices.map((choice) => (
            <option key={choice} value={choice}>
              {choice}
            </option>
          ))}
        </select>
        <input type="search" placeholder="Search ids, users, data…" value={search} onChange={(event) => setSearch(event.target.value)} data-testid="feed-search" />
        <button type="button" onClick={feed.clear}>
          Clear
        </button>
      </div>
      <div className="feed" role="log" aria-live="off">
        {visible.length === 0 ? (
          <div className="empty">{feed.events.length === 0 ? 'Waiting for events…' : 'No event matches the filters.'}</div>
        ) : (
          visible.map((event) => <FeedRow key={event.id} event={event} />)
        )}
      </div>
    </section>
  );

  function selectCategory(next: EventCategory | 'all') {
    setCategory(next);
    if (type !== 'all' && next !== 'all' && eventCategory(type) !== next) setType('all');
  }
}

const FeedRow = memo(function FeedRow({ event }: { event: RealtimeEvent }) {
  return (
    <div className="feed-row" data-testid="feed-row" data-type={event.type} data-event-id={event.id}>
      <span className="time" title={event.timestamp.toISOString()}>
        {formatTime(event.timestamp)}
      </span>
      <div className="body">
        <div className="head">
          <span className="type" data-category={eventCategory(event.type)} title={event.id}>
            {event.type}
          </span>
          <span className="route">{route(event)}</span>
        </div>
        <div className="data" title={JSON.stringify(event.data, null, 2)}>
          {compactJson(event.data)}
        </div>
      </div>
    </div>
  );
});

function route(event: RealtimeEvent): string {
  const to = event.roomId !== undefined ? `#${event.roomId}` : event.userId !== undefined ? `@${event.userId}` : 'everyone';
  return event.senderId !== undefined ? `${event.senderId} → ${to}` : `→ ${to}`;
}

function searchableText(event: RealtimeEvent): string {
  return `${event.id} ${event.type} ${event.roomId ?? ''} ${event.userId ?? ''} ${event.senderId ?? ''} ${JSON.stringify(event.data)}`.toLowerCase();
}
