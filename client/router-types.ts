/**
 * Input and output types of every procedure, inferred from the server's router (type-only
 * imports: nothing of the server reaches a bundle). `RouterOutputs['governance']['pending']`.
 */
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../server/api/router.js';

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
