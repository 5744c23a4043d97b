// The OpenAPI 3 document, built by @fastify/swagger from the routes' TypeBox schemas (so it is registered
// before them) and served at GET /api/v1/openapi.json.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import { SESSION_COOKIE } from '../auth.ts';
import { API_PREFIX, READ_MASTER, SECURITY } from '../route.ts';

const openapi: FastifyPluginAsync = async (app) => {
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
  app.get(`${API_PREFIX}/openapi.json`, { schema: { hide: true }, config: { access: READ_MASTER } }, () => app.swagger());
};

export default fp(openapi, { name: 'svde-openapi', dependencies: ['svde-auth', 'svde-rate-limit'] });
