// Sessions for the local panel: a token exchanged for an HttpOnly cookie (EventSource cannot send an
// Authorization header), logout, and who a request is authenticated as.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { parseCookies, PUBLIC, SESSION_COOKIE } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { requirePrincipal } from '../plugins/auth.ts';
import { defineRoute, ERR, READ_MASTER } from '../route.ts';
import * as S from '../schemas.ts';
import type { TokenStore } from '../tokens.ts';

export interface SessionOptions {
  tokens: TokenStore;
  /** The API is served over TLS: the cookie gets Secure. */
  secureCookie: boolean;
}

const session: FastifyPluginAsync<SessionOptions> = async (app, { tokens, secureCookie }) => {
  const sessions = app.sessions;
  const limits = app.requestLimits;
  const cookie = (value: string, maxAgeS: number): string =>
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secureCookie ? '; Secure' : ''}`;

  defineRoute(
    app,
    {
      method: 'POST',
      url: '/login',
      access: PUBLIC,
      tags: ['session'],
      summary: 'exchange a token for a session cookie (local panel)',
      description: `Sets the HttpOnly SameSite=Strict cookie ${SESSION_COOKIE}.`,
      body: S.LoginBody,
      response: { 200: S.SessionSchema, ...ERR },
      // Each login costs an scrypt: a tighter budget than the rest of the API.
      rateLimit: { max: Math.min(limits.max, 30), timeWindow: limits.windowMs },
    },
    async (req: FastifyRequest<{ Body: { token: string } }>, reply) => {
      const info = await tokens.verify(req.body.token);
      if (info === undefined) throw new ApiError('UNAUTHORIZED', 'token is not valid (unknown, revoked or mistyped)');
      const s = sessions.create(info.id);
      reply.header('set-cookie', cookie(s.id, Math.floor(sessions.ttlMs / 1000)));
      return { name: info.name, role: info.role, via: 'session', expiresAt: s.expires.toISOString() };
    },
  );

  defineRoute(
    app,
    {
      method: 'POST',
      url: '/logout',
      access: PUBLIC,
      tags: ['session'],
      summary: 'end the panel session',
      response: { 200: S.LogoutSchema, ...ERR },
    },
    (req, reply) => {
      const sid = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
      const had = sid !== undefined && sessions.delete(sid);
      reply.header('set-cookie', cookie('', 0));
      return { loggedOut: had };
    },
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/session',
      access: READ_MASTER,
      tags: ['session'],
      summary: 'who the request is authenticated as',
      description: 'The panel uses it to decide whether to show its login form.',
      response: { 200: S.SessionSchema, ...ERR },
    },
    (req: FastifyRequest) => {
      const p = requirePrincipal(req);
      return { name: p.name, role: p.role, via: p.via, expiresAt: null };
    },
  );
};

export default session;
