import { useState } from 'react'
import { trpc, useEvent, useRealtime, useRealtimeClient, useRoomPresence } from 'agent-realtime/react'

interface Line {
  id: string
  from: string
  text: string
}

function App({ room }: { room: string }) {
  const { state, error } = useRealtime()
  const { members } = useRoomPresence(room)
  const client = useRealtimeClient()
  const [lines, setLines] = useState<Line[]>([])

  // event.data is { text: string }: the app's own event, typed without a cast.
  useEvent('chat.message', (event) => {
    const text: string = event.data.text
    setLines((previous) => [...previous, { id: event.id, from: event.senderId ?? 'system', text }])
  })

  const say = () => client.api.rooms.publish.mutate({ roomId: room, type: 'chat.message', data: { text: 'hello from the page' } })

  return (
    <main>
      <p data-testid="state" title={error?.message}>{state}</p>
      <p data-testid="members">{members.size}</p>
      <button onClick={() => void say()}>Say hello</button>
      <ul>
        {lines.map((line) => (
          <li key={line.id} data-testid="message">
            {line.from}: {line.text}
          </li>
        ))}
      </ul>
    </main>
  )
}

// What must not compile: a wrong payload or an unknown type, for the app's event as for built-ins.
export function mistakes(client: ReturnType<typeof useRealtimeClient>) {
  // @ts-expect-error text must be a string
  void client.api.rooms.publish.mutate({ roomId: 'lobby', type: 'chat.message', data: { text: 42 } })
  // @ts-expect-error chat.message has no title
  useEvent('chat.message', (event) => event.data.title)
  // @ts-expect-error no such event type
  useEvent('chat.mesage', () => {})
  // @ts-expect-error an unknown key in the payload
  void client.broadcast('chat.message', { text: 'hi', colour: 'red' })
  // @ts-expect-error tRPC's React Query hooks check the payload too
  trpc.rooms.publish.useMutation().mutate({ roomId: 'lobby', type: 'chat.message', data: { text: null } })
}

export default App
