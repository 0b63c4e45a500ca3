/** The per-server event catalog with plain objects: built-in and app types, flags, names refused at start. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventCatalog } from '../../server/core/event-catalog.js';
import { isRealtimeError } from '../../server/core/errors.js';

const catalog = new EventCatalog({
  'chat.message': { schema: z.strictObject({ text: z.string().min(1) }), clientPublishable: true },
  'cursor.at': { schema: z.strictObject({ x: z.number(), y: z.number() }), clientPublishable: true, ephemeral: true },
  'board.card_moved': { schema: z.strictObject({ cardId: z.string() }) },
});

describe('EventCatalog', () => {
  it('knows built-in and app types, and which publishers may use them', () => {
    expect(catalog.appEventTypes).toEqual(['chat.message', 'cursor.at', 'board.card_moved']);
    expect(['agent.progress', 'chat.message', 'user.presence'].map((type) => catalog.has(type))).toEqual([true, true, true]);
    expect(catalog.has('chat.mesage')).toBe(false);
    expect(catalog.isPublishable('chat.message')).toBe(true);
    expect(catalog.isPublishable('user.presence')).toBe(false);
    expect(['chat.message', 'board.card_moved', 'notification.new'].map((type) => catalog.isClientPublishable(type))).toEqual([true, false, false]);
    expect(['cursor.at', 'chat.message', 'agent.progress'].map((type) => catalog.isEphemeral(type))).toEqual([true, false, false]);
  });

  it('validates app payloads with their schema, and names what is wrong', () => {
    expect(catalog.parse(catalog.checkType('chat.message', ['type']), { text: 'hi' })).toEqual({ text: 'hi' });
    expect(() => catalog.parse(catalog.checkType('chat.message', ['type']), { text: '' })).toThrow(z.ZodError);
    let refused: unknown;
    try {
      catalog.checkType('user.presence', ['type'], { publishable: true });
    } catch (error) {
      refused = error;
    }
    expect(isRealtimeError(refused) && refused.code).toBe('BAD_REQUEST');
    expect(() => catalog.checkType('nope', ['types', 0])).toThrow(/Unknown event type: nope/);
  });

  it('refuses, at construction, names of the built-in catalog or its categories, bad names and missing schemas', () => {
    const make = (events: Record<string, unknown>) => () => new EventCatalog(events as never);
    expect(make({ connected: { schema: z.object({}) } })).toThrow(/"connected" collides with the built-in event type/);
    expect(make({ 'governance.vote': { schema: z.object({}) } })).toThrow(/built-in category "governance\."/);
    expect(make({ 'chat.': { schema: z.object({}) } })).toThrow(/not a valid name/);
    expect(make({ 'chat.message': {} })).toThrow(/needs a zod schema/);
  });
});
