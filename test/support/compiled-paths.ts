/** Where the global setup (build-server.ts) puts the compiled server for process tests. */
import { fileURLToPath } from 'node:url';

export const compiledBuildDirectory = fileURLToPath(new URL('../../test-output/build', import.meta.url));
/** `npm start`'s entry point, compiled. */
export const compiledMainScript = `${compiledBuildDirectory}/server/main.js`;
