// What goes in and out: JSON is the only request body, and every reply says nosniff; API replies are not
// cached unless a route says otherwise.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { API_PREFIX } from '../route.ts';

const content: FastifyPluginAsync = async (app) => {
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

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    if (req.url.startsWith(`${API_PREFIX}/`) && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });
};

export default fp(content, { name: 'svde-content' });
