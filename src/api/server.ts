// The appliance's REST API for the control centre (and the data side of the local panel): Fastify with
// TypeBox schemas on every request and response, an OpenAPI 3 document, bearer tokens with roles, a
// session cookie for the panel, optional TLS and mutual TLS for the master station, rate limits, JSON
// errors, Server-Sent Events and Prometheus metrics. It sees the appliance only through DeviceView.
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest, type RouteShorthandOptions } from 'fastify';
import swagger from '@fastify/swagger';
import rateLimit from '@fastify/rate-limit';
import { Type, type TSchema } from '@sinclair/typebox';
import type { DeviceView, LiveEvent } from '../model/device.ts';
import type { AlarmQuery, EventQuery } from '../model/records.ts';
import { authorize, identify, Sessions, SESSION_COOKIE, parseCookies, PUBLIC, type Access, type Identity, type Principal } from './auth.ts';
import { ApiError, badRequest, errorHandler, notFound, sendError } from './errors.ts';
import { createMetrics } from './metrics.ts';
import * as S from './schemas.ts';
import { parseTimeParam } from './time.ts';
import type { Role, TokenStore } from './tokens.ts';
import type { ConfigurationAdmin } from '../config/admin.ts';

export type { Role } from './tokens.ts';

/** Evidence files of one alarm, made by the export module (injected so the API does not depend on it). */
export interface EvidenceExporter {
  pcap(alarmId: number): Uint8Array | undefined;
  comtrade(alarmId: number, format: 'ascii' | 'binary'): { cfg: string; dat: Uint8Array; cff: Uint8Array } | undefined;
}

export interface ApiOptions {
  device: DeviceView;
  tokens: TokenStore;
  evidence: EvidenceExporter;
  /** PEM strings. clientCaPem turns on optional mutual TLS: POST /estimates then needs a certificate it signed. */
  tls?: { certPem: string; keyPem: string; clientCaPem?: string };
  /** Per token (or per client address without one). Default 1200 requests a minute. */
  rateLimit?: { max: number; windowMs: number };
  /** Requests from 127.0.0.1/::1 without credentials get this role (the embedded demo). Default: none. */
  trustLoopbackAs?: Role;
  logger?: boolean;
  /** Registered after the API routes (the local panel registers itself this way). */
  plugins?: FastifyPluginAsync[];
  /** SSE heartbeat comment interval; default 15 s. */
  sseHeartbeatMs?: number;
  /** Largest request body; default 64 KiB. */
  bodyLimit?: number;
  /** The configuration file, for engineers (GET/PUT /config); absent in the embedded demo. */
  configuration?: ConfigurationAdmin;
}

export const API_PREFIX = '/api/v1';
const READ: Access = { min: 'viewer' };
const READ_MASTER: Access = { min: 'viewer', master: true };
const OPERATOR: Access = { min: 'operator' };
const ENGINEER: Access = { min: 'engineer' };
/** Each live stream holds a socket and a subscription; a cabinet panel and a few engineers need far fewer. */
const MAX_LIVE_CLIENTS = 64;
const ERR = { '4xx': S.ErrorSchema, '5xx': S.ErrorSchema };
const SECURITY: Array<Record<string, string[]>> = [{ bearer: [] }, { session: [] }];

type RouteAccess = Access | typeof PUBLIC;

interface RouteDef {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  access: RouteAccess;
  tags: string[];
  summary: string;
  description?: string;
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  headers?: TSchema;
  response: Record<string, unknown>;
  rateLimit?: { max: number; timeWindow: number };
}

