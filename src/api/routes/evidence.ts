// The evidence of one alarm as files: the raw frames as pcap, the scaled samples as COMTRADE.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { DeviceView } from '../../model/device.ts';
import { notFound } from '../errors.ts';
import { attachment, binary, defineRoute, READ } from '../route.ts';
import * as S from '../schemas.ts';
import { alarmOr404 } from './alarms.ts';

/** Evidence files of one alarm, made by the export module (injected so the API does not depend on it). */
export interface EvidenceExporter {
  pcap(alarmId: number): Uint8Array | undefined;
  comtrade(alarmId: number, format: 'ascii' | 'binary'): { cfg: string; dat: Uint8Array; cff: Uint8Array } | undefined;
}

const evidenceRoutes: FastifyPluginAsync<{ device: DeviceView; evidence: EvidenceExporter }> = async (app, { device, evidence }) => {
  const evidenceOr404 = <T>(id: number, what: string, make: () => T | undefined): T => {
    const a = alarmOr404(device, id);
    if (a.evidence === null || a.evidence.frames === 0) throw notFound(`alarm ${id} has no evidence: no raw frames were kept for it`);
    let out: T | undefined;
    try {
      out = make();
    } catch (err) {
      // The exporter's "nothing to export" (ExportError: no frames, no decodable samples) is a 404 with its
      // own words; anything else is a fault of the device (500).
      if (err instanceof Error && err.name === 'ExportError') throw notFound(`alarm ${id} has no ${what} evidence: ${err.message}`);
      throw err;
    }
    if (out === undefined)
      throw notFound(`alarm ${id} has no ${what} evidence (its ${a.evidence.frames} frames cannot be exported as ${what})`);
    return out;
  };

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/alarms/:id/evidence.pcap',
      access: READ,
      tags: ['evidence'],
      summary: 'raw frames around the alarm as pcap',
      description: 'Opens in Wireshark/tshark.',
      params: S.AlarmIdParams,
      response: binary('application/vnd.tcpdump.pcap', 'pcap file'),
    },
    (req: FastifyRequest<{ Params: { id: number } }>, reply) => {
      const id = req.params.id;
      const pcap = evidenceOr404(id, 'pcap', () => evidence.pcap(id));
      return attachment(reply, 'application/vnd.tcpdump.pcap', `svde-alarm-${id}.pcap`, pcap);
    },
  );

  const comtrade =
    (part: 'cff' | 'cfg' | 'dat') =>
    (req: FastifyRequest<{ Params: { id: number }; Querystring: { format?: 'ascii' | 'binary' } }>, reply: FastifyReply) => {
      const id = req.params.id;
      const format = req.query.format ?? 'binary';
      const c = evidenceOr404(id, 'COMTRADE', () => evidence.comtrade(id, format));
      const name = `svde-alarm-${id}.${part}`;
      if (part === 'cfg') return attachment(reply, 'text/plain; charset=utf-8', name, c.cfg);
      if (part === 'cff')
        return attachment(reply, format === 'ascii' ? 'text/plain; charset=utf-8' : 'application/octet-stream', name, c.cff);
      return attachment(reply, format === 'ascii' ? 'text/plain; charset=utf-8' : 'application/octet-stream', name, c.dat);
    };
  for (const [part, what] of [
    ['cff', 'COMTRADE single-file record (.cff, IEEE C37.111-2013)'],
    ['cfg', 'COMTRADE configuration file (.cfg)'],
    ['dat', 'COMTRADE data file (.dat)'],
  ] as const) {
    defineRoute(
      app,
      {
        method: 'GET',
        url: `/alarms/:id/evidence.${part}`,
        access: READ,
        tags: ['evidence'],
        summary: what,
        description: 'format=ascii|binary (default binary).',
        params: S.AlarmIdParams,
        querystring: S.ComtradeQuery,
        response: binary(part === 'cfg' ? 'text/plain' : 'application/octet-stream', what),
      },
      comtrade(part),
    );
  }
};

export default evidenceRoutes;
