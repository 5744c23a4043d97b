// The normal-event log and the per-indicator counters over time (historical statistics).
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { DeviceView } from '../../model/device.ts';
import type { EventQuery } from '../../model/records.ts';
import { checkRange, withCursor } from '../query.ts';
import { defineRoute, ERR, READ } from '../route.ts';
import * as S from '../schemas.ts';
import { parseTimeParam } from '../time.ts';

const events: FastifyPluginAsync<{ device: DeviceView }> = async (app, { device }) => {
  defineRoute(
    app,
    {
      method: 'GET',
      url: '/events',
      access: READ,
      tags: ['events'],
      summary: 'the normal-event log, newest first, paged',
      description: 'Start/stop, streams appearing or lost, capture loss, chip and storage state, acknowledgements, retention.',
      querystring: S.EventQuerySchema,
      response: { 200: S.EventPageSchema, ...ERR },
    },
    (req: FastifyRequest<{ Querystring: S.EventQueryInput }>) => {
      const q = req.query;
      const query: EventQuery = {
        limit: q.limit ?? 50,
        ...(q.kind !== undefined ? { kind: q.kind } : {}),
        ...(q.since !== undefined ? { sinceNs: parseTimeParam('since', q.since) } : {}),
        ...(q.until !== undefined ? { untilNs: parseTimeParam('until', q.until) } : {}),
        ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
      };
      checkRange(query.sinceNs, query.untilNs);
      return withCursor(q.cursor, () => device.store.listEvents(query));
    },
  );

  defineRoute(
    app,
    {
      method: 'GET',
      url: '/counters',
      access: READ,
      tags: ['events'],
      summary: 'per-indicator counters over time',
      description: 'One sample per interval: alarms per indicator, frames, capture loss (historical statistics).',
      querystring: S.CountersQuery,
      response: { 200: S.CountersSchema, ...ERR },
    },
    (req: FastifyRequest<{ Querystring: { since?: string; until?: string; limit?: number } }>) => {
      const until = req.query.until === undefined ? undefined : parseTimeParam('until', req.query.until);
      const since =
        req.query.since === undefined
          ? (until ?? BigInt(Date.now()) * 1_000_000n) - 3_600_000_000_000n
          : parseTimeParam('since', req.query.since);
      checkRange(since, until);
      const page = device.store.counterPage?.(since, until, req.query.limit) ?? {
        samples: device.store.counters(since, until, req.query.limit),
        truncated: false,
        nextSinceNs: null,
      };
      return page.truncated ? { samples: page.samples, truncated: true, next: page.nextSinceNs } : { samples: page.samples };
    },
  );
};

export default events;
