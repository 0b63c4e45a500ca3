/** The application router: the one definition of every procedure, input and authorization rule. */
import { adminRouter, eventsRouter } from './routers/admin.js';
import { notificationsRouter, presenceRouter, roomsRouter, typingProcedure } from './routers/members.js';
import { subscriptionProcedures } from './routers/subscriptions.js';
import { agentsRouter, governanceRouter } from './routers/workflows.js';
import { router } from './trpc.js';

export const appRouter = router({
  ...subscriptionProcedures,
  admin: adminRouter,
  events: eventsRouter,
  rooms: roomsRouter,
  presence: presenceRouter,
  typing: typingProcedure,
  notifications: notificationsRouter,
  governance: governanceRouter,
  agents: agentsRouter,
});

export type AppRouter = typeof appRouter;
