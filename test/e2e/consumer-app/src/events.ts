// The app's own event types: used by its server at run time, registered for the compiler here.
import { defineEvents } from 'agent-realtime/shared'
import { z } from 'zod'

export const events = defineEvents({
  'chat.message': {
    schema: z.strictObject({ text: z.string().min(1).max(2000) }),
    clientPublishable: true,
  },
})

declare module 'agent-realtime/shared' {
  interface Register {
    events: typeof events
  }
}
