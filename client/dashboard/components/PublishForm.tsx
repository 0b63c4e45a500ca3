/**
 * The operator's publish form: broadcast to everyone or a room, or send to one user, any type
 * of the catalog an operator may publish by hand (agent.* and governance.* go through their
 * workflow procedures). The data is edited as JSON from a valid example; what the service
 * rejects comes back with its zod issues, listed under the form.
 */
import { TRPCClientError } from '@trpc/client';
import { useState, type FormEvent } from 'react';
import type { AppRouter } from '../../../server/api/router.js';
import {
  eventCategory,
  operatorPublishableEventTypes,
  type EventCategory,
  type EventPublication,
  type EventType,
  type PublishableEventType,
} from '../../../shared/events.js';
import type { RealtimeClient } from '../../index.js';
import { exampleData } from '../live/event-examples.js';

type Target = 'everyone' | 'room' | 'user';

type Outcome =
  | { kind: 'sent'; summary: string }
  | { kind: 'failed'; message: string; code?: string; issues: { path: string; message: string }[] };

export interface PublishFormProps {
  client: RealtimeClient;
  /** Suggestions for the room and user fields. */
  roomIds: readonly string[];
  userIds: readonly string[];
}

const pretty = (value: unknown) => JSON.stringify(value, null, 2);
const typesByCategory = operatorPublishableEventTypes.reduce((groups, type) => {
  const category = eventCategory(type);
  groups.set(category, [...(groups.get(category) ?? []), type]);
  return groups;
}, new Map<EventCategory, EventType[]>());

export function PublishForm({ client, roomIds, userIds }: PublishFormProps) {
  const [target, setTarget] = useState<Target>('everyone');
  const [roomId, setRoomId] = useState('');
  const [userId, setUserId] = useState('');
  const [type, setType] = useState<EventType>('notification.new');
  const [dataText, setDataText] = useState(() => pretty(exampleData('notification.new')));
  const [edited, setEdited] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  const chooseType = (next: EventType) => {
    setType(next);
    // Keep the operator's edits; replace only an untouched example.
    if (!edited) setDataText(pretty(exampleData(next)));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    let data: unknown;
    try {
      data = JSON.parse(dataText);
    } catch (error) {
      setOutcome({ kind: 'failed', message: `The data is not valid JSON: ${(error as Error).message}`, issues: [] });
      return;
    }
    setBusy(true);
    setOutcome(null);
    try {
      // The operator's JSON, unchecked here on purpose: the service validates it and the form lists its zod issues.
      const publication = { type, data } as EventPublication<PublishableEventType>;
      const { eventId } =
        target === 'user'
          ? await client.api.admin.send.mutate({ userId: userId.trim(), ...publication })
          : await client.api.admin.broadcast.mutate({ ...(target === 'room' && { roomId: roomId.trim() }), ...publication });
      const to = target === 'user' ? `@${userId.trim()}` : target === 'room' ? `#${roomId.trim()}` : 'everyone';
      setOutcome({ kind: 'sent', summary: `Sent ${type} to ${to} (event ${eventId}).` });
    } catch (error) {
      setOutcome(describeFailure(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel" data-testid="publish-panel">
      <div className="panel-header">
        <h2>Publish an event</h2>
      </div>
      <form className="publish" onSubmit={(event) => void submit(event)} data-testid="publish-form">
        <div className="segmented" role="group" aria-label="Target">
          {(['everyone', 'room', 'user'] as const).map((choice) => (
            <button type="button" key={choice} aria-pressed={target === choice} onClick={() => setTarget(choice)} data-testid={`publish-target-${choice}`}>
              {choice === 'everyone' ? 'Everyone' : choice === 'room' ? 'A room' : 'A user'}
            </button>
          ))}
        </div>
        <div className="row">
          {target === 'room' && (
            <label>
              Room
              <input list="known-rooms" value={roomId} onChange={(event) => setRoomId(event.target.value)} required placeholder="room id" data-testid="publish-room" />
            </label>
          )}
          {target === 'user' && (
            <label>
              User
              <input list="known-users" value={userId} onChange={(event) => setUserId(event.target.value)} required placeholder="user id" data-testid="publish-user" />
            </label>
          )}
          <label>
            Type
            <select value={type} onChange={(event) => chooseType(event.target.value as EventType)} data-testid="publish-type">
              {[...typesByCategory].map(([category, types]) => (
                <optgroup key={category} label={category}>
                  {types.map((choice) => (
                    <option key={choice} value={choice}>
                      {choice}
                    </option>
                  ))}
                </optgroup>
              ))}
            </select>
          </label>
        </div>
        <label>
          Data (JSON)
          <textarea
            value={dataText}
            onChange={(event) => {
              setDataText(event.target.value);
              setEdited(true);
            }}
            spellCheck={false}
            data-testid="publish-data"
          />
        </label>
        <div className="row" style={{ alignItems: 'center' }}>
          <button type="submit" className="primary" disabled={busy} data-testid="publish-submit">
            {target === 'user' ? 'Send' : 'Broadcast'}
          </button>
          <button
            type="button"
            onClick={() => {
              setDataText(pretty(exampleData(type)));
              setEdited(false);
            }}
          >
            Reset to example
          </button>
        </div>
        {outcome && <OutcomeView outcome={outcome} />}
        <datalist id="known-rooms">
          {roomIds.map((id) => (
            <option key={id} value={id} />
          ))}
        </datalist>
        <datalist id="known-users">
          {userIds.map((id) => (
            <option key={id} value={id} />
          ))}
        </datalist>
      </form>
    </section>
  );
}

function OutcomeView({ outcome }: { outcome: Outcome }) {
  if (outcome.kind === 'sent') {
    return (
      <div className="result ok" role="status" data-testid="publish-result">
        {outcome.summary}
      </div>
    );
  }
  return (
    <div className="result failed" role="alert" data-testid="publish-error">
      {outcome.code && <strong>{outcome.code}: </strong>}
      {outcome.message}
      {outcome.issues.length > 0 && (
        <ul data-testid="publish-issues">
          {outcome.issues.map((issue, index) => (
            <li key={index}>
              <code>{issue.path || '(data)'}</code> {issue.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function describeFailure(error: unknown): Outcome {
  if (!(error instanceof TRPCClientError)) {
    return { kind: 'failed', message: error instanceof Error ? error.message : String(error), issues: [] };
  }
  const { data } = error as TRPCClientError<AppRouter>;
  const issues = (data?.zodIssues ?? []).map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  return { kind: 'failed', message: error.message, ...(data?.code && { code: data.code }), issues };
}
