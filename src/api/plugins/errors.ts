// Every error, a missing route included, leaves as the one JSON shape of errors.ts. Registered before any
// route: a route takes the error handler its context has when it is added.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { errorHandler, notFound, sendError } from '../errors.ts';
import { API_PREFIX } from '../route.ts';

const errors: FastifyPluginAsync = async (app) => {
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, notFound(`no route ${req.method} ${req.url.split('?')[0]}; the routes are listed in GET ${API_PREFIX}/openapi.json`)),
  );
};

export default fp(errors, { name: 'svde-errors' });
