// Who is asking: a bearer token, the panel's session cookie (EventSource cannot send headers), or a request
// from the loopback interface without credentials when the device trusts it (the embedded demo). Identity
// is resolved once per request before the rate limit (so the limit is per token); the role check runs after.
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './errors.ts';
import { ROLE_RANK, type Role, type TokenStore } from './tokens.ts';

export interface Principal {
  via: 'token' | 'session' | 'loopback';
  tokenId: string | null;
  name: string;
  role: Role;
}

/** What a route needs. `min` is the lowest of viewer < operator < engineer; `master` also admits the master station. */
export interface Access {
  min: 'viewer' | 'operator' | 'engineer';
  master?: boolean;
  /** The route needs a client certificate verified against the configured client CA (when mTLS is on). */
  clientCert?: boolean;
}

export const PUBLIC = 'public' as const;

export const SESSION_COOKIE = 'svde_session';
const SESSION_TTL_MS = 12 * 3600 * 1000;
const MAX_SESSIONS = 256;

interface Session {
  tokenId: string;
  expires: number;
}

export class Sessions {
  readonly #map = new Map<string, Session>();
  readonly ttlMs: number;

  constructor(ttlMs = SESSION_TTL_MS) {
    this.ttlMs = ttlMs;
  }

  create(tokenId: string): { id: string; expires: Date } {
    this.#sweep();
    if (this.#map.size >= MAX_SESSIONS) {
      // Drop the oldest: a flood of logins must not grow memory without bound.
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) this.#map.delete(oldest);
    }
    const id = randomBytes(32).toString('base64url');
    const expires = Date.now() + this.ttlMs;
    this.#map.set(id, { tokenId, expires });
    return { id, expires: new Date(expires) };
  }

  get(id: string): Session | undefined {
    const s = this.#map.get(id);
    if (s === undefined) return undefined;
    if (s.expires <= Date.now()) {
      this.#map.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string): boolean {
    return this.#map.delete(id);
  }

  #sweep(): void {
    const now = Date.now();
    for (const [k, s] of this.#map) if (s.expires <= now) this.#map.delete(k);
  }
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (!out.has(k)) out.set(k, v);
  }
  return out;
}

export function isLoopback(ip: string | undefined): boolean {
  return ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1';
}

export type Identity = { principal: Principal } | { error: ApiError } | { anonymous: true };

/** Resolves the caller; never replies itself (the role check does, after the rate limit). */
export async function identify(
  req: FastifyRequest,
  tokens: TokenStore,
  sessions: Sessions,
  trustLoopbackAs: Role | undefined,
): Promise<Identity> {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(auth);
    if (m === null) {
      return {
        error: new ApiError('UNAUTHORIZED', 'Authorization header must be "Bearer <token>"', undefined, {
          'www-authenticate': 'Bearer realm="svde"',
        }),
      };
    }
    const info = await tokens.verify(m[1]!);
    if (info === undefined) {
      return {
        error: new ApiError('UNAUTHORIZED', 'bearer token is not valid (unknown, revoked or mistyped)', undefined, {
          'www-authenticate': 'Bearer realm="svde", error="invalid_token"',
        }),
      };
    }
    return { principal: { via: 'token', tokenId: info.id, name: info.name, role: info.role } };
  }
  const loopback = trustLoopbackAs !== undefined && isLoopback(req.socket.remoteAddress);
  const sid = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
  if (sid !== undefined) {
    const s = sessions.get(sid);
    const info = s === undefined ? undefined : tokens.get(s.tokenId);
    if (info !== undefined) return { principal: { via: 'session', tokenId: info.id, name: info.name, role: info.role } };
    // Sessions live in memory, so every restart leaves the panel with a stale cookie; where the loopback is
    // trusted that must not turn a read-only panel into a login screen.
    if (!loopback) return { error: new ApiError('UNAUTHORIZED', 'session expired or its token was revoked; log in again') };
  }
  if (loopback) return { principal: { via: 'loopback', tokenId: null, name: 'loopback', role: trustLoopbackAs } };
  return { anonymous: true };
}

function describe(p: Principal): string {
  return p.via === 'loopback' ? `${p.role} (loopback without a token)` : `${p.role} (${p.via} '${p.name}')`;
}

/** Throws 401/403 when the principal may not use a route with this access. */
export function authorize(id: Identity, access: Access, what: string): Principal {
  if ('error' in id) throw id.error;
  if ('anonymous' in id) {
    throw new ApiError('UNAUTHORIZED', `${what} needs a bearer token (Authorization: Bearer <token>) or a session cookie`, undefined, {
      'www-authenticate': 'Bearer realm="svde"',
    });
  }
  const p = id.principal;
  if (p.role === 'master') {
    if (access.master === true) return p;
    throw new ApiError('FORBIDDEN', `${what} is not open to the master station role`);
  }
  if (ROLE_RANK[p.role] >= ROLE_RANK[access.min]) return p;
  const also = access.master === true ? ' or master' : '';
  throw new ApiError('FORBIDDEN', `${what} needs the ${access.min} role${also}; this request has ${describe(p)}`);
}
