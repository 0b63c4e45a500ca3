/** `npm run token -- alice --rooms 'project:*,team:7'` prints a token the server accepts, with those rooms. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TokenService } from '../../server/api/auth.js';
import { testSecret } from '../support/server.js';

const run = promisify(execFile);
const tokenCli = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'server/cli/bin.ts', 'token', ...args], { cwd: new URL('../..', import.meta.url).pathname, env: { ...process.env, AUTH_SECRET: testSecret } });

describe('npm run token', () => {
  it('signs a user token with a rooms claim, and role tokens', async () => {
    const tokens = new TokenService(testSecret);
    const { stdout } = await tokenCli('alice', '--rooms', 'project:*,team:7', '--expires', '2h');
    expect(await tokens.verify(stdout.trim())).toMatchObject({ userId: 'alice', role: 'user', rooms: ['project:*', 'team:7'] });
    const admin = await tokenCli('root', '--admin');
    const claims = await tokens.verify(admin.stdout.trim());
    expect(claims).toMatchObject({ userId: 'root', role: 'admin' });
    expect(claims.rooms).toBeUndefined();
    await expect(tokenCli('alice', '--rooms')).rejects.toMatchObject({ code: 2 });
  }, 30_000);
});
