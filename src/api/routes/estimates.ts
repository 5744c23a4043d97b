// State estimates: the device's own, signed, and the master station's, checked for upstream forgery/tamper.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { DeviceView } from '../../model/device.ts';
import { badRequest } from '../errors.ts';
import { defineRoute, ERR, MASTER_POST, READ_MASTER } from '../route.ts';
import * as S from '../schemas.ts';
import { parseTimeParam } from '../time.ts';

const estimates: FastifyPluginAsync<{ device: DeviceView }> = async (app, { device }) => {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/estimates',
      access: READ_MASTER,
      tags: ['estimates'],
      summary: 'local state estimates, signed with the device key',
      description: 'SM2-SM3 signature over the UTF-8 JSON of `estimates`.',
      querystring: S.EstimatesQuery,
      response: { 200: S.SignedEstimatesSchema, ...ERR },
    },
    async (req: FastifyRequest<{ Querystring: { since?: string } }>) => {
      const since = req.query.since === undefined ? undefined : parseTimeParam('since', req.query.since);
      return device.localEstimates(since);
    },
  );

  defineRoute(
    app,
    {
      method: 'POST',
      url: '/estimates',
      access: MASTER_POST,
      tags: ['estimates'],
      summary: "the master station's estimate: upstream forgery/tamper check",
      description: 'No matching local record → upstreamForgery; a match beyond tolerance → upstreamTamper.',
      body: S.MasterEstimateBody,
      response: { 200: S.UpstreamResultSchema, ...ERR },
    },
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
};

export default estimates;
