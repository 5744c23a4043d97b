// The configured and observed SV streams, and the last cycles of one of them.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { DeviceView } from '../../model/device.ts';
import { notFound } from '../errors.ts';
import { defineRoute, ERR, READ } from '../route.ts';
import * as S from '../schemas.ts';

const streams: FastifyPluginAsync<{ device: DeviceView }> = async (app, { device }) => {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/streams',
      access: READ,
      tags: ['streams'],
      summary: 'configured and observed SV streams',
      description: 'Rates, last smpCnt, signature coverage.',
      response: { 200: S.StreamsSchema, ...ERR },
    },
    () => ({ streams: device.streams() }),
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/streams/:name/waveform',
      access: READ,
      tags: ['streams'],
      summary: 'the last cycles of one stream',
      description: 'Scaled samples and phasors.',
      params: S.StreamParams,
      response: { 200: S.WaveformSchema, ...ERR },
    },
    (req: FastifyRequest<{ Params: { name: string } }>) => {
      const w = device.waveform(req.params.name);
      if (w === undefined) {
        const known = device.streams().map((s) => s.name);
        throw notFound(
          known.includes(req.params.name)
            ? `stream '${req.params.name}' has no waveform yet (no frames observed)`
            : `no stream named '${req.params.name}'; known streams: ${known.join(', ') || 'none'}`,
        );
      }
      return w;
    },
  );
};

export default streams;
