// Emulator of the SM2 crypto chip: speaks docs/chip-protocol.md, keeps the device private key in a file only
// it reads (mode 0600), paces its link at the configured baud, models per-operation latency of a single-core
// chip, and injects faults (dropped bytes, bad CRC, garbage, stalls, resets, wrong answers) for the tests.
// Transport-agnostic: feed received bytes to receive(), it calls write() with paced output.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { sm3 } from '../../src/crypto/sm3.ts';
import { publicKeyOf, SM2_N, Sm2Point, sm2SignDigest, type Sm2PublicKey } from '../../src/crypto/sm2.ts';
import {
  bigFrom,
  bigTo32,
  Cmd,
  decodeLoadKey,
  decodeVerify,
  decodeVerifyBatch,
  encodeBoot,
  encodeFrame,
  encodeInfo,
  encodeSignature,
  encodeVerifyBatchResult,
  encodeVerifyResult,
  FrameParser,
  InfoFlag,
  MAX_BATCH,
  MAX_PAYLOAD,
  PROTOCOL_VERSION,
  ProtocolError,
  RESPONSE_BIT,
  responsePayload,
  SEQ_UNSOLICITED,
  SLOT_COUNT,
  Status,
  Verdict,
  wireSeconds,
  type Frame,
  type VerifyItem,
  type VerifyResult,
} from '../../src/crypto/chip/protocol.ts';

/** Per-operation latency in milliseconds (assumed SSM0901-class figures; docs/chip-protocol.md §Timing). */
export interface Latency {
  info: number;
  selftest: number;
  loadKey: number;
  verify: number;
  sign: number;
  random: number;
  boot: number;
}
export const DEFAULT_LATENCY: Latency = { info: 0.05, selftest: 25, loadKey: 0.4, verify: 1.5, sign: 0.9, random: 0.1, boot: 60 };

/** Probabilities per frame (per byte for drop) and the stall length; all 0 by default. */
export interface Faults {
  dropRate: number; // each byte, both directions
  corruptRate: number; // reply gets a flipped bit (CRC then fails)
  garbageRate: number; // random bytes before a reply
  stallRate: number; // chip freezes stallMs before answering
  stallMs: number;
  resetRate: number; // chip resets instead of answering
  wrongRate: number; // a wrong answer with a good CRC (flipped verdict, bad signature, wrong seq)
}
export const NO_FAULTS: Faults = { dropRate: 0, corruptRate: 0, garbageRate: 0, stallRate: 0, stallMs: 300, resetRate: 0, wrongRate: 0 };
/**
 * One-shot faults for the next request: drop (one byte of the answer lost), corrupt (a bit flipped), garbage
 * (random bytes before the answer), stall (answer stallMs late), reset (reset instead of answering, BOOT sent),
 * quiet-reset (the same, BOOT frame lost), wrong (flipped verdict / bad signature / wrong seq), silent (no answer).
 */
export type OneShot = 'drop' | 'corrupt' | 'garbage' | 'stall' | 'reset' | 'quiet-reset' | 'wrong' | 'silent';
export const ONE_SHOTS: readonly OneShot[] = ['drop', 'corrupt', 'garbage', 'stall', 'reset', 'quiet-reset', 'wrong', 'silent'];

export interface EmulatorOptions {
  keyFile: string;
  baud?: number;
  latency?: Partial<Latency>;
  faults?: Partial<Faults>;
  seed?: number;
  testControl?: boolean;
}

export interface EmulatorStats {
  requests: number;
  replies: number;
  resets: number;
  injected: Record<OneShot, number>;
  rxDropped: number;
  txDropped: number;
  parser: FrameParser['stats'];
}

interface Slot {
  pub: Sm2PublicKey;
  point: InstanceType<typeof Sm2Point>;
}

