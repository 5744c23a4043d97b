// TypeBox schemas of every request and response of the API. They validate requests (Ajv), serialise
// responses (fast-json-stringify drops anything not declared, so nothing internal leaks) and make the
// OpenAPI document. They mirror src/app/device-view.ts and src/store/types.ts.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { INDICATORS, type AlarmCategory, type IndicatorId } from '../model/indicators.ts';

/** A string enum as `{type: string, enum}` (not anyOf of consts) so a wrong value gets one clear message. */
function StringEnum<T extends string>(values: readonly T[], options: Record<string, unknown> = {}) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

export const ALARM_CATEGORIES = [...INDICATORS, 'trip'] as const;

export const IndicatorIdSchema = StringEnum<IndicatorId>(INDICATORS, { description: 'one of the nine indicators' });
export const AlarmCategorySchema = StringEnum<AlarmCategory>(ALARM_CATEGORIES, { description: 'an indicator id, or trip' });
export const NsString = Type.String({ pattern: '^[0-9]+$', description: 'nanoseconds since the Unix epoch, decimal' });
export const GradeSchema = Type.Integer({ minimum: 1, maximum: 4, description: '1 packet, 2 specification, 3 history, 4 upstream' });
const ComponentState = StringEnum(['ok', 'degraded', 'failed', 'absent'] as const);
const LedPattern = StringEnum(['heartbeat', 'red-steady', 'red-blink', 'degraded', 'off'] as const);
const Detail = Type.Union([Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean()])), Type.Null()]);
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const ErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.String({
        description:
          'BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, NOT_FOUND, PRECONDITION_FAILED, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, RATE_LIMITED, SERVICE_UNAVAILABLE, INTERNAL',
      }),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { description: 'every error' },
);

export const IndicatorViewSchema = Type.Object({
  id: IndicatorIdSchema,
  grade: GradeSchema,
  active: Type.Boolean({ description: 'an alarm episode is running' }),
  latched: Type.Boolean({ description: 'raised and not yet acknowledged' }),
  count: Type.Integer({ minimum: 0 }),
  lastAlarmId: Nullable(Type.Integer()),
});

const LatencySummarySchema = Type.Object(
  {
    count: Type.Integer(),
    p50: Nullable(Type.Number()),
    p99: Nullable(Type.Number()),
    p999: Nullable(Type.Number()),
    max: Nullable(Type.Number()),
  },
  { description: 'µs; log-bucket histogram: quantiles within 1/32 below the true value' },
);

/** The real-time thread (capture, decode, detection): its thread, board knobs and its own figures. */
const RealtimeSchema = Type.Object({
  thread: Type.Object({ tid: Type.Integer(), cpus: Type.Array(Type.Integer()) }),
  knobs: Type.Array(
    Type.Object({ name: Type.String(), requested: Type.String(), applied: Type.Boolean(), detail: Nullable(Type.String()) }),
  ),
  verdictLatencyUs: LatencySummarySchema,
  kernelLagUs: LatencySummarySchema,
  signatureLagUs: LatencySummarySchema,
  verdictToLedUs: LatencySummarySchema,
  frames: Type.Integer(),
  cpuNsPerFrame: Nullable(Type.Integer()),
  evidenceDropped: Type.Integer(),
  heapUsedBytes: Type.Integer(),
  gc: Type.Object({ minor: Type.Integer(), major: Type.Integer(), pauseMaxUs: Type.Integer(), pauseTotalUs: Type.Integer() }),
  restarts: Type.Integer(),
});

export const StatusSchema = Type.Object({
  nu: Type.Union([Type.Literal(0), Type.Literal(1)], { description: 'anomaly index νn: 1 while any indicator is latched' }),
  led: LedPattern,
  indicators: Type.Object(
    Object.fromEntries(INDICATORS.map((id) => [id, IndicatorViewSchema])) as Record<IndicatorId, typeof IndicatorViewSchema>,
  ),
  degraded: Type.Object({ capture: Type.Boolean(), chip: Type.Boolean(), storage: Type.Boolean(), led: Type.Boolean() }),
  mode: StringEnum(['demo', 'demo-in-process', 'live'] as const),
  scenario: Nullable(Type.String()),
  startedNs: NsString,
  nowNs: NsString,
  version: Type.String(),
  realtime: Type.Optional(Nullable(RealtimeSchema)),
});

