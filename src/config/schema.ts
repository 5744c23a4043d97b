// The appliance's configuration file (JSON): what SCL does not hold. TypeBox schemas give both the static
// types and the validator whose errors name the bad field by JSON pointer; `docs/configuration.md` documents
// every field and default and must change with this file.
import { Type } from '@sinclair/typebox';
import type { Static, TSchema, TUnsafe } from '@sinclair/typebox';
import { CURVES, type Curve } from '../model/protection.ts';

export const MAC_PATTERN = '^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$';
const Mac = Type.String({ pattern: MAC_PATTERN, errorMessage: 'must be a MAC address such as 02:00:5e:00:53:01' });
const HexAppId = Type.String({
  pattern: '^(0[xX])?[0-9A-Fa-f]{1,4}$',
  errorMessage: 'must be an APPID in hex as SCL writes it, e.g. "4000" or "0x4000"',
});
const Positive = (def?: number) => Type.Number({ exclusiveMinimum: 0, ...(def !== undefined ? { default: def } : {}) });

const CURVE_LITERALS = CURVES.map((c) => Type.Literal(c));
export type { Curve };

const seconds = (def: number) => Type.Number({ minimum: 0, maximum: 3600, default: def });
const voltage = (delay: number) =>
  Type.Object(
    {
      enabled: Type.Boolean({ default: true }),
      /** Phase-to-neutral volts RMS; defaults 1.2 × (59) and 0.7 × (27) nominalVoltageLN (filled by effectiveProtection). */
      pickupV: Type.Optional(Positive()),
      delayS: seconds(delay),
    },
    { additionalProperties: false, default: {} },
  );

export const ProtectionSchema = Type.Object(
  {
    /**
     * Rated primary current In and phase-to-neutral voltage Vn. Unset: per stream from the SCL (TCTR ARtg,
     * VoltageLevel/Voltage) where it says them; see effectiveProtection for what happens otherwise.
     */
    nominalCurrentA: Type.Optional(Positive()),
    nominalVoltageLN: Type.Optional(Positive()),
    overcurrent50: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        /** Primary amperes RMS; default 2.5 × nominalCurrentA. */
        pickupA: Type.Optional(Positive()),
        delayS: seconds(0),
      },
      { additionalProperties: false, default: {} },
    ),
    overcurrent51: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        /** Default 1.2 × nominalCurrentA. */
        pickupA: Type.Optional(Positive()),
        curve: Type.Union(CURVE_LITERALS, { default: 'IEC-SI' }),
        tms: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 0.1 }),
      },
      { additionalProperties: false, default: {} },
    ),
    overvoltage59: voltage(1),
    undervoltage27: voltage(1),
  },
  { additionalProperties: false, default: {} },
);

/**
 * The same shape with every field optional and no defaults: in a per-stream override an absent field
 * falls through to the global setting, not to the default.
 */
function relaxed(schema: TSchema): TSchema {
  // Rest/spread keep TypeBox's symbol-keyed metadata.
  const { default: _ignored, ...rest } = schema as TSchema & { default?: unknown };
  const props = (rest as { properties?: Record<string, TSchema> }).properties;
  if (rest['type'] !== 'object' || props === undefined) return rest as TSchema;
  const out: Record<string, TSchema> = {};
  for (const [k, v] of Object.entries(props)) out[k] = relaxed(v);
  return Type.Partial(Type.Object(out, { additionalProperties: false }));
}
// Typed by hand: the runtime schema is computed, TypeBox cannot infer its static type.
const ProtectionOverride = relaxed(ProtectionSchema) as TUnsafe<DeepPartial<Static<typeof ProtectionSchema>>>;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export const StreamSchema = Type.Object(
  {
    // Selectors: together they must name exactly one SCL control block.
    svID: Type.Optional(Type.String({ minLength: 1 })),
    appId: Type.Optional(HexAppId),
    ied: Type.Optional(Type.String({ minLength: 1 })),
    ldInst: Type.Optional(Type.String()),
    cbName: Type.Optional(Type.String({ minLength: 1 })),
    acceptedSourceMacs: Type.Array(Mac, { default: [], maxItems: 64 }),
    signed: Type.Optional(
      Type.Object(
        {
          keyId: Type.Integer({ minimum: 0, maximum: 0xffff }),
          mode: Type.Union([Type.Literal('frame'), Type.Literal('block')], { default: 'frame' }),
          blockLen: Type.Integer({ minimum: 1, maximum: 4096, default: 1 }),
        },
        { additionalProperties: false },
      ),
    ),
    role: Type.Union([Type.Literal('protection'), Type.Literal('metering')], { default: 'protection' }),
    bay: Type.Optional(Type.String({ minLength: 1 })),
    protection: Type.Optional(ProtectionOverride),
  },
  { additionalProperties: false },
);

