/**
 * Type-level tests: every event name and payload a client writes is checked by the compiler
 * against the server's router and the shared catalog. Each `@ts-expect-error` line must fail to
 * compile; if one ever compiles, typecheck fails on the unused directive.
 */
import { EventSource } from 'eventsource';
import { describe, expectTypeOf, it } from 'vitest';
import { createRealtimeClient, type AgentEventType, type RealtimeClient, type RealtimeEvent, type RouterOutputs } from '../../client/index.js';
import {
  useAgentEvents,
  useEvent,
  useGovernanceEvents,
  useNotifications,
  useRealtime,
  useRoomPresence,
  type ConnectionState,
} from '../../client/react/index.js';
import type { UserPresence } from '../../shared/presence.js';

declare const client: RealtimeClient;

describe('useEvent', () => {
  it('narrows the handler to the event type asked for', () => {
    useEvent('notification.new', (event) => {
      expectTypeOf(event.type).toEqualTypeOf<'notification.new'>();
      expectTypeOf(event.data.title).toEqualTypeOf<string>();
      expectTypeOf(event.timestamp).toEqualTypeOf<Date>();
      // @ts-expect-error notification.new has no progress
      void event.data.progress;
    });
    useEvent(['agent.progress', 'agent.complete'], (event) => {
      expectTypeOf(event.type).toEqualTypeOf<'agent.progress' | 'agent.complete'>();
      if (event.type === 'agent.progress') expectTypeOf(event.data.progress).toEqualTypeOf<number>();
    });
  });

  it('rejects an event type that is not in the catalog', () => {
    // @ts-expect-error no such event type
    useEvent('notification.created', () => {});
    // @ts-expect-error no such event type in a list either
    useEvent(['agent.progress', 'agent.finished'], () => {});
  });

  it('rejects a handler written for another payload', () => {
    // @ts-expect-error the handler expects agent.progress, the hook delivers notification.new
    useEvent('notification.new', (event: RealtimeEvent<'agent.progress'>) => void event);
  });
});

describe('the vanilla client', () => {
  it('narrows subscribeToEvents by `types`', () => {
    client.subscribeToEvents({ types: ['agent.progress'] }, (event) => {
      expectTypeOf(event).toEqualTypeOf<RealtimeEvent<'agent.progress'>>();
      expectTypeOf(event.data.progress).toEqualTypeOf<number>();
    });
    client.subscribeToAgent({ agentId: 'a' }, (event) => expectTypeOf(event.type).toEqualTypeOf<AgentEventType>());
    // @ts-expect-error no such event type
    client.subscribeToEvents({ types: ['agent.progres'] }, () => {});
  });

  it('checks payloads when publishing', () => {
    void client.sendToUser('alice', 'notification.new', { title: 'Build done', message: 'All green' });
    void client.broadcast('agent.progress', { agentId: 'a', progress: 50 }, { roomId: 'r' });
    // @ts-expect-error notification.new needs a title
    void client.sendToUser('alice', 'notification.new', { message: 'no title' });
    // @ts-expect-error progress is a number
    void client.broadcast('agent.progress', { agentId: 'a', progress: 'half' });
    // @ts-expect-error unknown keys are rejected by the catalog's strict schemas
    void client.sendToUser('alice', 'system.maintenance', { message: 'tonight', severity: 'high' });
  });

  it('types every procedure from the router', () => {
    expectTypeOf(client.api.rooms.members.query).returns.resolves.toEqualTypeOf<UserPresence[]>();
    // @ts-expect-error rooms.join takes a roomId
    void client.api.rooms.join.mutate({ room: 'x' });
    // @ts-expect-error no such procedure
    void client.api.rooms.destroy;
    expectTypeOf(client.state).toEqualTypeOf<ConnectionState>();
  });

  it('takes a transport from a closed list, and the eventsource package as EventSource', () => {
    createRealtimeClient({ url: 'http://127.0.0.1:3000', token: 't', transport: 'sse', EventSource });
    createRealtimeClient({ url: 'http://127.0.0.1:3000', token: 't', transport: 'auto', autoFallback: { afterFailures: 3, timeoutMs: 2_000 } });
    // @ts-expect-error no such transport
    createRealtimeClient({ url: 'http://127.0.0.1:3000', token: 't', transport: 'polling' });
    expectTypeOf(client.transport).toEqualTypeOf<'websocket' | 'sse'>();
    expectTypeOf(useRealtime().transport).toEqualTypeOf<'websocket' | 'sse'>();
  });
});

describe('the stateful hooks', () => {
  it('return typed state', () => {
    const realtime = useRealtime();
    expectTypeOf(realtime.state).toEqualTypeOf<'idle' | 'connecting' | 'failed' | 'open' | 'reconnecting' | 'closed'>();
    // @ts-expect-error 'offline' is not a status one can choose
    void realtime.updatePresence('offline');

    const { members, typingUsers } = useRoomPresence('r');
    expectTypeOf(members).toEqualTypeOf<ReadonlyMap<string, UserPresence>>();
    expectTypeOf(typingUsers).toEqualTypeOf<ReadonlySet<string>>();

    const agent = useAgentEvents('a');
    expectTypeOf(agent.progress).toEqualTypeOf<number>();
    expectTypeOf(agent.status).toEqualTypeOf<'idle' | RouterOutputs['agents']['get']['status']>();

    const { pendingActions, approve } = useGovernanceEvents();
    expectTypeOf(pendingActions[0]!.actionId).toEqualTypeOf<string>();
    expectTypeOf(approve).parameter(0).toEqualTypeOf<string>();

    const { notifications, unreadCount } = useNotifications();
    expectTypeOf(unreadCount).toEqualTypeOf<number>();
    const first = notifications[0]!;
    if (first.type === 'notification.new') expectTypeOf(first.data.title).toEqualTypeOf<string>();
  });
});
