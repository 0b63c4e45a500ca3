/**
 * `npm run token -- <userId> [--admin | --service] [--expires 24h]`: prints a token signed with
 * AUTH_SECRET, for scripts and for trying the API.
 */
import { TokenService, type Role } from '../api/auth.js';

const args = process.argv.slice(2);
const userId = args.find((arg, index) => !arg.startsWith('--') && args[index - 1] !== '--expires');
const secret = process.env.AUTH_SECRET;
if (!userId || !secret) {
  console.error('Usage: AUTH_SECRET=... npm run token -- <userId> [--admin | --service] [--expires 24h]');
  if (!secret) console.error('AUTH_SECRET is not set: use the same secret the server runs with.');
  process.exit(2);
}
const role: Role = args.includes('--admin') ? 'admin' : args.includes('--service') ? 'service' : 'user';
const expiresIndex = args.indexOf('--expires');
const expiresIn = expiresIndex >= 0 ? (args[expiresIndex + 1] ?? '24h') : '24h';
console.log(await new TokenService(secret).sign(userId, role, expiresIn));
