// The risk of every stream and of the appliance as a whole.
import type { FastifyPluginAsync } from 'fastify';
import type { DeviceView } from '../../model/device.ts';
import { defineRoute, ERR, READ_MASTER } from '../route.ts';
import * as S from '../schemas.ts';

const risk: FastifyPluginAsync<{ device: DeviceView }> = async (app, { device }) => {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/risk',
      access: READ_MASTER,
      tags: ['status'],
      summary: 'risk of every stream and of the appliance',
      description: 'Rₐ = Lₐ·Iₐ·Vₐ per asset over the last hour, system risk (max and impact-weighted mean), MTTD/MTTR.',
      response: { 200: S.RiskSchema, ...ERR },
    },
    () => device.risk(),
  );
};

export default risk;
