/**
 * The tRPC React Query hooks of the server's router: `trpc.admin.stats.useQuery()`,
 * `trpc.rooms.join.useMutation()`. RealtimeProvider provides its client and QueryClient, so
 * these work anywhere below it.
 */
import { createTRPCReact, type CreateTRPCReact } from '@trpc/react-query';
import type { AppRouter } from '../../server/api/router.js';

/** Annotated, so the package's declarations name AppRouter (and an app's registered events reach it) instead of inlining the router. */
export const trpc: CreateTRPCReact<AppRouter, unknown> = createTRPCReact<AppRouter>();
