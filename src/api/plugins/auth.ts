// Authentication and roles for every route, the panel's included: the caller is identified on request
// (before the rate limit, which is per token) and checked against the route's `access` config after the
// rate limit and before the body is parsed. Session cookies are panel-only: a state-changing request that
// carries one must come from the panel's own origin. With mutual TLS, routes marked clientCert need a
// certificate the master station CA issued.
import type { TLSSocket } from 'node:tls';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { authorize, identify, PUBLIC, Sessions, type Identity, type Principal } from '../auth.ts';
import { ApiError } from '../errors.ts';
import { API_PREFIX, READ } from '../route.ts';
import type { Role, TokenStore } from '../tokens.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The panel's login sessions (in memory). */
    sessions: Sessions;
    /** Mutual TLS is on: routes marked clientCert need a client certificate. */
    mtls: boolean;
  }
  interface FastifyRequest {
    /** Who the credentials say the caller is; set on request. */
    identity: Identity | null;
    /** Set once the route's access check passed. */
    principal: Principal | null;
  }
}

export interface AuthOptions {
  tokens: TokenStore;
  trustLoopbackAs: Role | undefined;
  mtls: boolean;
}

/** The caller of a route that needs credentials (the access check has passed). */
export function requirePrincipal(req: FastifyRequest): Principal {
  const p = req.principal;
  if (p === null) throw new ApiError('UNAUTHORIZED', 'no credentials');
  return p;
}

function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (typeof origin === 'string') {
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }
  const site = req.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin' || site === 'none';
}

const auth: FastifyPluginAsync<AuthOptions> = async (app, { tokens, trustLoopbackAs, mtls }) => {
  const sessions = new Sessions();
  app.decorate('sessions', sessions);
  app.decorate('mtls', mtls);
  app.decorateRequest('identity', null);
  app.decorateRequest('principal', null);

  app.addHook('onRequest', async (req) => {
    req.identity = await identify(req, tokens, sessions, trustLoopbackAs);
  });

  // After the rate limit (route-level onRequest) and before the body is parsed: may this caller use the route?
  app.addHook('preParsing', async (req) => {
    const url = req.routeOptions.url;
    if (url === undefined) return;
    // HEAD is answered by the GET handler and carries its config, so it needs what GET needs. Routes a
    // plugin adds without an `access` config are public outside the API space (the panel's page) and
    // read-only inside it.
    const a = req.routeOptions.config.access ?? (url.startsWith(`${API_PREFIX}/`) ? READ : PUBLIC);
    if (a === PUBLIC) return;
    const what = `${req.method} ${url}`;
    const p = authorize(req.identity ?? { anonymous: true }, a, what);
    if (p.via === 'session' && req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req)) {
      throw new ApiError('FORBIDDEN', `${what} with a session cookie must come from the panel's own origin`);
    }
    if (a.clientCert === true && mtls) {
      const sock = req.raw.socket as TLSSocket;
      if (sock.authorized !== true) {
        const why =
          typeof sock.getPeerCertificate === 'function' && Object.keys(sock.getPeerCertificate()).length > 0
            ? `the client certificate was refused (${String(sock.authorizationError)})`
            : 'no client certificate was presented';
        throw new ApiError('FORBIDDEN', `${what} needs a client certificate issued by the master station CA (mutual TLS); ${why}`);
      }
    }
    req.principal = p;
  });
};

export default fp(auth, { name: 'svde-auth' });
