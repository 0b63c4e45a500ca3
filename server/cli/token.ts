/**
 * `npm run token -- <userId> [--admin | --service] [--rooms 'project:*,team:7'] [--expires 24h]`:
 * prints a token signed with AUTH_SECRET, for scripts and for trying the API. A user token
 * without `--rooms` enters only the server's OPEN_ROOMS (and what its room authorizer admits).
 */
import { TokenService, type Role } from '../api/auth.js';
import { parseRoomPatterns } from '../core/room-patterns.js';

const usage = "Usage: AUTH_SECRET=... npm run token -- <userId> [--admin | --service] [--rooms 'project:*,team:7'] [--expires 24h]";
const args = process.argv.slice(2);
const valueOf = (flag: string) => {
  const index = args.indexOf(flag);
  return index >= 0 ? args[index + 1] : undefined;
};
const takesValue = new Set(['--expires', '--rooms']);
const userId = args.find((arg, index) => !arg.startsWith('--') && !takesValue.has(args[index - 1] ?? ''));
const secret = process.env.AUTH_SECRET;
if (!userId || !secret || (args.includes('--rooms') && !valueOf('--rooms'))) {
  console.error(usage);
  if (!secret) console.error('AUTH_SECRET is not set: use the same secret the server runs with.');
  process.exit(2);
}
const role: Role = args.includes('--admin') ? 'admin' : args.includes('--service') ? 'service' : 'user';
const rooms = parseRoomPatterns(valueOf('--rooms'));
const token = await new TokenService(secret).sign(userId, role, valueOf('--expires') ?? '24h', rooms.length > 0 ? { rooms } : {});
console.log(token);
