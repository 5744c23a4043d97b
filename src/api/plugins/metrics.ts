// Prometheus metrics of this server: the device's figures (read at scrape time) and every request's route,
// status and duration. The timer starts before the caller is identified, so it includes the token check.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { DeviceView } from '../../model/device.ts';
import { createMetrics, type ApiMetrics } from '../metrics.ts';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ApiMetrics;
  }
}

const metrics: FastifyPluginAsync<{ device: DeviceView }> = async (app, { device }) => {
  const live = app.liveClients;
  app.decorate(
    'metrics',
    createMetrics(device, () => live.size),
  );
  const started = new WeakMap<FastifyRequest, bigint>();
  app.addHook('onRequest', async (req) => {
    started.set(req, process.hrtime.bigint());
  });
  app.addHook('onResponse', async (req, reply) => {
    const t0 = started.get(req);
    const secs = t0 === undefined ? 0 : Number(process.hrtime.bigint() - t0) / 1e9;
    app.metrics.observeHttp(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, secs);
  });
};

export default fp(metrics, { name: 'svde-metrics', dependencies: ['svde-live-clients'] });
