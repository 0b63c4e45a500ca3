/**
 * The tRPC React Query hooks of the server's router: `trpc.admin.stats.useQuery()`,
 * `trpc.rooms.join.useMutation()`. RealtimeProvider provides its client and QueryClient, so
 * these work anywhere below it.
 */
import { createTRPCReact } from '@trpc/react-query';
import type { AppRouter } from '../../server/api/router.js';

export const trpc = createTRPCReact<AppRouter>();
