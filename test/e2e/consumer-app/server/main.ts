// The app's realtime server: the built-in service plus the app's own events.
import { createRealtimeServer } from 'agent-realtime/server'
import { events } from '../src/events.js'

const server = createRealtimeServer({
  authSecret: process.env.AUTH_SECRET ?? '',
  events,
  config: {
    port: Number(process.env.PORT ?? 3000),
    corsOrigins: (process.env.APP_ORIGIN ?? '').split(',').filter(Boolean),
  },
})
const { url } = await server.listen()
console.log(JSON.stringify({ listening: url }))

process.on('SIGTERM', () => void server.close().then(() => process.exit(0)))
