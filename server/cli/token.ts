/**
 * `agent-realtime token <userId> [--admin | --service] [--rooms 'project:*,team:7'] [--expires 24h]`
 * (or `npm run token -- …`): prints a token signed with AUTH_SECRET, for scripts and for trying
 * the API. A user token without `--rooms` enters only the server's OPEN_ROOMS (and what its room
 * authorizer admits).
 */
import { TokenService, type Role } from '../api/auth.js';
import { parseRoomPatterns } from '../core/room-patterns.js';

export const tokenUsage = "Usage: AUTH_SECRET=... agent-realtime token <userId> [--admin | --service] [--rooms 'project:*,team:7'] [--expires 24h]";

const takesValue = new Set(['--expires', '--rooms']);

/** Prints the token; returns the process exit code (2: bad usage). */
export async function runTokenCommand(args: readonly string[], secret = process.env.AUTH_SECRET): Promise<number> {
  const valueOf = (flag: string) => {
    const index = args.indexOf(flag);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const userId = args.find((arg, index) => !arg.startsWith('--') && !takesValue.has(args[index - 1] ?? ''));
  if (!userId || !secret || (args.includes('--rooms') && !valueOf('--rooms'))) {
    console.error(tokenUsage);
    if (!secret) console.error('AUTH_SECRET is not set: use the same secret the server runs with.');
    return 2;
  }
  const role: Role = args.includes('--admin') ? 'admin' : args.includes('--service') ? 'service' : 'user';
  const rooms = parseRoomPatterns(valueOf('--rooms'));
  console.log(await new TokenService(secret).sign(userId, role, valueOf('--expires') ?? '24h', rooms.length > 0 ? { rooms } : {}));
  return 0;
}