/** Loads the device key, creating it (0600, exclusive) if absent; refuses a file others may read. */
export function loadOrCreateDeviceKey(path: string): bigint {
  if (!existsSync(path)) {
    let d = 0n;
    while (d < 1n || d > SM2_N - 2n) d = bigFrom(randomBytes(32));
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, `${d.toString(16).padStart(64, '0')}\n`);
    } finally {
      closeSync(fd);
    }
    return d;
  }
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0)
    throw new Error(`device key file ${path} is accessible to group/others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid())
    throw new Error(`device key file ${path} is not owned by this user`);
  const text = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new Error(`device key file ${path} is not 64 hex digits`);
  const d = BigInt(`0x${text}`);
  if (d < 1n || d > SM2_N - 2n) throw new Error('device key out of range');
  return d;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

export class ChipEmulator {
  baud: number;
  latency: Latency;
  faults: Faults;
  readonly testControl: boolean;
  private readonly d: bigint;
  private readonly devPub: Sm2PublicKey;
  private readonly serial: Uint8Array;
  private rand: () => number;
  private slots: (Slot | null)[] = new Array<Slot | null>(SLOT_COUNT).fill(null);
  private bootCount = 0;
  private bootId = 0;
  private bootDoneAt = 0;
  private parser = new FrameParser();
  private once: OneShot[] = [];
  // Timelines in ms (performance.now): link in each direction and the chip's single core.
  private rxFreeAt = 0;
  private chipFreeAt = 0;
  private txFreeAt = 0;
  private outQ: { at: number; bytes: Uint8Array }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private restoreTimer: NodeJS.Timeout | null = null;
  readonly stats: EmulatorStats;

  private readonly write: (bytes: Uint8Array) => void;

  constructor(write: (bytes: Uint8Array) => void, opts: EmulatorOptions) {
    this.write = write;
    this.baud = opts.baud ?? 115200;
    this.latency = { ...DEFAULT_LATENCY, ...opts.latency };
    this.faults = { ...NO_FAULTS, ...opts.faults };
    this.testControl = opts.testControl ?? false;
    this.rand = mulberry32(opts.seed ?? randomBytes(4).readUInt32BE(0));
    this.d = loadOrCreateDeviceKey(opts.keyFile);
    this.devPub = publicKeyOf(this.d);
    this.serial = sm3(bigTo32(this.devPub.x)).slice(0, 8);
    this.stats = {
      requests: 0,
      replies: 0,
      resets: 0,
      rxDropped: 0,
      txDropped: 0,
      parser: this.parser.stats,
      injected: { drop: 0, corrupt: 0, garbage: 0, stall: 0, reset: 0, 'quiet-reset': 0, wrong: 0, silent: 0 },
    };
    this.boot(this.now());
  }

  get devicePublicKey(): Sm2PublicKey {
    return this.devPub;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.restoreTimer) clearTimeout(this.restoreTimer);
    this.timer = null;
    this.outQ = [];
  }

  private now(): number {
    return performance.now();
  }
  private wireMs(bytes: number): number {
    return wireSeconds(bytes, this.baud) * 1000;
  }
  private lat(ms: number): number {
    return ms;
  }

  private boot(at: number, announce = true): void {
    this.slots.fill(null);
    this.bootCount++;
    this.bootId = randomBytes(4).readUInt32BE(0);
    this.parser.reset();
    this.bootDoneAt = at + this.lat(this.latency.boot);
    this.chipFreeAt = this.bootDoneAt;
    if (announce)
      this.send(this.bootDoneAt, { seq: SEQ_UNSOLICITED, cmd: Cmd.BOOT, payload: encodeBoot(this.bootCount, this.bootId) }, false);
  }

  receive(chunk: Uint8Array): void {
    if (this.closed) return;
    const now = this.now();
    let data = chunk;
    if (this.faults.dropRate > 0) {
      const kept: number[] = [];
      for (const b of chunk) {
        if (this.rand() < this.faults.dropRate) this.stats.rxDropped++;
        else kept.push(b);
      }
      data = Uint8Array.from(kept);
    }
    this.rxFreeAt = Math.max(this.rxFreeAt, now) + this.wireMs(chunk.length);
    for (const f of this.parser.push(data)) this.handle(f, this.rxFreeAt);
  }

  private pickFault(cmd: number): OneShot | null {
    if (cmd === Cmd.TEST_CONTROL) return null;
    const o = this.once.shift();
    if (o) return o;
    const f = this.faults;
    const r = this.rand;
    if (f.resetRate > 0 && r() < f.resetRate) return 'reset';
    if (f.stallRate > 0 && r() < f.stallRate) return 'stall';
    if (f.wrongRate > 0 && r() < f.wrongRate) return 'wrong';
    if (f.corruptRate > 0 && r() < f.corruptRate) return 'corrupt';
    if (f.garbageRate > 0 && r() < f.garbageRate) return 'garbage';
    return null;
  }

  private handle(f: Frame, arrivedAt: number): void {
    if (f.cmd & RESPONSE_BIT) return; // our own echo or a confused host: chips ignore responses
    const start = Math.max(arrivedAt, this.chipFreeAt);
    if (start < this.bootDoneAt) return; // still booting: the UART is not serviced
    this.stats.requests++;
    const fault = this.pickFault(f.cmd);
    if (fault) this.stats.injected[fault]++;
    if (fault === 'reset' || fault === 'quiet-reset') {
      this.stats.resets++;
      this.boot(start, fault === 'reset');
      return;
    }
    if (fault === 'silent') {
      this.chipFreeAt = start;
      return;
    }
    let status: number = Status.OK;
    let data: Uint8Array = new Uint8Array(0);
    let opMs = this.latency.info;
    let after: (() => void) | null = null;
    let wrongDone = false;
    try {
      switch (f.cmd) {
        case Cmd.INFO: {
          if (f.payload.length !== 0) throw new ProtocolError('INFO takes no payload');
          data = encodeInfo({
            protocolVersion: PROTOCOL_VERSION,
            firmwareVersion: 0x0100,
            bootCount: this.bootCount,
            bootId: this.bootId,
            slots: SLOT_COUNT,
            maxBatch: MAX_BATCH,
            maxPayload: MAX_PAYLOAD,
            serial: this.serial,
            deviceKey: this.devPub,
            flags: InfoFlag.EMULATOR | (this.testControl ? InfoFlag.TEST_CONTROL : 0),
          });
          break;
        }
        case Cmd.SELFTEST: {
          opMs = this.latency.selftest;
          const bits = this.selftest();
          data = Uint8Array.of(bits);
          if (bits !== 0x1f) status = Status.ERR_SELFTEST;
          break;
        }
        case Cmd.LOAD_KEY: {
          opMs = this.latency.loadKey;
          const { slot, key } = decodeLoadKey(f.payload);
          if (slot >= SLOT_COUNT) {
            status = Status.ERR_BAD_SLOT;
            break;
          }
          let point: InstanceType<typeof Sm2Point>;
          try {
            point = Sm2Point.fromAffine({ x: key.x, y: key.y });
            point.assertValidity();
          } catch {
            status = Status.ERR_BAD_KEY;
            break;
          }
          point.precompute(4, false);
          this.slots[slot] = { pub: key, point };
          break;
        }
        case Cmd.CLEAR_KEY: {
          opMs = this.latency.loadKey;
          if (f.payload.length !== 1) throw new ProtocolError('CLEAR_KEY takes a slot');
          const slot = f.payload[0]!;
          if (slot >= SLOT_COUNT) {
            status = Status.ERR_BAD_SLOT;
            break;
          }
          this.slots[slot] = null;
          break;
        }
        case Cmd.VERIFY: {
          opMs = this.latency.verify;
          const res = this.verifyOne(decodeVerify(f.payload));
          status = res.status;
          if (status === Status.OK) {
            let verdict = res.verdict;
            if (fault === 'wrong') {
              verdict ^= 1;
              wrongDone = true;
            }
            data = encodeVerifyResult({ verdict, x1: res.x1 });
          }
          break;
        }
        case Cmd.VERIFY_BATCH: {
          const items = decodeVerifyBatch(f.payload);
          opMs = this.latency.verify * items.length;
          const rs: VerifyResult[] = items.map((it) => this.verifyOne(it));
          if (fault === 'wrong') {
            const k = Math.floor(this.rand() * rs.length);
            const r0 = rs[k]!;
            rs[k] = { ...r0, verdict: r0.verdict ^ 1 };
            wrongDone = true;
          }
          data = encodeVerifyBatchResult(rs);
          break;
        }
        case Cmd.SIGN: {
          opMs = this.latency.sign;
          if (f.payload.length !== 32) throw new ProtocolError('SIGN takes e (32 bytes)');
          const sig = sm2SignDigest(this.d, bigFrom(f.payload));
          const s = fault === 'wrong' ? mod(sig.s + 1n, SM2_N) : sig.s;
          wrongDone = fault === 'wrong';
          data = encodeSignature(sig.r, s);
          break;
        }
        case Cmd.RANDOM: {
          if (f.payload.length !== 1 || f.payload[0] === 0) throw new ProtocolError('RANDOM takes a count 1..255');
          opMs = this.latency.random;
          data = new Uint8Array(randomBytes(f.payload[0]!));
          break;
        }
        case Cmd.RESET: {
          if (f.payload.length !== 0) throw new ProtocolError('RESET takes no payload');
          after = () => {
            this.stats.resets++;
            this.boot(this.chipFreeAt);
          };
          break;
        }
        case Cmd.TEST_CONTROL: {
          if (!this.testControl) {
            status = Status.ERR_DENIED;
            break;
          }
          data = new TextEncoder().encode(JSON.stringify(this.control(JSON.parse(new TextDecoder().decode(f.payload)) as ControlRequest)));
          break;
        }
        default:
          status = Status.ERR_UNKNOWN_CMD;
      }
    } catch (e) {
      status = e instanceof ProtocolError || e instanceof SyntaxError ? Status.ERR_BAD_LENGTH : Status.ERR_INTERNAL;
      data = new Uint8Array(0);
    }
    let done = start + this.lat(opMs);
    if (fault === 'stall') done += this.faults.stallMs;
    this.chipFreeAt = done;
    let seq = f.seq;
    if (fault === 'wrong' && !wrongDone) seq = (seq + 1) & 0xff || 1; // an answer attributed to another request
    this.send(done, { seq, cmd: f.cmd | RESPONSE_BIT, payload: responsePayload(status, data) }, f.cmd !== Cmd.TEST_CONTROL, fault);
    this.stats.replies++;
    after?.();
  }

  private verifyOne(it: VerifyItem): VerifyResult {
    if (it.slot >= SLOT_COUNT) return { status: Status.ERR_BAD_SLOT, verdict: Verdict.INVALID, x1: 0n };
    const slot = this.slots[it.slot];
    if (!slot) return { status: Status.ERR_SLOT_EMPTY, verdict: Verdict.INVALID, x1: 0n };
    const { r, s } = it;
    if (r < 1n || r >= SM2_N || s < 1n || s >= SM2_N) return { status: Status.OK, verdict: Verdict.INVALID, x1: 0n };
    const t = mod(r + s, SM2_N);
    if (t === 0n) return { status: Status.OK, verdict: Verdict.INVALID, x1: 0n };
    // Public inputs only, so the faster variable-time multiplication is fine here.
    const pt = Sm2Point.BASE.multiplyUnsafe(s).add(slot.point.multiplyUnsafe(t));
    if (pt.equals(Sm2Point.ZERO)) return { status: Status.OK, verdict: Verdict.INVALID, x1: 0n };
    const x1 = pt.toAffine().x;
    return { status: Status.OK, verdict: mod(bigFrom(it.e) + x1, SM2_N) === r ? Verdict.VALID : Verdict.INVALID, x1 };
  }

  private selftest(): number {
    let bits = 0;
    // SM3 known answer ("abc", GB/T 32905 example).
    const abc = Buffer.from(sm3(Uint8Array.of(0x61, 0x62, 0x63))).toString('hex');
    if (abc === '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0') bits |= 1;
    // SM2 verify known answer (GM/T 0003.5 Annex A, default ID) and its negative.
    const pub = {
      x: 0x09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020n,
      y: 0xccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13n,
    };
    const e = bigTo32(0xf0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640n);
    const r = 0xf5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3n;
    const s = 0xb1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aan;
    const saved = this.slots[0] ?? null;
    this.slots[0] = { pub, point: Sm2Point.fromAffine(pub) };
    const good = this.verifyOne({ slot: 0, e, r, s });
    const bad = this.verifyOne({ slot: 0, e, r, s: s ^ 1n });
    this.slots[0] = saved;
    if (good.verdict === Verdict.VALID && bad.verdict === Verdict.INVALID) bits |= 2;
    // Sign with the device key and verify it.
    const e2 = sm3(Uint8Array.of(1, 2, 3));
    const sig = sm2SignDigest(this.d, bigFrom(e2));
    const P = Sm2Point.fromAffine(this.devPub);
    const x1 = Sm2Point.BASE.multiply(sig.s)
      .add(P.multiply(mod(sig.r + sig.s, SM2_N)))
      .toAffine().x;
    if (mod(bigFrom(e2) + x1, SM2_N) === sig.r) bits |= 4;
    const a = randomBytes(16);
    const b = randomBytes(16);
    if (!a.equals(b)) bits |= 8;
    if (this.slots.length === SLOT_COUNT) bits |= 16;
    return bits;
  }

  private control(req: ControlRequest): ControlReply {
    if (req.clear) {
      this.faults = { ...NO_FAULTS };
      this.once = [];
    }
    if (req.faults) {
      const before = this.faults;
      this.faults = { ...this.faults, ...req.faults };
      // Timed faults restore themselves: with dropRate 1 the harness could not reach us to undo them.
      if (req.forMs) {
        if (this.restoreTimer) clearTimeout(this.restoreTimer);
        this.restoreTimer = setTimeout(() => {
          this.faults = before;
        }, req.forMs);
      }
    }
    if (req.once) for (const o of req.once) if (ONE_SHOTS.includes(o)) this.once.push(o);
    if (req.latency) this.latency = { ...this.latency, ...req.latency };
    if (req.baud) this.baud = req.baud;
    if (req.seed !== undefined) this.rand = mulberry32(req.seed);
    return { faults: this.faults, latency: this.latency, baud: this.baud, pendingOnce: [...this.once], stats: this.stats };
  }

  /** Queues a frame for the line at `at` (ms), applying reply faults. */
  private send(at: number, f: Frame, faultable: boolean, fault: OneShot | null = null): void {
    let bytes = encodeFrame(f);
    if (faultable) {
      if (fault === 'corrupt') {
        const i = Math.floor(this.rand() * bytes.length);
        bytes[i]! ^= 1 << Math.floor(this.rand() * 8);
      }
      if (fault === 'drop' || this.faults.dropRate > 0) {
        const kept: number[] = [];
        const forced = fault === 'drop' ? Math.floor(this.rand() * bytes.length) : -1;
        bytes.forEach((b, i) => {
          if (i !== forced && !(this.faults.dropRate > 0 && this.rand() < this.faults.dropRate)) kept.push(b);
          else this.stats.txDropped++;
        });
        bytes = Uint8Array.from(kept);
      }
      if (fault === 'garbage') {
        const g = new Uint8Array(randomBytes(1 + Math.floor(this.rand() * 40)));
        const both = new Uint8Array(g.length + bytes.length);
        both.set(g);
        both.set(bytes, g.length);
        bytes = both;
      }
    }
    const startTx = Math.max(at, this.txFreeAt);
    this.txFreeAt = startTx + this.wireMs(bytes.length);
    this.outQ.push({ at: this.txFreeAt, bytes });
    this.pump();
  }

  private pump(): void {
    if (this.closed) return;
    const now = this.now();
    let k = 0;
    while (k < this.outQ.length && this.outQ[k]!.at <= now + 0.25) k++;
    if (k > 0) {
      const due = this.outQ.splice(0, k);
      const total = due.reduce((n, x) => n + x.bytes.length, 0);
      const buf = new Uint8Array(total);
      let o = 0;
      for (const x of due) {
        buf.set(x.bytes, o);
        o += x.bytes.length;
      }
      this.write(buf);
    }
    if (this.outQ.length > 0 && !this.timer) {
      const wait = Math.max(0, this.outQ[0]!.at - this.now());
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, wait);
    }
  }
}

export interface ControlRequest {
  clear?: boolean;
  faults?: Partial<Faults>;
  /** Restore the previous faults after this long. */
  forMs?: number;
  once?: OneShot[];
  latency?: Partial<Latency>;
  baud?: number;
  seed?: number;
}
export interface ControlReply {
  faults: Faults;
  latency: Latency;
  baud: number;
  pendingOnce: OneShot[];
  stats: EmulatorStats;
}
