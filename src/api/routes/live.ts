// Server-Sent Events for the panel and dashboards: status, alarms, acknowledgements, streams and, on
// request, one stream's waveform. The stream is written by hand (the reply is hijacked), so it is also
// counted in the metrics by hand when it ends.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { DeviceView, LiveEvent } from '../../model/device.ts';
import { ApiError, notFound } from '../errors.ts';
import { MAX_LIVE_CLIENTS } from '../plugins/live-clients.ts';
import { API_PREFIX, defineRoute, ERR, READ } from '../route.ts';
import * as S from '../schemas.ts';

export interface LiveOptions {
  device: DeviceView;
  /** Heartbeat comment interval. */
  heartbeatMs: number;
}

const live: FastifyPluginAsync<LiveOptions> = async (app, { device, heartbeatMs }) => {
  const clients = app.liveClients;
  const metrics = app.metrics;
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/live',
      access: READ,
      tags: ['live'],
      summary: 'Server-Sent Events: status, alarm, alarm-update, ack, streams, waveform',
      description:
        'event: <type>, data: JSON. Heartbeat comment every 15 s. The session cookie is accepted (EventSource sends no headers).',
      querystring: S.LiveQuery,
      response: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: Type.String() } } }, ...ERR },
    },
    (req: FastifyRequest<{ Querystring: { stream?: string } }>, reply) => {
      const stream = req.query.stream;
      if (stream !== undefined && !device.streams().some((s) => s.name === stream)) {
        throw notFound(`no stream named '${stream}' for live waveforms`);
      }
      if (clients.size >= MAX_LIVE_CLIENTS) {
        throw new ApiError('SERVICE_UNAVAILABLE', `too many live streams open (${MAX_LIVE_CLIENTS}); close one or poll instead`);
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let closed = false;
      const send = (e: LiveEvent): void => {
        if (closed) return;
        // A client that stops reading is cut off rather than buffered without bound.
        if (raw.writableLength > 1 << 20) {
          cleanup();
          raw.destroy();
          return;
        }
        raw.write(`event: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`);
      };
      raw.write('retry: 3000\n\n');
      send({ type: 'status', data: device.status() });
      send({ type: 'streams', data: device.streams() });
      const unsubscribe = device.subscribe(send, stream !== undefined ? { waveformStream: stream } : {});
      const timer = setInterval(() => {
        if (!closed) raw.write(`: heartbeat ${new Date().toISOString()}\n\n`);
      }, heartbeatMs);
      timer.unref();
      function cleanup(): void {
        if (closed) return;
        closed = true;
        clearInterval(timer);
        unsubscribe();
        clients.delete(end);
        metrics.observeHttp(`${API_PREFIX}/live`, 'GET', 200, null);
      }
      function end(): void {
        cleanup();
        raw.end();
      }
      clients.add(end);
      req.raw.on('close', cleanup);
      raw.on('close', cleanup);
      raw.on('error', cleanup);
    },
  );
};

export default live;