export const StreamSchema = Type.Object({
  name: Type.String(),
  appId: Type.Integer(),
  svId: Type.String(),
  configured: Type.Boolean(),
  observed: Type.Boolean(),
  srcMacs: Type.Array(Type.String()),
  framesPerSecond: Type.Number(),
  expectedFramesPerSecond: Nullable(Type.Number()),
  lastSmpCnt: Nullable(Type.Integer()),
  confRev: Nullable(Type.Integer()),
  signed: Type.Boolean(),
  signatureCoverage: Nullable(Type.Number({ minimum: 0, maximum: 1 })),
  bay: Nullable(Type.String()),
  bus: Nullable(Type.String()),
});

export const StreamsSchema = Type.Object({ streams: Type.Array(StreamSchema) });

export const HealthSchema = Type.Object({
  capture: Type.Object({
    state: ComponentState,
    iface: Type.String(),
    received: Type.Number(),
    kernelDrops: Type.Number(),
    ifDrops: Type.Number(),
    queueDrops: Type.Number(),
    latencyP99Us: Nullable(Type.Number()),
    detail: Nullable(Type.String()),
  }),
  chip: Type.Object({
    state: ComponentState,
    port: Nullable(Type.String()),
    verifiedPerSecond: Type.Number(),
    queueDepth: Type.Number(),
    fallback: Nullable(StringEnum(['software', 'none'] as const)),
    detail: Nullable(Type.String()),
  }),
  storage: Type.Object({
    state: ComponentState,
    path: Nullable(Type.String()),
    sizeBytes: Type.Number(),
    limitBytes: Type.Number(),
    pending: Type.Number(),
    detail: Nullable(Type.String()),
  }),
  led: Type.Object({ state: ComponentState, pattern: LedPattern, detail: Nullable(Type.String()) }),
});

const PhasorSchema = Type.Object({ channel: Type.String(), magnitude: Type.Number(), angleDeg: Type.Number(), unit: Type.String() });

export const WaveformSchema = Type.Object({
  stream: Type.String(),
  tsNs: NsString,
  samplesPerSecond: Type.Number(),
  frequencyHz: Nullable(Type.Number()),
  channels: Type.Array(Type.Object({ name: Type.String(), unit: Type.String(), samples: Type.Array(Type.Number()) })),
  phasors: Type.Array(PhasorSchema),
});

export const AlarmSchema = Type.Object({
  id: Type.Integer(),
  indicator: AlarmCategorySchema,
  grade: GradeSchema,
  stream: Type.String(),
  reason: Type.String(),
  firstFrame: Type.Integer(),
  lastFrame: Type.Integer(),
  frames: Type.Integer(),
  firstTsNs: NsString,
  lastTsNs: NsString,
  ended: Type.Boolean(),
  acknowledged: Nullable(Type.Object({ by: Type.String(), atNs: NsString })),
  detail: Detail,
  evidence: Nullable(Type.Object({ frames: Type.Integer(), fromNs: NsString, toNs: NsString, complete: Type.Boolean() })),
  exported: Type.Boolean(),
});

export const EventSchema = Type.Object({
  id: Type.Integer(),
  tsNs: NsString,
  kind: Type.String(),
  message: Type.String(),
  detail: Detail,
});

const page = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    total: Type.Integer({ description: 'items matching the filter, over all pages' }),
    next: Nullable(Type.String({ description: 'cursor of the next (older) page; null on the last page' })),
  });
export const AlarmPageSchema = page(AlarmSchema);
export const EventPageSchema = page(EventSchema);

