/**
 * tRPC initialisation and the procedure builders every router uses: public, authenticated
 * (with rate limit), admin and service. RealtimeErrors become TRPCErrors of the same code here,
 * once, so routers just call the core.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import superjson from 'superjson';
import type { ZodError } from 'zod';
import { isRealtimeError } from '../core/errors.js';
import { isZodError } from '../core/validation.js';
import type { Role } from './auth.js';
import type { ApiContext } from './context.js';

/** SSE comments sent on idle streams so proxies do not cut them; clients reconnect after twice as long without one. */
export const ssePingIntervalMs = 10_000;

const t = initTRPC.context<ApiContext>().create({
  transformer: superjson,
  sse: {
    ping: { enabled: true, intervalMs: ssePingIntervalMs },
    client: { reconnectAfterInactivityMs: 3 * ssePingIntervalMs },
  },
  errorFormatter({ shape, error }) {
    const zodError = findZodError(error);
    return {
      ...shape,
      data: { ...shape.data, stack: undefined, zodIssues: zodError ? zodError.issues : null },
    };
  },
});

function findZodError(error: unknown): ZodError | undefined {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    if (isZodError(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Maps any error to the TRPCError clients see; RealtimeError keeps its code and message. */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) {
    return isRealtimeError(error.cause) ? toTRPCError(error.cause) : error;
  }
  if (isRealtimeError(error)) return new TRPCError({ code: error.code, message: error.message, cause: error });
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal error', cause: error });
}

const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && isRealtimeError(result.error.cause)) {
    return { ...result, error: toTRPCError(result.error.cause) };
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(mapErrors);

export const authedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: ctx.authFailure ?? 'No token' });
  // A call over the WebSocket was charged by the transport before it was decoded; over HTTP the
  // charge is here. Per user either way: more sockets or requests buy no more calls.
  if (ctx.transport !== 'ws') {
    const retryAfterMs = await ctx.rateLimits.consume(`user:${ctx.user.userId}`);
    if (retryAfterMs > 0) {
      throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Rate limit exceeded; retry in ${retryAfterMs} ms` });
    }
  }
  ctx.services.core.touch(ctx.user.userId);
  return next({ ctx: { ...ctx, user: ctx.user } });
});

function requireRole(...allowed: Role[]) {
  return authedProcedure.use(({ ctx, next }) => {
    if (!allowed.includes(ctx.user.role)) {
      throw new TRPCError({ code: 'FORBIDDEN', message: `Requires role ${allowed.join(' or ')}` });
    }
    return next();
  });
}

export const adminProcedure = requireRole('admin');
/** Agent workers and other producers (role `service`), and admins. */
export const producerProcedure = requireRole('service', 'admin');
