// One request budget per token (per client address without one), with the 429 in the API's error shape.
// Registered before the routes: the limit attaches itself to each route as it is added.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import rateLimit from '@fastify/rate-limit';
import { ApiError } from '../errors.ts';

export interface Limits {
  max: number;
  windowMs: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The global budget; routes with a tighter one (login) derive it from this. */
    requestLimits: Limits;
  }
}

export function checkLimits(limits: Limits): void {
  if (!(Number.isInteger(limits.max) && limits.max > 0 && Number.isFinite(limits.windowMs) && limits.windowMs > 0)) {
    throw new Error(`rateLimit needs a positive integer max and a positive windowMs, got ${JSON.stringify(limits)}`);
  }
}

const limiter: FastifyPluginAsync<{ limits: Limits }> = async (app, { limits }) => {
  checkLimits(limits);
  app.decorate('requestLimits', limits);
  await app.register(rateLimit, {
    global: true,
    max: limits.max,
    timeWindow: limits.windowMs,
    keyGenerator: (req: FastifyRequest) => {
      const id = req.identity;
      return id !== null && 'principal' in id && id.principal.tokenId !== null ? `token:${id.principal.tokenId}` : `ip:${req.ip}`;
    },
    errorResponseBuilder: (_req: FastifyRequest, ctx: { after: string; ttl: number; max: number }) =>
      new ApiError('RATE_LIMITED', `rate limit of ${ctx.max} requests per ${limits.windowMs / 1000} s exceeded; retry in ${ctx.after}`, {
        limit: ctx.max,
        windowMs: limits.windowMs,
        retryAfterSeconds: Math.ceil(ctx.ttl / 1000),
      }),
  });
};

export default fp(limiter, { name: 'svde-rate-limit', dependencies: ['svde-auth'] });
