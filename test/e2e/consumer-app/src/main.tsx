import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { RealtimeProvider } from 'agent-realtime/react'
import App from './App.tsx'

const params = new URLSearchParams(window.location.search)
const transport = params.get('transport') === 'sse' ? 'sse' : 'websocket'

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <RealtimeProvider url={params.get('service') ?? 'http://127.0.0.1:3000'} token={params.get('token') ?? ''} transport={transport}>
      <App room={params.get('room') ?? 'lobby'} />
    </RealtimeProvider>
  </StrictMode>,
)
