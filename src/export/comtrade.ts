// COMTRADE (IEEE C37.111-2013 / IEC 60255-24:2013) writer: .cfg + .dat in ASCII or BINARY, and the 2013
// single-file .cff. Analog values are the merging unit's primary values (A, V): physical = a·x + b with
// x the stored integer. To keep every sample exact where possible, x = raw / k with the smallest integer k
// that fits the 16-bit range of BINARY (k = 1 for most 9-2LE currents), so a = scale·k — ASCII uses the
// same x, so both formats give the same samples; BINARY32 (32-bit, 2013) keeps every raw value (k = 1). One digital channel per analog channel is 1 while the
// sample's quality is not good (validity bits of the IEC 61850 quality word).

/** ASCII and BINARY (16-bit) give the same samples; BINARY32 (2013) keeps every raw value exactly (k = 1). */
export type ComtradeFormat = 'ascii' | 'binary' | 'binary32';

export interface ComtradeChannel {
  name: string;
  kind: 'current' | 'voltage';
  phase: string;
  scale: number;
  offset?: number;
}

export interface ComtradeSample {
  /** Sample time, ns since the epoch. */
  tNs: bigint;
  /** Raw INT32 values in channel order. */
  values: Int32Array;
  /** IEC 61850 quality words in channel order. */
  quality: Uint32Array;
}

export interface ComtradeInput {
  station: string;
  device: string;
  /** Circuit component (ccbm): the stream name. */
  component: string;
  channels: readonly ComtradeChannel[];
  samples: readonly ComtradeSample[];
  samplesPerSecond: number;
  nominalHz: number;
  triggerNs: bigint;
  format: ComtradeFormat;
  /** Time quality of the recording clock (tmq_code, hex 0 … F). */
  tmqCode?: string;
}

export interface ComtradeRecord {
  cfg: string;
  dat: Uint8Array;
  cff: Uint8Array;
  /** Multiplier a and offset b used per analog channel. */
  scaling: Array<{ a: number; b: number; k: number }>;
}

const CRLF = '\r\n';
const INT16_MAX = 32767;

/** A cfg text field: no commas or line breaks, at most `max` characters. */
function field(s: string, max: number): string {
  return s.replace(/[,\r\n]/g, ' ').slice(0, max);
}

/** A real number for the cfg (shortest round-trip form, no exponent for ordinary magnitudes). */
function real(x: number): string {
  if (Number.isInteger(x)) return x.toString();
  const s = x.toString();
  return s.length <= 32 ? s : x.toPrecision(15);
}

const pad = (n: number, w = 2): string => n.toString().padStart(w, '0');

