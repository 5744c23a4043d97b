// How a route of the API is declared: its access (checked by the auth plugin from the route's config), its
// OpenAPI entry (tags, summary, the role it needs appended to the description, TypeBox request and response
// schemas) and, rarely, its own rate limit. Shared by the route plugins in routes/.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import { PUBLIC, type Access } from './auth.ts';
import * as S from './schemas.ts';

export const API_PREFIX = '/api/v1';

export type RouteAccess = Access | typeof PUBLIC;

export const READ: Access = { min: 'viewer' };
export const READ_MASTER: Access = { min: 'viewer', master: true };
export const OPERATOR: Access = { min: 'operator' };
export const ENGINEER: Access = { min: 'engineer' };
/** The master station's upstream check: engineer or master, with a client certificate when mTLS is on. */
export const MASTER_POST: Access = { min: 'engineer', master: true, clientCert: true };

export const ERR = { '4xx': S.ErrorSchema, '5xx': S.ErrorSchema };
export const SECURITY: Array<Record<string, string[]>> = [{ bearer: [] }, { session: [] }];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may use the route; routes without it are public outside the API space and read-only inside it. */
    access?: RouteAccess;
  }
}

export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT';
  /** Relative to the prefix the route plugin is registered with. */
  url: string;
  access: RouteAccess;
  tags: string[];
  summary: string;
  /** The role note "(role …)" is appended for routes that need credentials. */
  description?: string;
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  headers?: TSchema;
  response: Record<string, unknown>;
  rateLimit?: { max: number; timeWindow: number };
}

function roleNote(a: RouteAccess, mtls: boolean): string {
  return a === PUBLIC
    ? 'no credentials'
    : `role ${a.min}+${a.master === true ? ' or master' : ''}${a.clientCert === true && mtls ? ', client certificate' : ''}`;
}

// Each route types its own request (params, query, body); the generic is erased at this one boundary.
export function defineRoute(
  app: FastifyInstance,
  def: RouteDef,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handler: (req: FastifyRequest<any>, reply: FastifyReply) => unknown,
): void {
  const description =
    def.description !== undefined && def.access !== PUBLIC ? `${def.description} (${roleNote(def.access, app.mtls)})` : def.description;
  const schema: Record<string, unknown> = {
    tags: def.tags,
    summary: def.summary,
    ...(description !== undefined ? { description } : {}),
    ...(def.params !== undefined ? { params: def.params } : {}),
    ...(def.querystring !== undefined ? { querystring: def.querystring } : {}),
    ...(def.body !== undefined ? { body: def.body } : {}),
    ...(def.headers !== undefined ? { headers: def.headers } : {}),
    response: def.response,
    security: def.access === PUBLIC ? [] : SECURITY,
  };
  app.route({
    method: def.method,
    url: def.url,
    schema,
    config: { access: def.access, ...(def.rateLimit !== undefined ? { rateLimit: def.rateLimit } : {}) },
    handler: handler as never,
  });
}

/** A 200 that is a file, not JSON, in the OpenAPI document. */
export const binary = (contentType: string, description: string) => ({
  200: { description, content: { [contentType]: { schema: Type.String({ format: 'binary' }) } } },
  ...ERR,
});

export function attachment(reply: FastifyReply, type: string, filename: string, data: Uint8Array | string): FastifyReply {
  return reply
    .header('content-type', type)
    .header('content-disposition', `attachment; filename="${filename}"`)
    .header('cache-control', 'no-store')
    .send(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}
