// The streams the appliance expects (from SCL + configuration, or learnt from a clean baseline) and an
// allocation-free lookup of the stream a decoded frame claims to belong to (APPID, then svID bytes).
import type { BatchColumns } from '../native/index.ts';
import type { Curve } from '../config/schema.ts';
import type { ChannelDescription } from '../sim/channels.ts';

export interface ExpectedStream {
  /** Name used in alarms (the SCL control block or the configured name). */
  name: string;
  svID: string;
  appId: number;
  /** Accepted source MACs, lower-case colon-separated. Empty: every source is accepted. */
  acceptedSourceMacs: readonly string[];
  dstMac?: string;
  confRev?: number;
  datSet?: string | null;
  /** smpCnt counts 0 … samplesPerSecond − 1 (then wraps). */
  samplesPerSecond: number;
  nofASDU: number;
  /** Frames per second the stream should publish (samplesPerSecond / nofASDU). */
  framesPerSecond: number;
  /** smpCnt modulus: samplesPerSecond for 9-2 (reset every second); 65536 for publishers that never reset. */
  smpCntWrap?: number;
  /** smpCnt advance per frame: nofASDU when ASDUs carry consecutive samples (9-2), 1 when they carry
   *  different quantities of one sample (some publishers). Default nofASDU. */
  smpCntStep?: number;
  /** Simulate bit (test frames) accepted on this stream (test mode). */
  testMode?: boolean;
  /** The dataset's channels in seqData order (kind, phase, scaling), for the value-based stages. */
  channels?: readonly ChannelDescription[];
  /** Nominal frequency of the bay, Hz (default 50). */
  nominalHz?: number;
  /** Protection settings the trip check judges against: pickups in primary RMS units. */
  protection?: TripSettings;
  /** Bay the stream measures (redundant MUs of a bay share it; the badData model's current states). */
  bay?: string;
  /** Bus of the bay (shared voltage states; default: the bay). */
  bus?: string;
  /** Protection streams trip breakers; metering streams do not (impact in the risk assessment). Default protection. */
  role?: 'protection' | 'metering';
}

export interface TripSettings {
  /** Phase overcurrent pickup (ANSI 50), A RMS. */
  overcurrentA: number;
  /** Phase overvoltage pickup (ANSI 59), V RMS. */
  overvoltageV: number;
  /** ANSI 50 definite-time delay, s (default 0: the first cycle at pickup operates). */
  overcurrentDelayS?: number;
  /** ANSI 59 definite-time delay, s (default 0). */
  overvoltageDelayS?: number;
  /** ANSI 51 settings; null turns 51 off; absent: the trip stage's default (see TripOptions.inverseTimeOf). */
  inverseTime?: { pickupA: number; curve: Curve; tms: number } | null;
}

export interface StreamEntry {
  readonly index: number;
  readonly cfg: ExpectedStream;
  readonly svIdBytes: Uint8Array;
  readonly datSetBytes: Uint8Array | undefined;
  readonly accepted: ReadonlySet<number>;
}

/** A MAC address as a 48-bit number: an allocation-free map key. */
export function macKey(raw: Uint8Array, off: number): number {
  return raw[off]! * 2 ** 40 + raw[off + 1]! * 2 ** 32 + ((raw[off + 2]! << 24) >>> 0) + (raw[off + 3]! << 16) + (raw[off + 4]! << 8) + raw[off + 5]!;
}

export function macKeyOf(mac: string): number {
  const parts = mac.toLowerCase().split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-f]{2}$/.test(p))) throw new RangeError(`not a MAC address: '${mac}'`);
  return macKey(Uint8Array.from(parts.map((p) => Number.parseInt(p, 16))), 0);
}

/** raw[off, off+len) equals bytes. */
export function bytesEqual(raw: Uint8Array, off: number, len: number, bytes: Uint8Array): boolean {
  if (len !== bytes.length) return false;
  for (let k = 0; k < len; k++) if (raw[off + k] !== bytes[k]) return false;
  return true;
}

export class StreamRegistry {
  readonly streams: readonly StreamEntry[];
  #byAppId = new Map<number, StreamEntry[]>();

  constructor(streams: readonly ExpectedStream[]) {
    this.streams = streams.map((cfg, index) => ({
      index,
      cfg,
      svIdBytes: new TextEncoder().encode(cfg.svID),
      datSetBytes: cfg.datSet === undefined || cfg.datSet === null ? undefined : new TextEncoder().encode(cfg.datSet),
      accepted: new Set(cfg.acceptedSourceMacs.map(macKeyOf)),
    }));
    for (const e of this.streams) {
      const list = this.#byAppId.get(e.cfg.appId) ?? [];
      list.push(e);
      this.#byAppId.set(e.cfg.appId, list);
    }
  }

  /** Whether the last lookup() matched the svID too (false: matched by APPID alone). */
  svIdMatched = false;

  /**
   * The configured stream of frame i of a batch: by APPID and the first ASDU's svID; failing that, the
   * only stream with that APPID (its svID is then wrong: `svIdMatched` is false); else undefined.
   */
  lookup(c: BatchColumns, i: number): StreamEntry | undefined {
    const list = this.#byAppId.get(c.appId[i]!);
    this.svIdMatched = false;
    if (list === undefined || c.asduCount[i] === 0) return undefined;
    const j = c.asduStart[i]!;
    const off = c.rawOff[i]! + c.svIdOff[j]!;
    const len = c.svIdLen[j]!;
    const raw = c.raw;
    for (const e of list) {
      if (!bytesEqual(raw, off, len, e.svIdBytes)) continue;
      this.svIdMatched = true;
      return e;
    }
    this.svIdMatched = false;
    return list.length === 1 ? list[0] : undefined;
  }
}
