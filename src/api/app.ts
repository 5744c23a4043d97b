// The API as one Fastify plugin: the shared plugins first (errors, body handling, live-stream registry,
// metrics, authentication and roles, rate limits, OpenAPI), then one route plugin per resource. The order
// matters: a route takes the hooks, parsers and error handler of its context when it is added, and the rate
// limit and the OpenAPI document attach to routes as they are added.
import type { FastifyPluginAsync } from 'fastify';
import type { ConfigurationAdmin } from '../config/admin.ts';
import type { DeviceView } from '../model/device.ts';
import auth from './plugins/auth.ts';
import content from './plugins/content.ts';
import errors from './plugins/errors.ts';
import liveClients from './plugins/live-clients.ts';
import metrics from './plugins/metrics.ts';
import openapi from './plugins/openapi.ts';
import rateLimit, { type Limits } from './plugins/rate-limit.ts';
import { API_PREFIX } from './route.ts';
import alarmRoutes from './routes/alarms.ts';
import configRoutes from './routes/config.ts';
import estimateRoutes from './routes/estimates.ts';
import eventRoutes from './routes/events.ts';
import evidenceRoutes, { type EvidenceExporter } from './routes/evidence.ts';
import liveRoutes from './routes/live.ts';
import metricsRoutes from './routes/metrics.ts';
import riskRoutes from './routes/risk.ts';
import sessionRoutes from './routes/session.ts';
import statusRoutes from './routes/status.ts';
import streamRoutes from './routes/streams.ts';
import type { Role, TokenStore } from './tokens.ts';

/** What the API needs, resolved (defaults applied) by buildApi. */
export interface AppOptions {
  device: DeviceView;
  tokens: TokenStore;
  evidence: EvidenceExporter;
  /** Mutual TLS is on (a client CA is configured). */
  mtls: boolean;
  /** Served over TLS (session cookies get Secure). */
  tls: boolean;
  limits: Limits;
  trustLoopbackAs: Role | undefined;
  sseHeartbeatMs: number;
  configuration: ConfigurationAdmin | undefined;
}

const serviceApp: FastifyPluginAsync<AppOptions> = async (app, opts) => {
  const { device } = opts;
  await app.register(errors);
  await app.register(content);
  await app.register(liveClients);
  await app.register(metrics, { device });
  await app.register(auth, { tokens: opts.tokens, trustLoopbackAs: opts.trustLoopbackAs, mtls: opts.mtls });
  await app.register(rateLimit, { limits: opts.limits });
  await app.register(openapi);

  const prefix = API_PREFIX;
  await app.register(statusRoutes, { prefix, device });
  await app.register(streamRoutes, { prefix, device });
  await app.register(alarmRoutes, { prefix, device });
  await app.register(evidenceRoutes, { prefix, device, evidence: opts.evidence });
  await app.register(eventRoutes, { prefix, device });
  await app.register(riskRoutes, { prefix, device });
  await app.register(estimateRoutes, { prefix, device });
  await app.register(configRoutes, { prefix, configuration: opts.configuration });
  await app.register(liveRoutes, { prefix, device, heartbeatMs: opts.sseHeartbeatMs });
  await app.register(sessionRoutes, { prefix, tokens: opts.tokens, secureCookie: opts.tls });
  await app.register(metricsRoutes);
};

export default serviceApp;
