// A worker in plain Node 20: publishes the app's own event into a room.
import WebSocket from 'ws'
import { createProducerClient } from 'agent-realtime/producer'

const [url, token, roomId, text] = process.argv.slice(2)
const producer = createProducerClient({ url, token, WebSocket })
const { eventId } = await producer.broadcast('chat.message', { text }, { roomId })
console.log(JSON.stringify({ eventId }))
await producer.close()
