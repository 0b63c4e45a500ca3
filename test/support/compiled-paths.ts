/** Where the global setup (build-server.ts, test/tsconfig.processes.json) puts what process tests start. */
import { fileURLToPath } from 'node:url';

export const compiledBuildDirectory = fileURLToPath(new URL('../../test-output/build', import.meta.url));
/** `npm start`'s entry point, compiled. */
export const compiledMainScript = `${compiledBuildDirectory}/server/main.js`;
/** The reliability tests' child server, compiled. */
export const compiledChildServer = `${compiledBuildDirectory}/test/reliability/support/child-server.js`;
