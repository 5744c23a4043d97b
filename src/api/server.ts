// The appliance's REST API for the control centre (and the data side of the local panel): Fastify with
// TypeBox schemas on every request and response, an OpenAPI 3 document, bearer tokens with roles, a
// session cookie for the panel, optional TLS and mutual TLS for the master station, rate limits, JSON
// errors, Server-Sent Events and Prometheus metrics. It sees the appliance only through DeviceView.
// buildApi makes the server (TLS, body limit, validation) and registers app.ts; it never listens.
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import type { DeviceView } from '../model/device.ts';
import type { ConfigurationAdmin } from '../config/admin.ts';
import serviceApp from './app.ts';
import { checkLimits } from './plugins/rate-limit.ts';
import type { EvidenceExporter } from './routes/evidence.ts';
import type { Role, TokenStore } from './tokens.ts';

export type { Role } from './tokens.ts';
export type { EvidenceExporter } from './routes/evidence.ts';
export { API_PREFIX } from './route.ts';

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

export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  const tls = opts.tls;
  const limits = opts.rateLimit ?? { max: 1200, windowMs: 60_000 };
  checkLimits(limits);

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

  // Not encapsulated, so the plugins registered beside it (the panel) get the same authentication, rate
  // limit, error shape and metrics.
  await app.register(fp(serviceApp, { name: 'svde-api' }), {
    device: opts.device,
    tokens: opts.tokens,
    evidence: opts.evidence,
    mtls: tls?.clientCaPem !== undefined,
    tls: tls !== undefined,
    limits,
    trustLoopbackAs: opts.trustLoopbackAs,
    sseHeartbeatMs: opts.sseHeartbeatMs ?? 15_000,
    configuration: opts.configuration,
  });
  for (const p of opts.plugins ?? []) await app.register(p);
  await app.ready();
  return app;
}
