/** The first screen: the operator pastes a token (the service prints one on `npm start`). */
import { useState, type FormEvent } from 'react';
import { decodeClaims } from '../session.js';

export interface LoginFormProps {
  /** Why the last attempt ended (a rejected or expired token), shown above the form. */
  error?: string | null;
  onSignIn(token: string): void;
}

export function LoginForm({ error, onSignIn }: LoginFormProps) {
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<string | null>(null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = token.trim();
    const decoded = decodeClaims(trimmed);
    if ('problem' in decoded) {
      setProblem(decoded.problem);
      return;
    }
    onSignIn(trimmed);
  };

  return (
    <main className="login">
      <form onSubmit={submit} data-testid="login-form">
        <h1>Realtime operator dashboard</h1>
        <p>
          Paste an admin token. In development, <code>npm start</code> prints one; otherwise run{' '}
          <code>npm run token -- &lt;userId&gt; --admin</code>.
        </p>
        {(problem ?? error) && (
          <div className="banner" role="alert" data-testid="login-error">
            {problem ?? error}
          </div>
        )}
        <label>
          Token
          <textarea
            data-testid="token-input"
            value={token}
            onChange={(event) => {
              setToken(event.target.value);
              setProblem(null);
            }}
            placeholder="eyJhbGciOiJIUzI1NiJ9…"
            spellCheck={false}
            autoFocus
          />
        </label>
        <button type="submit" className="primary" data-testid="sign-in" disabled={token.trim() === ''}>
          Connect
        </button>
        <p>The token stays in this tab only (session storage) and is sent on the WebSocket connection to this origin.</p>
      </form>
    </main>
  );
}
