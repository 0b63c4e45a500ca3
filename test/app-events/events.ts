/** An app's own events, as an app writes them: defined once, registered for the compiler. */
import { z } from 'zod';
import { defineEvents } from '../../shared/app-events.js';

export const appEvents = defineEvents({
  'chat.message': { schema: z.strictObject({ text: z.string().min(1).max(2000), replyTo: z.string().optional() }), clientPublishable: true },
  'board.card_moved': { schema: z.strictObject({ cardId: z.string(), column: z.enum(['todo', 'doing', 'done']) }) },
  'cursor.at': { schema: z.strictObject({ x: z.number(), y: z.number() }), clientPublishable: true, ephemeral: true },
});

// An app writes `declare module 'agent-realtime/shared'`; inside this repository the module is the source file.
declare module '../../shared/app-events.js' {
  interface Register {
    events: typeof appEvents;
  }
}