const TimeParam = (what: string) =>
  Type.String({
    maxLength: 40,
    description: `${what}: ISO-8601 time (e.g. 2026-01-02T03:04:05.123Z) or nanoseconds since the epoch as a decimal string`,
  });
const Cursor = Type.String({ minLength: 1, maxLength: 256, description: 'the `next` of the previous page' });
const Limit = Type.Integer({ minimum: 1, maximum: 500, description: 'page size, 1–500 (default 50)' });

export const AlarmQuerySchema = Type.Object(
  {
    indicator: Type.Optional(AlarmCategorySchema),
    stream: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    minGrade: Type.Optional(GradeSchema),
    acknowledged: Type.Optional(Type.Boolean()),
    ended: Type.Optional(Type.Boolean()),
    since: Type.Optional(TimeParam('alarms that started at or after')),
    until: Type.Optional(TimeParam('alarms that started before')),
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
export type AlarmQueryInput = Static<typeof AlarmQuerySchema>;

export const EventQuerySchema = Type.Object(
  {
    kind: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    since: Type.Optional(TimeParam('events at or after')),
    until: Type.Optional(TimeParam('events before')),
    limit: Type.Optional(Limit),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
export type EventQueryInput = Static<typeof EventQuerySchema>;

export const AlarmIdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'alarm id' }) });
export const StreamParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) });
export const ComtradeQuery = Type.Object(
  { format: Type.Optional(StringEnum(['ascii', 'binary'] as const, { description: 'COMTRADE data file format (default binary)' })) },
  { additionalProperties: false },
);
export const EmptyQuery = Type.Object({}, { additionalProperties: false });

export const AckResultSchema = Type.Object({
  alarmIds: Type.Array(Type.Integer(), { description: 'alarms acknowledged now (empty: nothing was open)' }),
  indicators: Type.Array(IndicatorIdSchema, { description: 'indicators unlatched now' }),
});

export const IndicatorAckBody = Type.Object(
  {
    indicator: Type.Optional(IndicatorIdSchema),
    all: Type.Optional(Type.Literal(true, { description: 'acknowledge every open alarm' })),
  },
  { additionalProperties: false, description: 'exactly one of indicator or all' },
);
export type IndicatorAckInput = Static<typeof IndicatorAckBody>;

export const EstimateSchema = Type.Object({
  id: Type.String(),
  bus: Type.String(),
  windowStartNs: NsString,
  windowEndNs: NsString,
  values: Type.Array(Type.Object({ name: Type.String(), re: Type.Number(), im: Type.Number(), sigma: Type.Number() })),
});

export const SignedEstimatesSchema = Type.Object({
  estimates: Type.Array(EstimateSchema),
  signature: Nullable(
    Type.Object({
      algorithm: Type.Literal('SM2-SM3'),
      signerId: Type.String(),
      publicKey: Type.String(),
      value: Type.String({ description: 'r ‖ s, hex, over the UTF-8 JSON of `estimates`' }),
      by: StringEnum(['chip', 'software'] as const),
    }),
  ),
});

export const EstimatesQuery = Type.Object(
  { since: Type.Optional(TimeParam('estimates whose window ends at or after')) },
  { additionalProperties: false },
);

export const MasterEstimateBody = Type.Object(
  {
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'the local estimate id this answers, when known' })),
    bus: Type.String({ minLength: 1, maxLength: 128 }),
    windowStartNs: NsString,
    windowEndNs: NsString,
    values: Type.Array(
      Type.Object(
        { name: Type.String({ minLength: 1, maxLength: 128 }), re: Type.Number(), im: Type.Number() },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 1024 },
    ),
  },
  { additionalProperties: false },
);
export type MasterEstimateBodyInput = Static<typeof MasterEstimateBody>;

export const UpstreamResultSchema = Type.Object({
  outcome: StringEnum(['match', 'forgery', 'tamper'] as const),
  reason: Type.String(),
  localId: Nullable(Type.String()),
  alarmId: Nullable(Type.Integer()),
});

export const LiveQuery = Type.Object(
  { stream: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'also send `waveform` events of this stream' })) },
  { additionalProperties: false },
);

