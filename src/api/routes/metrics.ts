// Prometheus scrapes GET /metrics (outside the API prefix, where Prometheus looks by default).
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { defineRoute, ERR, READ } from '../route.ts';

const metrics: FastifyPluginAsync = async (app) => {
  const registry = app.metrics.registry;
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/metrics',
      access: READ,
      tags: ['metrics'],
      summary: 'Prometheus metrics',
      description: 'Text exposition format.',
      response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: Type.String() } } }, ...ERR },
    },
    async (_req, reply) => reply.header('content-type', registry.contentType).send(await registry.metrics()),
  );
};

export default metrics;
