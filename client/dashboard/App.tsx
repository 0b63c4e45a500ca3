/**
 * The page: a sign-in box until there is a token, then the live dashboard inside one
 * RealtimeProvider connected to this page's own origin (`/trpc`), which is where the service
 * serves the built page (`npm start`) and where Vite's dev server proxies to (`npm run dev`).
 * `?transport=sse` (or `auto`, `http`) chooses how it connects; the default is the WebSocket.
 */
import { useState } from 'react';
import type { TransportChoice } from '../index.js';
import { RealtimeProvider } from '../react/index.js';
import { Dashboard } from './components/Dashboard.js';
import { LoginForm } from './components/LoginForm.js';
import { decodeClaims, forgetToken, readStoredToken, storeToken, type TokenClaims } from './session.js';

interface Session {
  token: string;
  claims: TokenClaims;
}

function restoredSession(): Session | null {
  const token = readStoredToken();
  if (!token) return null;
  const decoded = decodeClaims(token);
  if ('problem' in decoded) {
    forgetToken();
    return null;
  }
  return { token, claims: decoded.claims };
}

const transportChoices: readonly TransportChoice[] = ['websocket', 'http', 'sse', 'auto'];

/** `?transport=sse` for a network that blocks WebSockets; anything else is the default. */
function transportFromAddress(): TransportChoice {
  const asked = new URLSearchParams(window.location.search).get('transport');
  return transportChoices.find((choice) => choice === asked) ?? 'websocket';
}

export function App() {
  const [transport] = useState(transportFromAddress);
  const [session, setSession] = useState<Session | null>(restoredSession);
  const [signInError, setSignInError] = useState<string | null>(null);

  const signIn = (token: string) => {
    const decoded = decodeClaims(token);
    if ('problem' in decoded) {
      setSignInError(decoded.problem);
      return;
    }
    if (decoded.claims.role !== 'admin') {
      setSignInError(`This token is for ${decoded.claims.userId} with role ${decoded.claims.role}; the dashboard needs role admin.`);
      return;
    }
    storeToken(token);
    setSignInError(null);
    setSession({ token, claims: decoded.claims });
  };

  const signOut = (reason: string | null) => {
    forgetToken();
    setSignInError(reason);
    setSession(null);
  };

  if (!session) return <LoginForm error={signInError} onSignIn={signIn} />;
  return (
    // A new token is a new connection: keying the provider by it closes the old socket.
    <RealtimeProvider key={session.token} url={window.location.origin} token={session.token} transport={transport}>
      <Dashboard claims={session.claims} onSignOut={signOut} />
    </RealtimeProvider>
  );
}
