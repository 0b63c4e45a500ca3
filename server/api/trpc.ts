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
import type { AuthUser, Role } from './auth.js';
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

/** A RealtimeError behind a failed call's TRPCError reaches the client with its own code and message. */
function withRealtimeErrors<Result extends { ok: boolean; error?: TRPCError }>(result: Result): Result {
  if (!result.ok && isRealtimeError(result.error?.cause)) return { ...result, error: toTRPCError(result.error.cause) };
  return result;
}

const mapErrors = t.middleware(async ({ next }) => withRealtimeErrors(await next()));

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(mapErrors);

/**
 * One middleware for what `publicProcedure.use(auth)` would be two: each level of tRPC's
 * middleware chain copies the call's options (twice) and its context, ~5 KB allocated per call
 * (a heap sampling of 1,000 connects), and every connection opens its subscriptions through
 * here. The context it adds is only `user`: tRPC merges it into the rest itself.
 */
export const authedProcedure = t.procedure.use(async ({ ctx, next }) => {
  let user: AuthUser;
  try {
    user = await admitCaller(ctx);
  } catch (error) {
    throw toTRPCError(error);
  }
  return withRealtimeErrors(await next({ ctx: { user } }));
});

async function admitCaller(ctx: ApiContext): Promise<AuthUser> {
  const { user } = ctx;
  if (!user) throw new TRPCError({ code: 'UNAUTHORIZED', message: ctx.authFailure ?? 'No token' });
  // A call over the WebSocket was charged by the transport before it was decoded; over HTTP the
  // charge is here. Per user either way: more sockets or requests buy no more calls.
  if (ctx.transport !== 'ws') {
    const retryAfterMs = await ctx.rateLimits.consume(`user:${user.userId}`);
    if (retryAfterMs > 0) {
      throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Rate limit exceeded; retry in ${retryAfterMs} ms` });
    }
  }
  ctx.services.core.touch(user.userId);
  return user;
}

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
