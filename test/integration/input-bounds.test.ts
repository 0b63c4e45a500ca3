/**
 * Issue 13 through the official WebSocket client: ids from the safe character set, presence
 * metadata bounded in bytes, workflow event types refused by the operator's publish procedures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limits } from '../../shared/limits.js';
import { isBoundedRequestId, maxRequestIdLength } from '../../server/transport/client-messages.js';
import { startServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => (t = await startServer()));
afterAll(async () => t.stop());

const badIds = ['lobby\u0000alice', '\uD800', 'lone\uDC00low', 'two words', 'tab\there', 'bell\u0007', 'zero\u200Bwidth', 'e\u0301'];
const goodIds = ['project:123', 'sphere:personal', 'agent_123', 'lobby', 'équipe-1', '会议室', 'auth0|5f7c', 'a.b@example.com', 'a/b+c=', 'é'];

describe('ids, metadata and workflow events (official client)', () => {
  it('accepts ids from the safe set and refuses NUL, lone surrogates, whitespace, control and format characters', async () => {
    const alice = t.connect(await t.token('alice'));
    try {
      for (const roomId of goodIds) await expect(alice.api.rooms.join.mutate({ roomId })).resolves.toBeDefined();
      for (const roomId of badIds) {
        await expect(alice.api.rooms.join.mutate({ roomId }), JSON.stringify(roomId)).rejects.toMatchObject({
          data: { code: 'BAD_REQUEST' },
          message: expect.stringContaining('Invalid id'),
        });
        await expect(alice.api.typing.mutate({ roomId, isTyping: true })).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
      }
      // The ghost typist of issue 13: NUL cannot smuggle a user into another room's typing list.
      expect((await alice.api.rooms.get.query({ roomId: 'lobby' })).typing).toEqual([]);
      // Ids inside event payloads follow the same rule.
      const admin = t.connect(await t.token('root', 'admin'));
      await expect(
        admin.api.admin.broadcast.mutate({ type: 'sphere.member_joined', data: { sphereId: 'sphere:1', userId: 'bob\u0000' } }),
      ).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
      admin.close();
    } finally {
      alice.close();
    }
  });

  it(`bounds presence metadata at ${limits.maxPresenceMetadataBytes} bytes of JSON`, async () => {
    const bob = t.connect(await t.token('bob'));
    try {
      const fits = { note: 'x'.repeat(limits.maxPresenceMetadataBytes - 20) };
      await expect(bob.api.presence.update.mutate({ status: 'busy', metadata: fits })).resolves.toMatchObject({ metadata: fits });
      // Multi-byte characters count as bytes, not characters.
      const wide = { note: 'é'.repeat(limits.maxPresenceMetadataBytes / 2) };
      for (const metadata of [{ note: 'x'.repeat(limits.maxPresenceMetadataBytes) }, wide, { note: 'x'.repeat(58_000) }]) {
        await expect(bob.api.presence.update.mutate({ status: 'busy', metadata })).rejects.toMatchObject({
          data: { code: 'BAD_REQUEST' },
          message: expect.stringContaining(`at most ${limits.maxPresenceMetadataBytes} bytes`),
        });
      }
      expect((await bob.api.presence.get.query({ userId: 'bob' })).metadata).toEqual(fits);
    } finally {
      bob.close();
    }
  });

  it('refuses agent.* and governance.* on admin.send and admin.broadcast, naming the procedure to use', async () => {
    const admin = t.connect(await t.token('root', 'admin'));
    try {
      await expect(
        admin.api.admin.send.mutate({ userId: 'alice', type: 'agent.progress', data: { agentId: 'agent_1', progress: 50 } }),
      ).rejects.toMatchObject({ data: { code: 'FORBIDDEN' }, message: expect.stringContaining('agents.emit') });
      await expect(
        admin.api.admin.broadcast.mutate({ roomId: 'lobby', type: 'governance.approved', data: { actionId: 'a1', decidedBy: 'root' } }),
      ).rejects.toMatchObject({ data: { code: 'FORBIDDEN' }, message: expect.stringContaining('governance.approve') });
      await expect(
        admin.api.admin.broadcast.mutate({ type: 'agent.complete', data: { agentId: 'agent_1' } }),
      ).rejects.toMatchObject({ data: { code: 'FORBIDDEN' } });
      // Everything else an operator publishes still goes through.
      await expect(admin.api.admin.send.mutate({ userId: 'alice', type: 'notification.new', data: { title: 'hi', message: '' } })).resolves.toMatchObject({
        eventId: expect.any(String),
      });
      expect((await admin.api.admin.history.query({ type: 'agent.progress' })).length).toBe(0);
    } finally {
      admin.close();
    }
  });

  it('bounds client-chosen request ids (helper for the transport)', () => {
    expect([1, 0, Number.MAX_SAFE_INTEGER, 'a', 'x'.repeat(maxRequestIdLength)].every(isBoundedRequestId)).toBe(true);
    expect([1.5, Number.MAX_SAFE_INTEGER + 2, Number.NaN, '', 'x'.repeat(maxRequestIdLength + 1), 'x'.repeat(58_000), null, {}].some(isBoundedRequestId)).toBe(false);
  });
});