export const MeasurementModelSchema = Type.Object(
  {
    nominalFrequencyHz: Type.Union([Type.Literal(50), Type.Literal(60)], { default: 50 }),
    windowCycles: Type.Integer({ minimum: 1, maximum: 50, default: 1 }),
    neutralKirchhoff: Type.Boolean({ default: true }),
    bayRedundancy: Type.Boolean({ default: true }),
    sigma: Type.Object(
      {
        currentRelative: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.01 }),
        currentAbsoluteA: Type.Number({ minimum: 0, default: 1 }),
        voltageRelative: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.005 }),
        voltageAbsoluteV: Type.Number({ minimum: 0, default: 10 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

export const ThresholdsSchema = Type.Object(
  {
    rateTolerance: Type.Number({ exclusiveMinimum: 0, maximum: 10, default: 0.1 }),
    rateWindowS: Type.Number({ exclusiveMinimum: 0, maximum: 60, default: 1 }),
    chiSquareAlpha: Type.Number({ exclusiveMinimum: 0, maximum: 0.5, default: 0.01 }),
    lnrThreshold: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 3 }),
    timing: Type.Object(
      {
        intervalTolerance: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 0.5 }),
        maxSilenceMs: Type.Number({ exclusiveMinimum: 0, maximum: 60_000, default: 10 }),
        refrTmSkewMs: Type.Number({ minimum: 0, maximum: 86_400_000, default: 1000 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);

const PathString = Type.String({ minLength: 1, maxLength: 4096 });

/** Where the appliance keeps its state and how it talks to the outside (SPEC §3, §6). Relative paths are
 *  relative to the configuration file. */
export const ApplianceSchema = Type.Object(
  {
    /** Board profile (board/*.json): capture interface, chip serial device, LED/relay pins. */
    board: Type.Optional(PathString),
    /** Capture interface; overrides the board profile's. */
    iface: Type.Optional(
      Type.String({ minLength: 1, maxLength: 15, pattern: '^[A-Za-z0-9_.:@-]+$', errorMessage: 'must be a network interface name' }),
    ),
    stateDir: Type.String({ minLength: 1, default: '/var/lib/svde' }),
    storage: Type.Object(
      {
        /** SQLite file; default <stateDir>/svde.db. */
        path: Type.Optional(PathString),
        limitMB: Type.Number({ minimum: 16, maximum: 1_048_576, default: 512 }),
        alarmRetentionDays: Type.Number({ minimum: 1, maximum: 3650, default: 365 }),
        eventRetentionDays: Type.Number({ minimum: 1, maximum: 3650, default: 30 }),
      },
      { additionalProperties: false, default: {} },
    ),
    http: Type.Object(
      {
        host: Type.String({ minLength: 1, default: '0.0.0.0' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8443 }),
        /** Device certificate and key (PEM); without them the API is plain HTTP and only listens on loopback. */
        tls: Type.Optional(
          Type.Object(
            {
              cert: PathString,
              key: PathString,
              /** CA of the master station's client certificates: enables mutual TLS for POST /estimates. */
              clientCa: Type.Optional(PathString),
            },
            { additionalProperties: false },
          ),
        ),
        /** Hashed bearer tokens (svde tokens add); default <stateDir>/tokens.json. */
        tokens: Type.Optional(PathString),
        rateLimit: Type.Object(
          {
            max: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 600 }),
            windowS: Type.Number({ exclusiveMinimum: 0, maximum: 3600, default: 60 }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    signatures: Type.Object(
      {
        /** Key store directory (svde keys); default <stateDir>/keys. */
        keys: Type.Optional(PathString),
        /** Chip serial device; overrides the board profile's. */
        chipDevice: Type.Optional(PathString),
        chipBaud: Type.Optional(Type.Integer({ minimum: 1200, maximum: 12_000_000 })),
        /** When the chip fails: verify in software, or report frames unverified. */
        fallback: Type.Union([Type.Literal('software'), Type.Literal('none')], { default: 'software' }),
        /** Device key used without a chip (PEM, created 0600); default <stateDir>/device-key.pem. */
        deviceKey: Type.Optional(PathString),
      },
      { additionalProperties: false, default: {} },
    ),
    syslog: Type.Optional(
      Type.Object(
        {
          host: Type.String({ minLength: 1 }),
          port: Type.Integer({ minimum: 1, maximum: 65535, default: 514 }),
          transport: Type.Union([Type.Literal('udp'), Type.Literal('tcp')], { default: 'udp' }),
          appName: Type.String({ minLength: 1, maxLength: 48, default: 'svde' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, default: {} },
);

export const ConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    version: Type.Literal(1, { default: 1 }),
    scl: Type.Optional(Type.String({ minLength: 1 })),
    streams: Type.Array(StreamSchema, { default: [], maxItems: 1024 }),
    protection: ProtectionSchema,
    measurementModel: MeasurementModelSchema,
    thresholds: ThresholdsSchema,
    testMode: Type.Object({ acceptSimulated: Type.Boolean({ default: false }) }, { additionalProperties: false, default: {} }),
    learn: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        durationS: Type.Number({ exclusiveMinimum: 0, maximum: 7 * 86400, default: 60 }),
      },
      { additionalProperties: false, default: {} },
    ),
    appliance: ApplianceSchema,
  },
  { additionalProperties: false },
);

export type SvdeConfig = Static<typeof ConfigSchema>;
export type StreamConfig = Static<typeof StreamSchema>;
export type ProtectionSettings = Static<typeof ProtectionSchema>;
export type ProtectionOverrideSettings = DeepPartial<ProtectionSettings>;
export type MeasurementModel = Static<typeof MeasurementModelSchema>;
export type Thresholds = Static<typeof ThresholdsSchema>;
export type ApplianceSettings = Static<typeof ApplianceSchema>;
