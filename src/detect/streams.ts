// The streams the appliance expects (from SCL + configuration, or learnt from a clean baseline) and an
// allocation-free lookup of the stream a decoded frame claims to belong to (APPID, then svID bytes).
import type { BatchColumns } from '../native/index.ts';

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
}

export interface StreamEntry {
  readonly index: number;
  readonly cfg: ExpectedStream;
  readonly svIdBytes: Uint8Array;
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

export class StreamRegistry {
  readonly streams: readonly StreamEntry[];
  #byAppId = new Map<number, StreamEntry[]>();

  constructor(streams: readonly ExpectedStream[]) {
    this.streams = streams.map((cfg, index) => ({
      index,
      cfg,
      svIdBytes: new TextEncoder().encode(cfg.svID),
      accepted: new Set(cfg.acceptedSourceMacs.map(macKeyOf)),
    }));
    for (const e of this.streams) {
      const list = this.#byAppId.get(e.cfg.appId) ?? [];
      list.push(e);
      this.#byAppId.set(e.cfg.appId, list);
    }
  }

  /** The configured stream of frame i of a batch (by APPID and the first ASDU's svID), or undefined. */
  lookup(c: BatchColumns, i: number): StreamEntry | undefined {
    const list = this.#byAppId.get(c.appId[i]!);
    if (list === undefined || c.asduCount[i] === 0) return undefined;
    const j = c.asduStart[i]!;
    const off = c.rawOff[i]! + c.svIdOff[j]!;
    const len = c.svIdLen[j]!;
    const raw = c.raw;
    outer: for (const e of list) {
      const want = e.svIdBytes;
      if (want.length !== len) continue;
      for (let k = 0; k < len; k++) if (raw[off + k] !== want[k]) continue outer;
      return e;
    }
    return undefined;
  }
}