/** dd/mm/yyyy,hh:mm:ss.ssssss (UTC) of a time in ns since the epoch. */
export function comtradeTime(tNs: bigint): string {
  const ms = tNs / 1_000_000n;
  const d = new Date(Number(ms));
  const us = Number((((tNs % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n) / 1000n);
  return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()},${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(us, 6)}`;
}

/** Quality word not good: validity bits (0–1) other than 00. */
const notGood = (q: number): boolean => (q & 3) !== 0;

export function buildComtrade(input: ComtradeInput): ComtradeRecord {
  const { channels, samples } = input;
  const nA = channels.length;
  const nD = nA;
  if (samples.length === 0) throw new RangeError('no samples to export');
  const startNs = samples[0]!.tNs;
  // Scaling per channel.
  const scaling = channels.map((c, ch) => {
    let maxAbs = 0;
    for (const s of samples) {
      const v = Math.abs(s.values[ch] ?? 0);
      if (v > maxAbs) maxAbs = v;
    }
    const k = input.format === 'binary32' ? 1 : Math.max(1, Math.ceil(maxAbs / INT16_MAX));
    return { a: c.scale * k, b: c.offset ?? 0, k };
  });
  const x = (s: ComtradeSample, ch: number): number => Math.round((s.values[ch] ?? 0) / scaling[ch]!.k);
  const range = channels.map((_c, ch) => {
    let lo = Infinity,
      hi = -Infinity;
    for (const s of samples) {
      const v = x(s, ch);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const lim = input.format === 'binary32' ? 2147483647 : INT16_MAX;
    return { lo: Math.max(lo, -lim), hi: Math.min(hi, lim) };
  });
  // Time stamps in µs from the first sample (timemult 1), never decreasing.
  const stamps = new Array<number>(samples.length);
  let prev = 0;
  for (let n = 0; n < samples.length; n++) {
    let t = Number((samples[n]!.tNs - startNs) / 1000n);
    if (t < prev) t = prev;
    stamps[n] = t;
    prev = t;
  }

  const lines: string[] = [];
  lines.push(`${field(input.station, 64)},${field(input.device, 64)},2013`);
  lines.push(`${nA + nD},${nA}A,${nD}D`);
  channels.forEach((c, ch) => {
    const unit = c.kind === 'current' ? 'A' : 'V';
    const { a, b } = scaling[ch]!;
    // An,ch_id,ph,ccbm,uu,a,b,skew,min,max,primary,secondary,PS — primary values (ratio 1:1).
    lines.push(
      `${ch + 1},${field(c.name, 64)},${field(c.phase, 2)},${field(input.component, 64)},${unit},${real(a)},${real(b)},0,${range[ch]!.lo},${range[ch]!.hi},1,1,P`,
    );
  });
  channels.forEach((c, ch) => {
    // Dn,ch_id,ph,ccbm,y — 1 while the quality is not good; normal state 0.
    lines.push(`${ch + 1},${field(`${c.name} q invalid`, 64)},${field(c.phase, 2)},${field(input.component, 64)},0`);
  });
  lines.push(real(input.nominalHz));
  // A fixed rate only when the samples keep it (within 1 %): injected or deleted frames make the evidence
  // irregular, and then the time stamps are the time base (nrates 0, samp 0).
  const expected = (stamps[stamps.length - 1]! / 1e6) * input.samplesPerSecond + 1;
  const regular = Math.abs(expected - samples.length) <= Math.max(1, samples.length * 0.01);
  lines.push(regular ? '1' : '0');
  lines.push(`${regular ? real(input.samplesPerSecond) : '0'},${samples.length}`);
  lines.push(comtradeTime(startNs));
  lines.push(comtradeTime(input.triggerNs));
  lines.push(input.format === 'ascii' ? 'ASCII' : input.format === 'binary' ? 'BINARY' : 'BINARY32');
  lines.push('1');
  // time_code,local_code: the times are UTC and so is the recorder's local time here.
  lines.push('0,0');
  lines.push(`${input.tmqCode ?? 'F'},0`);
  const cfg = lines.join(CRLF) + CRLF;

  let dat: Uint8Array;
  if (input.format === 'ascii') {
    const out: string[] = [];
    for (let n = 0; n < samples.length; n++) {
      const s = samples[n]!;
      let line = `${n + 1},${stamps[n]}`;
      for (let ch = 0; ch < nA; ch++) line += `,${x(s, ch)}`;
      for (let ch = 0; ch < nD; ch++) line += notGood(s.quality[ch] ?? 0) ? ',1' : ',0';
      out.push(line);
    }
    dat = new TextEncoder().encode(out.join(CRLF) + CRLF);
  } else {
    const words = Math.ceil(nD / 16);
    const w = input.format === 'binary32' ? 4 : 2;
    const rec = 8 + w * nA + 2 * words;
    const b = Buffer.alloc(rec * samples.length);
    for (let n = 0; n < samples.length; n++) {
      const s = samples[n]!;
      let o = n * rec;
      b.writeUInt32LE(n + 1, o);
      b.writeUInt32LE(stamps[n]!, o + 4);
      o += 8;
      if (w === 4) for (let ch = 0; ch < nA; ch++, o += 4) b.writeInt32LE(x(s, ch), o);
      else for (let ch = 0; ch < nA; ch++, o += 2) b.writeInt16LE(x(s, ch), o);
      for (let w = 0; w < words; w++, o += 2) {
        let bits = 0;
        for (let j = 0; j < 16 && w * 16 + j < nD; j++) if (notGood(s.quality[w * 16 + j] ?? 0)) bits |= 1 << j;
        b.writeUInt16LE(bits, o);
      }
    }
    dat = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  return { cfg, dat, cff: buildCff(cfg, dat, input.format), scaling };
}

/** The 2013 single-file format: the cfg, (empty) inf and hdr sections, then the data section. */
export function buildCff(cfg: string, dat: Uint8Array, format: ComtradeFormat): Uint8Array {
  const head =
    `--- file type: CFG ---${CRLF}${cfg}--- file type: INF ---${CRLF}--- file type: HDR ---${CRLF}` +
    (format === 'ascii'
      ? `--- file type: DAT ASCII ---${CRLF}`
      : `--- file type: DAT ${format === 'binary' ? 'BINARY' : 'BINARY32'}: ${dat.length} ---${CRLF}`);
  const h = new TextEncoder().encode(head);
  const out = new Uint8Array(h.length + dat.length);
  out.set(h, 0);
  out.set(dat, h.length);
  return out;
}
