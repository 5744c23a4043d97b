// Alarms: the filtered, paged list, one alarm, and acknowledging an alarm, an indicator or everything.
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { DeviceView } from '../../model/device.ts';
import type { AlarmQuery, AlarmRecord } from '../../model/records.ts';
import { badRequest, notFound } from '../errors.ts';
import { requirePrincipal } from '../plugins/auth.ts';
import { checkRange, withCursor } from '../query.ts';
import { defineRoute, ERR, OPERATOR, READ_MASTER } from '../route.ts';
import * as S from '../schemas.ts';
import { parseTimeParam } from '../time.ts';

export function alarmOr404(device: DeviceView, id: number): AlarmRecord {
  const a = device.store.getAlarm(id);
  if (a === undefined) throw notFound(`no alarm with id ${id}`);
  return a;
}

const alarms: FastifyPluginAsync<{ device: DeviceView }> = async (app, { device }) => {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/alarms',
      access: READ_MASTER,
      tags: ['alarms'],
      summary: 'alarms, newest first, filtered and paged',
      description: 'Follow `next` as `cursor` for older pages.',
      querystring: S.AlarmQuerySchema,
      response: { 200: S.AlarmPageSchema, ...ERR },
    },
    (req: FastifyRequest<{ Querystring: S.AlarmQueryInput }>) => {
      const q = req.query;
      const query: AlarmQuery = {
        limit: q.limit ?? 50,
        ...(q.indicator !== undefined ? { indicator: q.indicator } : {}),
        ...(q.stream !== undefined ? { stream: q.stream } : {}),
        ...(q.minGrade !== undefined ? { minGrade: q.minGrade as AlarmQuery['minGrade'] } : {}),
        ...(q.acknowledged !== undefined ? { acknowledged: q.acknowledged } : {}),
        ...(q.ended !== undefined ? { ended: q.ended } : {}),
        ...(q.since !== undefined ? { sinceNs: parseTimeParam('since', q.since) } : {}),
        ...(q.until !== undefined ? { untilNs: parseTimeParam('until', q.until) } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      };
      checkRange(query.sinceNs, query.untilNs);
      return withCursor(q.cursor, () => device.store.listAlarms(query));
    },
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/alarms/:id',
      access: READ_MASTER,
      tags: ['alarms'],
      summary: 'one alarm',
      description: 'Grade, stream, reason, frames, acknowledgement and evidence extent.',
      params: S.AlarmIdParams,
      response: { 200: S.AlarmSchema, ...ERR },
    },
    (req: FastifyRequest<{ Params: { id: number } }>) => alarmOr404(device, req.params.id),
  );

  defineRoute(
    app,
    {
      method: 'POST',
      url: '/alarms/:id/ack',
      access: OPERATOR,
      tags: ['alarms'],
      summary: 'acknowledge one alarm',
      description: 'Persisted before the reply. Empty lists when it was acknowledged already.',
      params: S.AlarmIdParams,
      response: { 200: S.AckResultSchema, ...ERR },
    },
    (req: FastifyRequest<{ Params: { id: number } }>) => {
      alarmOr404(device, req.params.id);
      return device.acknowledge({ alarmId: req.params.id }, requirePrincipal(req).name);
    },
  );

  defineRoute(
    app,
    {
      method: 'POST',
      url: '/indicators/ack',
      access: OPERATOR,
      tags: ['alarms'],
      summary: 'acknowledge an indicator or everything',
      description: 'Body: exactly one of {"indicator": id} or {"all": true}.',
      body: S.IndicatorAckBody,
      response: { 200: S.AckResultSchema, ...ERR },
    },
    (req: FastifyRequest<{ Body: S.IndicatorAckInput }>) => {
      const b = req.body;
      if ((b.indicator === undefined) === (b.all === undefined)) {
        throw badRequest('body must have exactly one of "indicator" (an indicator id) or "all": true', [
          { location: 'body', field: '', message: 'exactly one of indicator, all' },
        ]);
      }
      const by = requirePrincipal(req).name;
      return b.indicator !== undefined ? device.acknowledge({ indicator: b.indicator }, by) : device.acknowledge({ all: true }, by);
    },
  );
};

export default alarms;
