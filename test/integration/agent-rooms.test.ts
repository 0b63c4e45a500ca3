/**
 * Runs in rooms (issue 19): a run started with `roomId` reaches the room's members on onRoom and
 * onAgent({ roomId }) under room access, and nobody else; its owner and admins keep cancel rights.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldOutput } from '../../shared/folds/agent-output.js';
import { collect, type Collected } from '../support/collect.js';
import { startServer, type TestServer } from '../support/server.js';
import { sleep, waitFor } from '../support/wait.js';

let t: TestServer;
beforeAll(async () => (t = await startServer()));
afterAll(async () => t.stop());

const agentEvents = (stream: Collected, agentId: string) =>
  stream.events.filter((event) => event.type.startsWith('agent.') && (event.data as { agentId?: string }).agentId === agentId);
const textOf = (stream: Collected) =>
  stream.events.reduce((text, event) => (event.type === 'agent.output' ? foldOutput(text, event.data) : text), '');

describe('agent runs in rooms', () => {
  it("reaches the room's members on onRoom and onAgent, not outsiders; only owner and admins cancel", async () => {
    const { services } = t.server;
    const member = t.connect(await t.token('bob', 'user', '1h', { rooms: ['project:*'] }));
    const outsider = t.connect(await t.token('eve', 'user', '1h', { rooms: ['other:*'] }));
    const inRoom = collect(member.api.onRoom, { roomId: 'project:apollo' });
    const byRoom = collect(member.api.onAgent, { roomId: 'project:apollo' });
    const outsiderOwn = collect(outsider.api.onAgent, undefined);
    await waitFor(() => inRoom.started && byRoom.started && outsiderOwn.started, 'subscribed');

    await services.emitAgentEvent('apollo-run', 'agent.started', 'alice', { task: 'plan', roomId: 'project:apollo' });
    await services.emitAgentEvent('apollo-run', 'agent.output', 'alice', { delta: 'Step one. ' });
    await services.emitAgentEvent('apollo-run', 'agent.progress', 'alice', { progress: 50 });
    for (const stream of [inRoom, byRoom]) await waitFor(() => agentEvents(stream, 'apollo-run').length >= 3, 'the run in the room');
    expect(agentEvents(byRoom, 'apollo-run').map((event) => event.type)).toEqual(['agent.started', 'agent.output', 'agent.progress']);
    expect(agentEvents(inRoom, 'apollo-run')[0]).toMatchObject({ roomId: 'project:apollo', userId: 'alice' });

    // A member watching the run itself, and reading it, goes through the room; a late one gets the text so far.
    const byAgent = collect(member.api.onAgent, { agentId: 'apollo-run' });
    await waitFor(() => agentEvents(byAgent, 'apollo-run').length >= 3, 'the run replayed to a member');
    expect(textOf(byAgent)).toBe('Step one. ');
    expect(await member.api.agents.get.query({ agentId: 'apollo-run' })).toMatchObject({ roomId: 'project:apollo', status: 'running' });

    // Outsiders: refused on the room and the run, and nothing through their own stream.
    await expect(outsider.api.agents.get.query({ agentId: 'apollo-run' })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    const refused = [collect(outsider.api.onAgent, { roomId: 'project:apollo' }), collect(outsider.api.onAgent, { agentId: 'apollo-run' }), collect(outsider.api.onRoom, { roomId: 'project:apollo' })];
    for (const stream of refused) await waitFor(() => stream.errors.length === 1, 'refused');
    for (const stream of refused) expect(stream.errors[0]).toMatchObject({ data: { code: 'FORBIDDEN' } });

    // Cancel: a member may not; the owner may (an admin may too, checked on a second run).
    await expect(member.api.agents.cancel.mutate({ agentId: 'apollo-run' })).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
    const owner = t.http(await t.token('alice', 'user', '1h', { rooms: [] }));
    await owner.agents.cancel.mutate({ agentId: 'apollo-run', reason: 'enough' });
    await waitFor(() => agentEvents(byRoom, 'apollo-run').some((event) => event.type === 'agent.cancelled'), 'the cancel in the room');
    await services.emitAgentEvent('apollo-run', 'agent.started', 'alice', { roomId: 'project:apollo' });
    await t.http(await t.token('root', 'admin')).agents.cancel.mutate({ agentId: 'apollo-run' });

    await sleep(50);
    expect(agentEvents(outsiderOwn, 'apollo-run')).toEqual([]);
    for (const client of [member, outsider]) client.close();
  });
});
