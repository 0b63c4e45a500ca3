/**
 * `agent-realtime token <userId> [--admin | --service] [--expires 24h]` (or `npm run token -- …`):
 * prints a token signed with AUTH_SECRET, for scripts and for trying the API.
 */
import { TokenService, type Role } from '../api/auth.js';

export const tokenUsage = 'Usage: AUTH_SECRET=... agent-realtime token <userId> [--admin | --service] [--expires 24h]';

/** Prints the token; returns the process exit code (2: bad usage). */
export async function runTokenCommand(args: readonly string[], secret = process.env.AUTH_SECRET): Promise<number> {
  const userId = args.find((arg, index) => !arg.startsWith('--') && args[index - 1] !== '--expires');
  if (!userId || !secret) {
    console.error(tokenUsage);
    if (!secret) console.error('AUTH_SECRET is not set: use the same secret the server runs with.');
    return 2;
  }
  const role: Role = args.includes('--admin') ? 'admin' : args.includes('--service') ? 'service' : 'user';
  const expiresIndex = args.indexOf('--expires');
  const expiresIn = expiresIndex >= 0 ? (args[expiresIndex + 1] ?? '24h') : '24h';
  console.log(await new TokenService(secret).sign(userId, role, expiresIn));
  return 0;
}
