// The open Server-Sent Events streams: counted (a limit, a metric) and ended when the server closes, which
// would otherwise wait for every panel to disconnect.
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

/** Each live stream holds a socket and a subscription; a cabinet panel and a few engineers need far fewer. */
export const MAX_LIVE_CLIENTS = 64;

declare module 'fastify' {
  interface FastifyInstance {
    /** One `end` function per open live stream. */
    liveClients: Set<() => void>;
  }
}

const liveClients: FastifyPluginAsync = async (app) => {
  app.decorate('liveClients', new Set<() => void>());
  app.addHook('preClose', async () => {
    for (const end of [...app.liveClients]) end();
  });
};

export default fp(liveClients, { name: 'svde-live-clients' });
