// The streams the appliance expects (from SCL + configuration, or learnt from a clean baseline) and an
// allocation-free lookup of the stream a decoded frame claims to belong to (APPID, then svID bytes).
import type { BatchColumns } from '../native/index.ts';
import type { ExpectedStream } from '../model/streams.ts';

export interface StreamEntry {
  readonly index: number;
  readonly cfg: ExpectedStream;
  readonly svIdBytes: Uint8Array;
  readonly datSetBytes: Uint8Array | undefined;
  readonly accepted: ReadonlySet<number>;
}

/** A MAC address as a 48-bit number: an allocation-free map key. */
export function macKey(raw: Uint8Array, off: number): number {
  return (
    raw[off]! * 2 ** 40 +
    raw[off + 1]! * 2 ** 32 +
    ((raw[off + 2]! << 24) >>> 0) +
    (raw[off + 3]! << 16) +
    (raw[off + 4]! << 8) +
    raw[off + 5]!
  );
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