export const LoginBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
export const SessionSchema = Type.Object({
  name: Type.String(),
  role: StringEnum(['viewer', 'operator', 'engineer', 'master'] as const),
  via: StringEnum(['token', 'session', 'loopback'] as const),
  expiresAt: Nullable(Type.String({ description: 'ISO-8601, for a session cookie' })),
});
export const LogoutSchema = Type.Object({ loggedOut: Type.Boolean() });

export const CountersQuery = Type.Object(
  {
    since: Type.Optional(TimeParam('samples at or after (default: one hour ago)')),
    until: Type.Optional(TimeParam('samples before')),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10_000, description: 'at most this many samples, oldest first, 1–10000 (default 1000)' }),
    ),
  },
  { additionalProperties: false },
);

export const CountersSchema = Type.Object({
  samples: Type.Array(
    Type.Object({
      tsNs: NsString,
      counts: Type.Object(Object.fromEntries(ALARM_CATEGORIES.map((c) => [c, Type.Optional(Type.Integer({ minimum: 0 }))])), {
        description: 'alarms per indicator (and trip) in the interval',
      }),
      frames: Type.Integer({ minimum: 0 }),
      lost: Type.Integer({ minimum: 0, description: 'frames lost by the capture in the interval' }),
    }),
  ),
  truncated: Type.Optional(Type.Literal(true, { description: 'present when more samples matched than the limit' })),
  next: Type.Optional(Type.String({ description: 'when truncated: the `since` of the next page (ns since the epoch)' })),
});

const Unit = Type.Number({ minimum: 0, maximum: 1 });
const RiskLevelSchema = Type.Union([Type.Literal('high'), Type.Literal('medium'), Type.Literal('low')], {
  description: 'high > 0.7, medium 0.3–0.7, low ≤ 0.3',
});
export const RiskSchema = Type.Object({
  assets: Type.Array(
    Type.Object({
      asset: Type.String(),
      kind: Type.Union([Type.Literal('stream'), Type.Literal('appliance')]),
      impact: Unit,
      vulnerability: Unit,
      likelihood: Unit,
      risk: Type.Number({ minimum: 0, maximum: 1, description: 'Rₐ = Lₐ·Iₐ·Vₐ' }),
      level: RiskLevelSchema,
      factors: Type.Array(Type.Object({ name: Type.String(), weight: Unit, score: Unit })),
    }),
  ),
  system: Type.Object({ max: Unit, weightedMean: Unit, level: RiskLevelSchema }),
  metrics: Type.Object({
    mttdMs: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], {
      description: 'mean time from the first offending frame to the alarm',
    }),
    mttrMs: Type.Union([Type.Number({ minimum: 0 }), Type.Null()], { description: 'mean time from the alarm to its acknowledgement' }),
    resolvedShare: Type.Union([Unit, Type.Null()], { description: 'acknowledged alarms / all alarms of the last hour' }),
  }),
});

// ---- configuration (engineer) ----------------------------------------------------------------------------
const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const ConfigObject = Type.Object({}, { additionalProperties: true, description: 'the configuration document (docs/configuration.md)' });
export const ConfigurationSchema = Type.Object({
  file: Type.String({ description: 'file name of the configuration' }),
  sha256: Sha256,
  runningSha256: Type.String({ description: 'SHA-256 of the configuration the appliance started with' }),
  pending: Type.Boolean({ description: 'the file differs from the running configuration; a restart applies it' }),
  config: ConfigObject,
});
export const ConfigurationPutSchema = Type.Object({
  configuration: ConfigurationSchema,
  restartRequired: Type.Boolean(),
  warnings: Type.Array(Type.String(), { description: 'SCL import warnings of the new configuration' }),
});
export const ConfigurationBody = ConfigObject;
export const IfMatchHeaders = Type.Object({
  'if-match': Type.Optional(
    Type.String({ description: 'the sha256 from GET (quoted or bare): the change fails with 412 if the file changed since' }),
  ),
});
