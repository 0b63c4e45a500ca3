#!/usr/bin/env node
/**
 * The package's command (`npx agent-realtime …`), run by plain node from the built package:
 * `start` serves the service as `npm start` does (configured by the environment), `token`
 * prints a signed token. Each command is imported only when asked for, so `token` starts no
 * server and loads no Redis client.
 */
const usage = [
  'Usage: agent-realtime <command>',
  '  start                                   serve HTTP and WebSocket (HOST, PORT, AUTH_SECRET, REDIS_URL, CORS_ORIGINS, ...)',
  '  token <userId> [--admin | --service]    print a token signed with AUTH_SECRET [--rooms "project:*,team:7"] [--expires 24h]',
].join('\n');

export {};

const [command, ...args] = process.argv.slice(2);
if (command === 'start') {
  await import('../main.js');
} else if (command === 'token') {
  const { runTokenCommand } = await import('./token.js');
  process.exitCode = await runTokenCommand(args);
} else {
  console.error(usage);
  process.exitCode = command === undefined || command === '--help' || command === 'help' ? 0 : 2;
}
