// What the control centre polls: νn and the indicators, and the health of the appliance's parts.
import type { FastifyPluginAsync } from 'fastify';
import type { DeviceView } from '../../model/device.ts';
import { defineRoute, ERR, READ, READ_MASTER } from '../route.ts';
import * as S from '../schemas.ts';

const status: FastifyPluginAsync<{ device: DeviceView }> = async (app, { device }) => {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/status',
      access: READ_MASTER,
      tags: ['status'],
      summary: 'νn, the nine indicators, degraded states',
      description: 'What the control centre polls.',
      response: { 200: S.StatusSchema, ...ERR },
    },
    () => device.status(),
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/health',
      access: READ,
      tags: ['status'],
      summary: 'capture, chip, storage and LED health',
      description: '200 even when degraded; 503 only when both capture and storage failed.',
      response: { 200: S.HealthSchema, 503: S.HealthSchema, ...ERR },
    },
    (_req, reply) => {
      const h = device.health();
      return reply.code(h.capture.state === 'failed' && h.storage.state === 'failed' ? 503 : 200).send(h);
    },
  );
};

export default status;