function attachment(reply: FastifyReply, type: string, filename: string, data: Uint8Array | string): FastifyReply {
  return reply
    .header('content-type', type)
    .header('content-disposition', `attachment; filename="${filename}"`)
    .header('cache-control', 'no-store')
    .send(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

const binary = (contentType: string, description: string) => ({
  200: { description, content: { [contentType]: { schema: Type.String({ format: 'binary' }) } } },
  ...ERR,
});

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

export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  const { device, tokens, evidence } = opts;
  const tls = opts.tls;
  const mtls = tls?.clientCaPem !== undefined;
  const sessions = new Sessions();
  const liveClients = new Set<() => void>();
  const metrics = createMetrics(device, () => liveClients.size);
  const heartbeatMs = opts.sseHeartbeatMs ?? 15_000;
  const limits = opts.rateLimit ?? { max: 1200, windowMs: 60_000 };
  if (!(Number.isInteger(limits.max) && limits.max > 0 && Number.isFinite(limits.windowMs) && limits.windowMs > 0)) {
    throw new Error(`rateLimit needs a positive integer max and a positive windowMs, got ${JSON.stringify(limits)}`);
  }

  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? 64 * 1024,
    forceCloseConnections: true,
    return503OnClosing: true,
    ...(tls !== undefined
      ? {
          https: {
            cert: tls.certPem,
            key: tls.keyPem,
            minVersion: 'TLSv1.2' as const,
            // Optional client certificates: asked for, checked against the CA, required per route.
            ...(tls.clientCaPem !== undefined ? { ca: tls.clientCaPem, requestCert: true, rejectUnauthorized: false } : {}),
          },
        }
      : {}),
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true } },
  }) as unknown as FastifyInstance;

  const identities = new WeakMap<FastifyRequest, Identity>();
  const principals = new WeakMap<FastifyRequest, Principal>();
  const started = new WeakMap<FastifyRequest, bigint>();
  const access = new Map<string, RouteAccess>();
  const routeKey = (method: string, url: string): string => `${method} ${url}`;

  app.setErrorHandler(errorHandler);
  // An empty body sent as application/json (a bodiless POST from a browser) is no body, not a parse error.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '' || (typeof body === 'string' && body.trim() === '')) {
      done(null, undefined);
      return;
    }
    jsonParser(req, body as string, done);
  });
  // JSON is the only body the API takes; anything else is a 415, not a confusing schema error.
  app.removeContentTypeParser('text/plain');
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, notFound(`no route ${req.method} ${req.url.split('?')[0]}; the routes are listed in GET ${API_PREFIX}/openapi.json`)),
  );

  app.addHook('onRequest', async (req) => {
    started.set(req, process.hrtime.bigint());
    identities.set(req, await identify(req, tokens, sessions, opts.trustLoopbackAs));
  });

  await app.register(rateLimit, {
    global: true,
    max: limits.max,
    timeWindow: limits.windowMs,
    keyGenerator: (req: FastifyRequest) => {
      const id = identities.get(req);
      return id !== undefined && 'principal' in id && id.principal.tokenId !== null ? `token:${id.principal.tokenId}` : `ip:${req.ip}`;
    },
    errorResponseBuilder: (_req: FastifyRequest, ctx: { after: string; ttl: number; max: number }) =>
      new ApiError('RATE_LIMITED', `rate limit of ${ctx.max} requests per ${limits.windowMs / 1000} s exceeded; retry in ${ctx.after}`, {
        limit: ctx.max,
        windowMs: limits.windowMs,
        retryAfterSeconds: Math.ceil(ctx.ttl / 1000),
      }),
  });

  // After the rate limit (route-level onRequest) and before the body is parsed: may this caller use the route?
  app.addHook('preParsing', async (req) => {
    const url = req.routeOptions.url;
    if (url === undefined) return;
    const cfg = (req.routeOptions.config as { access?: RouteAccess } | undefined)?.access;
    // HEAD is answered by the GET handler, so it needs what GET needs. Routes a plugin adds without an
    // `access` config are public outside the API space (the panel's page) and read-only inside it.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const a = access.get(routeKey(method, url)) ?? cfg ?? (url.startsWith(`${API_PREFIX}/`) ? READ : PUBLIC);
    if (a === PUBLIC) return;
    const what = `${req.method} ${url}`;
    const p = authorize(identities.get(req) ?? { anonymous: true }, a, what);
    if (p.via === 'session' && req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req)) {
      throw new ApiError('FORBIDDEN', `${what} with a session cookie must come from the panel's own origin`);
    }
    if (a.clientCert === true && mtls) {
      const sock = req.raw.socket as TLSSocket;
      if (sock.authorized !== true) {
        const why = typeof sock.getPeerCertificate === 'function' && Object.keys(sock.getPeerCertificate()).length > 0
          ? `the client certificate was refused (${String(sock.authorizationError)})`
          : 'no client certificate was presented';
        throw new ApiError('FORBIDDEN', `${what} needs a client certificate issued by the master station CA (mutual TLS); ${why}`);
      }
    }
    principals.set(req, p);
  });

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    if (req.url.startsWith(`${API_PREFIX}/`) && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const t0 = started.get(req);
    const secs = t0 === undefined ? 0 : Number(process.hrtime.bigint() - t0) / 1e9;
    metrics.observeHttp(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, secs);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'SVDE appliance API',
        version: '1',
        description: 'Anomaly index νn, indicators, alarms and evidence, streams, state estimates and health of an SVDE bay appliance.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'svde_<id>.<secret> from `svde tokens add`' },
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'set by POST /api/v1/login (local panel)' },
        },
      },
      security: SECURITY,
    },
  });

  const principalOf = (req: FastifyRequest): Principal => {
    const p = principals.get(req);
    if (p === undefined) throw new ApiError('UNAUTHORIZED', 'no credentials');
    return p;
  };

  function route(def: RouteDef, handler: (req: FastifyRequest<any>, reply: FastifyReply) => unknown): void {
    access.set(routeKey(def.method, def.url), def.access);
    const schema: Record<string, unknown> = {
      tags: def.tags,
      summary: def.summary,
      ...(def.description !== undefined ? { description: def.description } : {}),
      ...(def.params !== undefined ? { params: def.params } : {}),
      ...(def.querystring !== undefined ? { querystring: def.querystring } : {}),
      ...(def.body !== undefined ? { body: def.body } : {}),
      ...(def.headers !== undefined ? { headers: def.headers } : {}),
      response: def.response,
      security: def.access === PUBLIC ? [] : SECURITY,
    };
    const options: RouteShorthandOptions = {
      schema,
      config: def.rateLimit !== undefined ? { rateLimit: def.rateLimit } : {},
    };
    app.route({ method: def.method, url: def.url, ...options, handler: handler as never });
  }

  const roleNote = (a: RouteAccess): string =>
    a === PUBLIC ? 'no credentials' : `role ${a.min}+${a.master === true ? ' or master' : ''}${a.clientCert === true && mtls ? ', client certificate' : ''}`;
  const d = (a: RouteAccess, text: string): string => `${text} (${roleNote(a)})`;

  // ---- status, health, streams -------------------------------------------------------------------------
  route(
    { method: 'GET', url: `${API_PREFIX}/status`, access: READ_MASTER, tags: ['status'], summary: 'νn, the nine indicators, degraded states',
      description: d(READ_MASTER, 'What the control centre polls.'), response: { 200: S.StatusSchema, ...ERR } },
    () => device.status(),
  );

  route(
    { method: 'GET', url: `${API_PREFIX}/health`, access: READ, tags: ['status'], summary: 'capture, chip, storage and LED health',
      description: d(READ, '200 even when degraded; 503 only when both capture and storage failed.'),
      response: { 200: S.HealthSchema, 503: S.HealthSchema, ...ERR } },
    (_req, reply) => {
      const h = device.health();
      return reply.code(h.capture.state === 'failed' && h.storage.state === 'failed' ? 503 : 200).send(h);
    },
  );

  route(
    { method: 'GET', url: `${API_PREFIX}/streams`, access: READ, tags: ['streams'], summary: 'configured and observed SV streams',
      description: d(READ, 'Rates, last smpCnt, signature coverage.'), response: { 200: S.StreamsSchema, ...ERR } },
    () => ({ streams: device.streams() }),
  );

  route(
    { method: 'GET', url: `${API_PREFIX}/streams/:name/waveform`, access: READ, tags: ['streams'], summary: 'the last cycles of one stream',
      description: d(READ, 'Scaled samples and phasors.'), params: S.StreamParams, response: { 200: S.WaveformSchema, ...ERR } },
    (req: FastifyRequest<{ Params: { name: string } }>) => {
      const w = device.waveform(req.params.name);
      if (w === undefined) {
        const known = device.streams().map((s) => s.name);
        throw notFound(
          known.includes(req.params.name)
            ? `stream '${req.params.name}' has no waveform yet (no frames observed)`
            : `no stream named '${req.params.name}'; known streams: ${known.join(', ') || 'none'}`,
        );
      }
      return w;
    },
  );

  // ---- alarms ------------------------------------------------------------------------------------------
  const getAlarmOr404 = (id: number) => {
    const a = device.store.getAlarm(id);
    if (a === undefined) throw notFound(`no alarm with id ${id}`);
    return a;
  };

  route(
    { method: 'GET', url: `${API_PREFIX}/alarms`, access: READ_MASTER, tags: ['alarms'], summary: 'alarms, newest first, filtered and paged',
      description: d(READ_MASTER, 'Follow `next` as `cursor` for older pages.'), querystring: S.AlarmQuerySchema,
      response: { 200: S.AlarmPageSchema, ...ERR } },
    (req: FastifyRequest<{ Querystring: S.AlarmQueryInput }>) => {
      const q = req.query;
      const query: AlarmQuery = {
        limit: q.limit ?? 50,
        ...(q.indicator !== undefined ? { indicator: q.indicator } : {}),
        ...(q.stream !== undefined ? { stream: q.stream } : {}),
        ...(q.minGrade !== undefined ? { minGrade: q.minGrade as AlarmQuery['minGrade'] } : {}),
        ...(q.acknowledged !== undefined ? { acknowledged: q.acknowledged } : {}),
        ...(q.ended !== undefined ? { ended: q.ended } : {}),
        ...(q.since !== undefined ? { sinceNs: parseTimeParam('since', q.since) } : {}),
        ...(q.until !== undefined ? { untilNs: parseTimeParam('until', q.until) } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      };
      checkRange(query.sinceNs, query.untilNs);
      return withCursor(q.cursor, () => device.store.listAlarms(query));
    },
  );

  route(
    { method: 'GET', url: `${API_PREFIX}/alarms/:id`, access: READ_MASTER, tags: ['alarms'], summary: 'one alarm',
      description: d(READ_MASTER, 'Grade, stream, reason, frames, acknowledgement and evidence extent.'), params: S.AlarmIdParams,
      response: { 200: S.AlarmSchema, ...ERR } },
    (req: FastifyRequest<{ Params: { id: number } }>) => getAlarmOr404(req.params.id),
  );

  route(
    { method: 'POST', url: `${API_PREFIX}/alarms/:id/ack`, access: OPERATOR, tags: ['alarms'], summary: 'acknowledge one alarm',
      description: d(OPERATOR, 'Persisted before the reply. Empty lists when it was acknowledged already.'), params: S.AlarmIdParams,
      response: { 200: S.AckResultSchema, ...ERR } },
    (req: FastifyRequest<{ Params: { id: number } }>) => {
      getAlarmOr404(req.params.id);
      return device.acknowledge({ alarmId: req.params.id }, principalOf(req).name);
    },
  );

  route(
    { method: 'POST', url: `${API_PREFIX}/indicators/ack`, access: OPERATOR, tags: ['alarms'], summary: 'acknowledge an indicator or everything',
      description: d(OPERATOR, 'Body: exactly one of {"indicator": id} or {"all": true}.'), body: S.IndicatorAckBody,
      response: { 200: S.AckResultSchema, ...ERR } },
    (req: FastifyRequest<{ Body: S.IndicatorAckInput }>) => {
      const b = req.body;
      if ((b.indicator === undefined) === (b.all === undefined)) {
        throw badRequest('body must have exactly one of "indicator" (an indicator id) or "all": true', [
          { location: 'body', field: '', message: 'exactly one of indicator, all' },
        ]);
      }
      const by = principalOf(req).name;
      return b.indicator !== undefined ? device.acknowledge({ indicator: b.indicator }, by) : device.acknowledge({ all: true }, by);
    },
  );

  // ---- evidence ----------------------------------------------------------------------------------------
  const evidenceOr404 = <T>(id: number, what: string, make: () => T | undefined): T => {
    const a = getAlarmOr404(id);
    if (a.evidence === null || a.evidence.frames === 0) throw notFound(`alarm ${id} has no evidence: no raw frames were kept for it`);
    let out: T | undefined;
    try {
      out = make();
    } catch (err) {
      // The exporter's "nothing to export" (ExportError: no frames, no decodable samples) is a 404 with its
      // own words; anything else is a fault of the device (500).
      if (err instanceof Error && err.name === 'ExportError') throw notFound(`alarm ${id} has no ${what} evidence: ${err.message}`);
      throw err;
    }
    if (out === undefined) throw notFound(`alarm ${id} has no ${what} evidence (its ${a.evidence.frames} frames cannot be exported as ${what})`);
    return out;
  };

  route(
    { method: 'GET', url: `${API_PREFIX}/alarms/:id/evidence.pcap`, access: READ, tags: ['evidence'], summary: 'raw frames around the alarm as pcap',
      description: d(READ, 'Opens in Wireshark/tshark.'), params: S.AlarmIdParams, response: binary('application/vnd.tcpdump.pcap', 'pcap file') },
    (req: FastifyRequest<{ Params: { id: number } }>, reply) => {
      const id = req.params.id;
      const pcap = evidenceOr404(id, 'pcap', () => evidence.pcap(id));
      return attachment(reply, 'application/vnd.tcpdump.pcap', `svde-alarm-${id}.pcap`, pcap);
    },
  );

  const comtrade = (part: 'cff' | 'cfg' | 'dat') =>
    (req: FastifyRequest<{ Params: { id: number }; Querystring: { format?: 'ascii' | 'binary' } }>, reply: FastifyReply) => {
      const id = req.params.id;
      const format = req.query.format ?? 'binary';
      const c = evidenceOr404(id, 'COMTRADE', () => evidence.comtrade(id, format));
      const name = `svde-alarm-${id}.${part}`;
      if (part === 'cfg') return attachment(reply, 'text/plain; charset=utf-8', name, c.cfg);
      if (part === 'cff') return attachment(reply, format === 'ascii' ? 'text/plain; charset=utf-8' : 'application/octet-stream', name, c.cff);
      return attachment(reply, format === 'ascii' ? 'text/plain; charset=utf-8' : 'application/octet-stream', name, c.dat);
    };
  for (const [part, what] of [
    ['cff', 'COMTRADE single-file record (.cff, IEEE C37.111-2013)'],
    ['cfg', 'COMTRADE configuration file (.cfg)'],
    ['dat', 'COMTRADE data file (.dat)'],
  ] as const) {
    route(
      { method: 'GET', url: `${API_PREFIX}/alarms/:id/evidence.${part}`, access: READ, tags: ['evidence'], summary: what,
        description: d(READ, 'format=ascii|binary (default binary).'), params: S.AlarmIdParams, querystring: S.ComtradeQuery,
        response: binary(part === 'cfg' ? 'text/plain' : 'application/octet-stream', what) },
      comtrade(part),
    );
  }

  // ---- events ------------------------------------------------------------------------------------------
  route(
    { method: 'GET', url: `${API_PREFIX}/events`, access: READ, tags: ['events'], summary: 'the normal-event log, newest first, paged',
      description: d(READ, 'Start/stop, streams appearing or lost, capture loss, chip and storage state, acknowledgements, retention.'),
      querystring: S.EventQuerySchema, response: { 200: S.EventPageSchema, ...ERR } },
    (req: FastifyRequest<{ Querystring: S.EventQueryInput }>) => {
      const q = req.query;
      const query: EventQuery = {
        limit: q.limit ?? 50,
        ...(q.kind !== undefined ? { kind: q.kind } : {}),
        ...(q.since !== undefined ? { sinceNs: parseTimeParam('since', q.since) } : {}),
        ...(q.until !== undefined ? { untilNs: parseTimeParam('until', q.until) } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      };
      checkRange(query.sinceNs, query.untilNs);
      return withCursor(q.cursor, () => device.store.listEvents(query));
    },
  );

  route(
    { method: 'GET', url: `${API_PREFIX}/counters`, access: READ, tags: ['events'], summary: 'per-indicator counters over time',
      description: d(READ, 'One sample per interval: alarms per indicator, frames, capture loss (historical statistics).'),
      querystring: S.CountersQuery, response: { 200: S.CountersSchema, ...ERR } },
    (req: FastifyRequest<{ Querystring: { since?: string; until?: string; limit?: number } }>) => {
      const until = req.query.until === undefined ? undefined : parseTimeParam('until', req.query.until);
      const since = req.query.since === undefined
        ? (until ?? BigInt(Date.now()) * 1_000_000n) - 3_600_000_000_000n
        : parseTimeParam('since', req.query.since);
      checkRange(since, until);
      const page = device.store.counterPage?.(since, until, req.query.limit) ?? { samples: device.store.counters(since, until, req.query.limit), truncated: false, nextSinceNs: null };
      return page.truncated ? { samples: page.samples, truncated: true, next: page.nextSinceNs } : { samples: page.samples };
    },
  );

  route(
    { method: 'GET', url: `${API_PREFIX}/risk`, access: READ_MASTER, tags: ['status'], summary: 'risk of every stream and of the appliance',
      description: d(READ_MASTER, 'Rₐ = Lₐ·Iₐ·Vₐ per asset over the last hour, system risk (max and impact-weighted mean), MTTD/MTTR.'),
      response: { 200: S.RiskSchema, ...ERR } },
    () => device.risk(),
  );

  // ---- estimates ---------------------------------------------------------------------------------------
  const MASTER_POST: Access = { min: 'engineer', master: true, clientCert: true };
  route(
    { method: 'GET', url: `${API_PREFIX}/estimates`, access: READ_MASTER, tags: ['estimates'], summary: 'local state estimates, signed with the device key',
      description: d(READ_MASTER, 'SM2-SM3 signature over the UTF-8 JSON of `estimates`.'), querystring: S.EstimatesQuery,
      response: { 200: S.SignedEstimatesSchema, ...ERR } },
    async (req: FastifyRequest<{ Querystring: { since?: string } }>) => {
      const since = req.query.since === undefined ? undefined : parseTimeParam('since', req.query.since);
      return device.localEstimates(since);
    },
  );

  route(
    { method: 'POST', url: `${API_PREFIX}/estimates`, access: MASTER_POST, tags: ['estimates'], summary: "the master station's estimate: upstream forgery/tamper check",
      description: d(MASTER_POST, 'No matching local record → upstreamForgery; a match beyond tolerance → upstreamTamper.'),
      body: S.MasterEstimateBody, response: { 200: S.UpstreamResultSchema, ...ERR } },
    (req: FastifyRequest<{ Body: S.MasterEstimateBodyInput }>) => {
      const b = req.body;
      if (BigInt(b.windowEndNs) < BigInt(b.windowStartNs)) {
        throw badRequest('body.windowEndNs must not be before body.windowStartNs', [
          { location: 'body', field: 'windowEndNs', message: 'must not be before windowStartNs' },
        ]);
      }
      return device.submitMasterEstimate(b);
    },
  );

  // ---- configuration (engineer) ------------------------------------------------------------------------
  const configuration = (): ConfigurationAdmin => {
    if (opts.configuration === undefined) throw notFound('this appliance runs without a configuration file (embedded demo): nothing to read or change');
    return opts.configuration;
  };
  route(
    { method: 'GET', url: `${API_PREFIX}/config`, access: ENGINEER, tags: ['configuration'], summary: 'the configuration file and whether it is running',
      description: d(ENGINEER, 'sha256 identifies the version for a later PUT (If-Match); pending = the file waits for a restart.'),
      response: { 200: S.ConfigurationSchema, ...ERR } },
    (_req, reply) => {
      const c = configuration().current();
      return reply.header('etag', `"${c.sha256}"`).send(c);
    },
  );
  route(
    { method: 'PUT', url: `${API_PREFIX}/config`, access: ENGINEER, tags: ['configuration'], summary: 'replace the configuration file (applied at the next start)',
      description: d(ENGINEER, 'Validated exactly as `svde run --config` validates (schema, SCL cross-check); every bad field is named in details. ' +
        'Written atomically, the previous file kept as <file>.prev, the change logged as an event. If-Match guards against overwriting a newer version.'),
      body: S.ConfigurationBody, headers: S.IfMatchHeaders, response: { 200: S.ConfigurationPutSchema, ...ERR } },
    (req: FastifyRequest<{ Body: Record<string, unknown>; Headers: { 'if-match'?: string } }>) => {
      const ifMatch = req.headers['if-match']?.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
      const r = configuration().replace(req.body, principalOf(req).name, ifMatch);
      if (!r.ok && r.reason === 'conflict') {
        throw new ApiError('PRECONDITION_FAILED', `the configuration changed since version ${ifMatch}; the file is now ${r.currentSha256}: GET it again and reapply the change`, { currentSha256: r.currentSha256 });
      }
      if (!r.ok) {
        throw badRequest(`the configuration is not valid: ${r.issues.map((i) => `${i.path === '' ? '(document)' : i.path}: ${i.message}`).join('; ')}`,
          r.issues.map((i) => ({ location: 'body', field: i.path.replace(/^\//, '').replace(/\//g, '.'), message: i.message })));
      }
      return { configuration: r.document, restartRequired: r.document.pending, warnings: r.warnings };
    },
  );

  // ---- live events (SSE) -------------------------------------------------------------------------------
  route(
    { method: 'GET', url: `${API_PREFIX}/live`, access: READ, tags: ['live'], summary: 'Server-Sent Events: status, alarm, alarm-update, ack, streams, waveform',
      description: d(READ, 'event: <type>, data: JSON. Heartbeat comment every 15 s. The session cookie is accepted (EventSource sends no headers).'),
      querystring: S.LiveQuery,
      response: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: Type.String() } } }, ...ERR } },
    (req: FastifyRequest<{ Querystring: { stream?: string } }>, reply) => {
      const stream = req.query.stream;
      if (stream !== undefined && !device.streams().some((s) => s.name === stream)) {
        throw notFound(`no stream named '${stream}' for live waveforms`);
      }
      if (liveClients.size >= MAX_LIVE_CLIENTS) {
        throw new ApiError('SERVICE_UNAVAILABLE', `too many live streams open (${MAX_LIVE_CLIENTS}); close one or poll instead`);
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let closed = false;
      const send = (e: LiveEvent): void => {
        if (closed) return;
        // A client that stops reading is cut off rather than buffered without bound.
        if (raw.writableLength > 1 << 20) {
          cleanup();
          raw.destroy();
          return;
        }
        raw.write(`event: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`);
      };
      raw.write('retry: 3000\n\n');
      send({ type: 'status', data: device.status() });
      send({ type: 'streams', data: device.streams() });
      const unsubscribe = device.subscribe(send, stream !== undefined ? { waveformStream: stream } : {});
      const timer = setInterval(() => {
        if (!closed) raw.write(`: heartbeat ${new Date().toISOString()}\n\n`);
      }, heartbeatMs);
      timer.unref();
      function cleanup(): void {
        if (closed) return;
        closed = true;
        clearInterval(timer);
        unsubscribe();
        liveClients.delete(end);
        metrics.observeHttp(`${API_PREFIX}/live`, 'GET', 200, null);
      }
      function end(): void {
        cleanup();
        raw.end();
      }
      liveClients.add(end);
      req.raw.on('close', cleanup);
      raw.on('close', cleanup);
      raw.on('error', cleanup);
    },
  );
  app.addHook('preClose', async () => {
    for (const end of [...liveClients]) end();
  });

  // ---- sessions for the panel --------------------------------------------------------------------------
  const cookie = (value: string, maxAgeS: number): string =>
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${tls !== undefined ? '; Secure' : ''}`;

  route(
    { method: 'POST', url: `${API_PREFIX}/login`, access: PUBLIC, tags: ['session'], summary: 'exchange a token for a session cookie (local panel)',
      description: `Sets the HttpOnly SameSite=Strict cookie ${SESSION_COOKIE}.`, body: S.LoginBody,
      response: { 200: S.SessionSchema, ...ERR },
      rateLimit: { max: Math.min(limits.max, 30), timeWindow: limits.windowMs } },
    async (req: FastifyRequest<{ Body: { token: string } }>, reply) => {
      const info = await tokens.verify(req.body.token);
      if (info === undefined) throw new ApiError('UNAUTHORIZED', 'token is not valid (unknown, revoked or mistyped)');
      const s = sessions.create(info.id);
      reply.header('set-cookie', cookie(s.id, Math.floor(sessions.ttlMs / 1000)));
      return { name: info.name, role: info.role, via: 'session', expiresAt: s.expires.toISOString() };
    },
  );

  route(
    { method: 'POST', url: `${API_PREFIX}/logout`, access: PUBLIC, tags: ['session'], summary: 'end the panel session',
      response: { 200: S.LogoutSchema, ...ERR } },
    (req, reply) => {
      const sid = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
      const had = sid !== undefined && sessions.delete(sid);
      reply.header('set-cookie', cookie('', 0));
      return { loggedOut: had };
    },
  );

  route(
    { method: 'GET', url: `${API_PREFIX}/session`, access: READ_MASTER, tags: ['session'], summary: 'who the request is authenticated as',
      description: d(READ_MASTER, 'The panel uses it to decide whether to show its login form.'), response: { 200: S.SessionSchema, ...ERR } },
    (req: FastifyRequest) => {
      const p = principalOf(req);
      return { name: p.name, role: p.role, via: p.via, expiresAt: null };
    },
  );

  // ---- metrics and the OpenAPI document ----------------------------------------------------------------
  route(
    { method: 'GET', url: '/metrics', access: READ, tags: ['metrics'], summary: 'Prometheus metrics',
      description: d(READ, 'Text exposition format.'),
      response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: Type.String() } } }, ...ERR } },
    async (_req, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  access.set(routeKey('GET', `${API_PREFIX}/openapi.json`), READ_MASTER);
  app.get(`${API_PREFIX}/openapi.json`, { schema: { hide: true } }, () => app.swagger());

  for (const p of opts.plugins ?? []) await app.register(p);
  await app.ready();
  return app;
}

function checkRange(since: bigint | undefined, until: bigint | undefined): void {
  if (since !== undefined && until !== undefined && until < since) {
    throw badRequest('querystring.until must not be before querystring.since', [
      { location: 'querystring', field: 'until', message: 'must not be before since' },
    ]);
  }
}

/** A cursor the store cannot read is the client's mistake (400), not the device's (500). */
function withCursor<T>(cursor: string | undefined, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (cursor !== undefined && !(err instanceof ApiError)) {
      throw badRequest(`querystring.cursor is not a cursor this device issued (${(err as Error).message})`, [
        { location: 'querystring', field: 'cursor', message: 'not a valid cursor' },
      ]);
    }
    throw err;
  }
}
