// Board profiles (board/*.json): what differs between the hardware the appliance runs on — the process-bus
// interface, the crypto chip's serial line, the front-panel LED and alarm-relay GPIO lines. Loaded the same
// way as the configuration file: every bad field is reported with its JSON-pointer path and the reason.
import { readFileSync, statSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { ConfigError, validateWithDefaults, type ConfigIssue } from './load.ts';

/** A sysfs GPIO number (the kernel's global numbering, which reaches past 512 on newer kernels) or null. */
const Pin = Type.Union([Type.Integer({ minimum: 0, maximum: 4095 }), Type.Null()], {
  errorMessage: 'must be a GPIO number 0…4095 or null',
});

export const BoardSchema = Type.Object(
  {
    $comment: Type.Optional(Type.String()),
    $schema: Type.Optional(Type.String()),
    name: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[A-Za-z0-9_.-]+$',
      errorMessage: 'must be a name of letters, digits, "_", "." and "-"',
    }),
    capture: Type.Object(
      {
        iface: Type.String({
          minLength: 1,
          maxLength: 15,
          pattern: '^[A-Za-z0-9_.:@-]+$',
          errorMessage: 'must be a network interface name (1–15 characters)',
        }),
        bufferBytes: Type.Integer({ minimum: 1 << 20, maximum: 1 << 30, default: 32 << 20 }),
        snaplen: Type.Integer({ minimum: 128, maximum: 65535, default: 1600 }),
        flushMicros: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 200 }),
      },
      { additionalProperties: false },
    ),
    chip: Type.Object(
      {
        /** Serial device of the crypto chip; null when the board has none (software verification or emulator). */
        device: Type.Union([Type.String({ pattern: '^/dev/[A-Za-z0-9_./-]+$' }), Type.Null()], {
          errorMessage: 'must be a /dev/… serial device path or null',
        }),
        baud: Type.Integer({ minimum: 1200, maximum: 12_000_000, default: 921600 }),
      },
      { additionalProperties: false },
    ),
    gpio: Type.Object(
      {
        ledGreen: Pin,
        ledRed: Pin,
        alarmRelay: Pin,
        /** The LEDs light when their line is driven low. */
        activeLow: Type.Boolean({ default: false }),
        /** The relay closes when its line is driven low; default: the LEDs' polarity. */
        relayActiveLow: Type.Optional(Type.Boolean()),
        /** When the alarm relay closes: while νn = 1, only while an alarm waits for acknowledgement, or also on a device fault. */
        relayCloses: Type.Union([Type.Literal('nu'), Type.Literal('unacknowledged'), Type.Literal('nu-or-degraded')], { default: 'nu' }),
        /** Keep the green heartbeat going under the red patterns (separate LEDs); off for a two-colour LED. */
        heartbeatDuringAlarm: Type.Boolean({ default: true }),
      },
      { additionalProperties: false },
    ),
    cpu: Type.Object(
      {
        /** CPU of the real-time thread (capture, detection) when realtimeCores is not given. */
        captureCore: Type.Union([Type.Integer({ minimum: 0, maximum: 1023 }), Type.Null()], { default: null }),
        /** CPUs the real-time thread and the capture thread it starts may run on. */
        realtimeCores: Type.Union([Type.Array(Type.Integer({ minimum: 0, maximum: 1023 }), { minItems: 1, maxItems: 64 }), Type.Null()], {
          default: null,
        }),
        /** SCHED_FIFO priority of the real-time thread (needs CAP_SYS_NICE; skipped with a warning otherwise). */
        fifoPriority: Type.Union([Type.Integer({ minimum: 1, maximum: 99 }), Type.Null()], { default: null }),
        /** Asks for mlockall; refused with the reason (V8 cannot run with locked heap pages). */
        mlockall: Type.Boolean({ default: false }),
        /** V8 old-generation heap limit of the real-time thread, MiB. */
        realtimeHeapMb: Type.Union([Type.Integer({ minimum: 64, maximum: 16384 }), Type.Null()], { default: null }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type BoardProfile = Static<typeof BoardSchema>;
export type RelayMode = BoardProfile['gpio']['relayCloses'];

export class BoardError extends ConfigError {
  override readonly code: string = 'BOARD';
  constructor(file: string, issues: ConfigIssue[]) {
    super(file, issues);
    this.name = 'BoardError';
  }
}

/** Validates a parsed board profile and applies defaults; throws BoardError listing every bad field. */
export function parseBoard(value: unknown, file = '<board>'): BoardProfile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BoardError(file, [{ path: '', message: 'the board profile must be a JSON object' }]);
  }
  const { value: b, issues } = validateWithDefaults<BoardProfile>(BoardSchema, value);
  if (issues.length > 0) throw new BoardError(file, issues);
  // One line cannot drive two outputs.
  const used = new Map<number, string>();
  for (const k of ['ledGreen', 'ledRed', 'alarmRelay'] as const) {
    const pin = b.gpio[k];
    if (pin === null) continue;
    const other = used.get(pin);
    if (other !== undefined) issues.push({ path: `/gpio/${k}`, message: `GPIO ${pin} is already used by /gpio/${other}` });
    else used.set(pin, k);
  }
  if (issues.length > 0) throw new BoardError(file, issues);
  return b;
}

/** Reads and validates a board profile file (JSON, at most 64 KiB). */
export function loadBoardFile(file: string): BoardProfile {
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > 65536) throw new Error(`too large (${st.size} bytes; a board profile is at most 64 KiB)`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new BoardError(file, [{ path: '', message: `cannot be read: ${err.code === 'ENOENT' ? 'no such file' : err.message}` }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new BoardError(file, [{ path: '', message: `not valid JSON: ${(e as Error).message}` }]);
  }
  return parseBoard(value, file);
}

/** The same as loadBoardFile (the name the command line uses). */
export const loadBoardProfile = loadBoardFile;
