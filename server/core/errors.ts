/**
 * The error class lives at the bottom of the server (server/errors.ts), so that the bus and the
 * backends below the core throw it too; the core's files keep importing it from beside them.
 */
export { RealtimeError, isRealtimeError } from '../errors.js';
