// Host driver of the SM2 crypto chip (docs/chip-protocol.md) on `serialport`: several requests in flight by
// sequence number, per-request timeouts, retries of idempotent commands, detection of a chip reset (BOOT frame,
// changed boot id, or a key slot found empty) followed by re-loading the key slots, and a health state machine.
// A verify answer counts as "valid" only if it is self-consistent ((e + x1') mod n = r ⇔ verdict valid); anything
// else is retried and finally rejected, so a caller counts the frame as unverified, never as verified.
import { SvdeError } from '../../model/errors.ts';
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import { SM2_N, sm2VerifyDigest, type Sm2PublicKey, type Sm2Signature } from '../sm2.ts';
import {
  bigFrom, Cmd, decodeBoot, decodeInfo, decodeSignature, decodeVerifyBatchResult, decodeVerifyResult,
  encodeFrame, encodeLoadKey, encodeVerify, encodeVerifyBatch, FrameParser, MAX_BATCH, RESPONSE_BIT, Status,
  statusName, Verdict, wireSeconds, type ChipInfo, type Frame, type VerifyItem,
} from './protocol.ts';

/** A byte pipe to the chip (a serial port, or anything else that carries the protocol). */
export interface ChipTransport {
  write(bytes: Uint8Array): void;
  onData(cb: (chunk: Uint8Array) => void): void;
  close(): Promise<void>;
  /** Link speed, used to size timeouts; undefined = assume 115200. */
  readonly baudRate?: number;
  /** Called when written bytes stop leaving (the far end reads nothing): the link is dead, not slow. */
  onStall?(cb: (detail: string) => void): void;
}

export interface SerialTransportOptions {
  /** A write that has not completed after this long means the far end is not reading (default 500 ms + wire time). */
  stallMs?: number;
  /** Bytes accepted while a write is stuck; beyond this new writes are dropped (default 16 KiB). */
  maxQueuedBytes?: number;
}

export interface SerialTransportStats {
  written: number;
  dropped: number;
  stalls: number;
  flushed: number;
  /** Bytes handed to the port that have not been written yet (bounded by maxQueuedBytes). */
  queued: number;
}

/**
 * The serial port as a ChipTransport. Writes go out one at a time through our own bounded queue with a
 * watchdog: when the far end stops reading (chip dead behind a live pty/USB bridge), the kernel buffer fills,
 * the bindings' write waits for "writable" forever and serialport's stream would queue every later write
 * without bound, then deliver stale requests when the chip comes back. Instead, a write stuck longer than
 * stallMs is reported (onStall), the port's unsent output is discarded (tcflush), and while it stays stuck
 * new writes are dropped (the driver's timeouts retry or fail those requests).
 */
export async function openSerialTransport(path: string, baudRate = 115200, opts: SerialTransportOptions = {}): Promise<ChipTransport & { readonly stats: SerialTransportStats }> {
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  port.on('error', () => { /* surfaced as timeouts; the driver's health state reports it */ });
  const maxQueued = opts.maxQueuedBytes ?? 16384;
  const stats: SerialTransportStats = { written: 0, dropped: 0, stalls: 0, flushed: 0, queued: 0 };
  const pending: Buffer[] = [];
  let writing: { bytes: number; since: number } | null = null;
  let stalled = false;
  let closed = false;
  const stallCbs: Array<(detail: string) => void> = [];
  const next = (): void => {
    if (writing !== null || pending.length === 0 || closed) return;
    const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    pending.length = 0;
    writing = { bytes: buf.length, since: performance.now() };
    port.write(buf, (err) => {
      const n = writing?.bytes ?? 0;
      writing = null;
      stats.queued -= n;
      if (err) stats.dropped += n; else { stats.written += n; stalled = false; }
      next();
    });
  };
  let lastTick = performance.now();
  const watchdog = setInterval(() => {
    const now = performance.now();
    const lag = now - lastTick - 50;
    lastTick = now;
    if (writing === null || closed) return;
    // Time our own event loop was blocked is not the peer's fault: the write's completion may be waiting behind it.
    if (lag > 50) writing.since += lag;
    const limit = opts.stallMs ?? 500 + wireSeconds(writing.bytes, baudRate) * 1000;
    if (now - writing.since < limit) return;
    if (!stalled) {
      stalled = true;
      stats.stalls++;
      const detail = `${writing.bytes} bytes not written after ${Math.round(performance.now() - writing.since)} ms: the far end is not reading`;
      for (const cb of stallCbs) cb(detail);
    }
    // Discard what the kernel still holds for the dead peer: stale requests must not reach a chip that comes back.
    writing.since = performance.now();
    port.flush(() => { stats.flushed++; });
  }, 50);
  watchdog.unref();
  return {
    baudRate,
    stats,
    write: (b) => {
      if (closed) return;
      if (stalled || stats.queued + b.length > maxQueued) { stats.dropped += b.length; return; }
      stats.queued += b.length;
      pending.push(Buffer.from(b));
      next();
    },
    onData: (cb) => { port.on('data', (d: Buffer) => cb(new Uint8Array(d.buffer, d.byteOffset, d.length))); },
    onStall: (cb) => { stallCbs.push(cb); },
    close: () => new Promise<void>((res) => {
      closed = true;
      clearInterval(watchdog);
      if (!port.isOpen) { res(); return; }
      port.close(() => res());
    }),
  };
}

export type Health = 'ok' | 'degraded' | 'failed';
export type ChipErrorCode = 'timeout' | 'status' | 'inconsistent' | 'failed' | 'closed' | 'protocol';

export class ChipError extends SvdeError {
  readonly code: ChipErrorCode;
  readonly status: number | undefined;
  constructor(code: ChipErrorCode, message: string, status?: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export interface DriverOptions {
  maxInFlight?: number; // requests on the wire at once (default 4)
  timeoutMs?: number; // base timeout per attempt; link and chip time are added (default 150)
  retries?: number; // further attempts of idempotent commands (default 3)
  failAfter?: number; // consecutive requests failing after all retries → failed (default 3)
  recoverAfter?: number; // consecutive clean answers degraded → ok (default 20)
  probeIntervalMs?: number; // INFO probe while failed (default 500)
  interByteMs?: number; // silence after which a partial frame is given up (default 20)
  quarantineMs?: number; // a timed-out seq is not reused for this long (default 2000)
  keepaliveMs?: number; // INFO when idle this long, to notice a silent chip reset early (default 0 = off)
}

export interface DriverStats {
  requests: number;
  attempts: number;
  retries: number;
  timeouts: number;
  stray: number;
  inconsistent: number;
  resets: number;
  stalls: number;
  verifiedValid: number;
  verifiedInvalid: number;
  unverified: number;
}

interface Req<T = unknown> {
  cmd: number;
  payload: Uint8Array;
  idempotent: boolean;
  internal: boolean; // recovery/probe traffic: bypasses the pause and the failed gate
  attempts: number;
  expectReply: number; // bytes, for the timeout
  opMs: number; // expected chip time
  parse: (data: Uint8Array, status: number) => T; // throws ChipError
  resolve: (v: T) => void;
  reject: (e: Error) => void;
  seq: number;
  timer: NodeJS.Timeout | null;
}

const mod = (a: bigint, m: bigint): bigint => { const r = a % m; return r < 0n ? r + m : r; };

export class ChipDriver extends EventEmitter {
  readonly stats: DriverStats = {
    requests: 0, attempts: 0, retries: 0, timeouts: 0, stray: 0, inconsistent: 0, resets: 0, stalls: 0, verifiedValid: 0,
    verifiedInvalid: 0, unverified: 0,
  };
  readonly parser = new FrameParser();
  private readonly t: ChipTransport;
  private readonly o: Required<DriverOptions>;
  private queue: Req[] = [];
  private inflight = new Map<number, Req>();
  private quarantine = new Map<number, number>();
  private nextSeq = 1;
  private lastRx = 0;
  private staleTimer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private keepalive: NodeJS.Timeout | null = null;
  private slots = new Map<number, Sm2PublicKey>();
  private known: ChipInfo | null = null;
  private recovering = false;
  private recoverAgain = false;
  #closed = false;
  /** True once close() was called: every request is refused. */
  get closed(): boolean { return this.#closed; }
  private healthState: Health = 'ok';
  private consecutiveFailures = 0;
  private cleanStreak = 0;

  constructor(transport: ChipTransport, opts: DriverOptions = {}) {
    super();
    this.t = transport;
    this.o = {
      maxInFlight: opts.maxInFlight ?? 4, timeoutMs: opts.timeoutMs ?? 150, retries: opts.retries ?? 3,
      failAfter: opts.failAfter ?? 3, recoverAfter: opts.recoverAfter ?? 20, probeIntervalMs: opts.probeIntervalMs ?? 500,
      interByteMs: opts.interByteMs ?? 20, quarantineMs: opts.quarantineMs ?? 2000, keepaliveMs: opts.keepaliveMs ?? 0,
    };
    transport.onData((c) => this.onData(c));
    transport.onStall?.((detail) => this.onStall(detail));
    if (this.o.keepaliveMs > 0) {
      this.keepalive = setInterval(() => {
        if (this.idle() && this.healthState !== 'failed') this.info().catch(() => { /* counted by the health machine */ });
      }, this.o.keepaliveMs);
      this.keepalive.unref();
    }
  }

  /** Opens a driver and reads INFO (the boot identity later resets are detected against). */
  static async open(transport: ChipTransport, opts: DriverOptions = {}): Promise<ChipDriver> {
    const d = new ChipDriver(transport, opts);
    try { await d.info(); } catch (e) { await d.close(); throw e; }
    return d;
  }

  get health(): Health { return this.healthState; }
  get chipInfo(): ChipInfo | null { return this.known; }
  get loadedSlots(): ReadonlyMap<number, Sm2PublicKey> { return this.slots; }

  // ------------------------------------------------------------------------------------------ commands

  info(): Promise<ChipInfo> { return this.request(this.infoReq(false)); }

  /** Bitmap of passed tests (0x1f = all); rejects with status ERR_SELFTEST and marks the chip failed otherwise. */
  async selftest(): Promise<number> {
    try {
      return await this.request<number>({ cmd: Cmd.SELFTEST, payload: new Uint8Array(0), opMs: 100, expectReply: 2, parse: (d) => d[0] ?? 0 });
    } catch (e) {
      if (e instanceof ChipError && e.status === Status.ERR_SELFTEST) this.setHealth('failed', 'selftest failed');
      throw e;
    }
  }

  /** Loads a public key; the driver remembers it and re-loads it after a chip reset. */
  async loadKey(slot: number, pub: Sm2PublicKey): Promise<void> {
    await this.request(this.loadReq(slot, pub, false));
    this.slots.set(slot, pub);
  }

  async clearKey(slot: number): Promise<void> {
    this.slots.delete(slot);
    await this.request<void>({ cmd: Cmd.CLEAR_KEY, payload: Uint8Array.of(slot), opMs: 1, expectReply: 1, parse: () => undefined });
  }

  /**
   * true = the chip verified the signature, false = it is invalid; rejects (ChipError) when no trustworthy answer
   * was obtained — the caller must count the frame as unverified.
   */
  async verify(slot: number, e: Uint8Array, sig: Sm2Signature): Promise<boolean> {
    if (e.length !== 32) throw new RangeError('e must be 32 bytes');
    if (!plausible(sig)) { this.stats.verifiedInvalid++; return false; } // out-of-range r/s never verify
    try {
      const ok = await this.request<boolean>({
        cmd: Cmd.VERIFY, payload: encodeVerify({ slot, e, r: sig.r, s: sig.s }), opMs: 3, expectReply: 34,
        parse: (d) => { const v = decodeVerifyResult(d); return this.judge(e, sig.r, v.verdict, v.x1); },
        slots: [slot],
      });
      if (ok) this.stats.verifiedValid++; else this.stats.verifiedInvalid++;
      return ok;
    } catch (err) { this.stats.unverified++; throw err; }
  }

  /** Verdicts in order (same meaning as verify()); split into chip-sized batches. */
  async verifyBatch(items: readonly { slot: number; e: Uint8Array; sig: Sm2Signature }[]): Promise<boolean[]> {
    const out = new Array<boolean>(items.length).fill(false);
    const send: number[] = [];
    items.forEach((it, k) => {
      if (it.e.length !== 32) throw new RangeError('e must be 32 bytes');
      if (plausible(it.sig)) send.push(k); else this.stats.verifiedInvalid++;
    });
    const chunks: number[][] = [];
    const max = Math.min(MAX_BATCH, this.known?.maxBatch ?? MAX_BATCH);
    for (let i = 0; i < send.length; i += max) chunks.push(send.slice(i, i + max));
    await Promise.all(chunks.map(async (idx) => {
      const vi: VerifyItem[] = idx.map((k) => { const it = items[k]!; return { slot: it.slot, e: it.e, r: it.sig.r, s: it.sig.s }; });
      try {
        const res = await this.request<boolean[]>({
          cmd: Cmd.VERIFY_BATCH, payload: encodeVerifyBatch(vi), opMs: 3 * vi.length, expectReply: 2 + 34 * vi.length,
          slots: vi.map((v) => v.slot),
          parse: (d) => {
            const rs = decodeVerifyBatchResult(d);
            if (rs.length !== vi.length) throw new ChipError('inconsistent', `batch answer has ${rs.length} results for ${vi.length}`);
            return rs.map((r, j) => {
              if (r.status !== Status.OK) throw new ChipError('status', `batch item ${j}: ${statusName(r.status)}`, r.status);
              return this.judge(vi[j]!.e, vi[j]!.r, r.verdict, r.x1);
            });
          },
        });
        res.forEach((ok, j) => { out[idx[j]!] = ok; if (ok) this.stats.verifiedValid++; else this.stats.verifiedInvalid++; });
      } catch (err) { this.stats.unverified += idx.length; throw err; }
    }));
    return out;
  }

  /** Signs e with the device key; the answer is checked against the device public key from INFO. */
  sign(e: Uint8Array): Promise<Sm2Signature> {
    if (e.length !== 32) throw new RangeError('e must be 32 bytes');
    return this.request<Sm2Signature>({
      cmd: Cmd.SIGN, payload: e, opMs: 3, expectReply: 65,
      parse: (d) => {
        const sig = decodeSignature(d);
        const key = this.known?.deviceKey;
        if (!key || !sm2VerifyDigest(key, bigFrom(e), sig)) throw new ChipError('inconsistent', 'SIGN answer does not verify against the device key');
        return sig;
      },
    });
  }

  random(n: number): Promise<Uint8Array> {
    if (!Number.isInteger(n) || n < 1 || n > 255) throw new RangeError('RANDOM count 1..255');
    return this.request<Uint8Array>({
      cmd: Cmd.RANDOM, payload: Uint8Array.of(n), opMs: 1, expectReply: 1 + n,
      parse: (d) => { if (d.length !== n) throw new ChipError('inconsistent', `RANDOM gave ${d.length} bytes`); return d.slice(); },
    });
  }

  /** Resets the chip; resolves once it has rebooted and the key slots are re-loaded. */
  async reset(): Promise<void> {
    await this.request<void>({ cmd: Cmd.RESET, payload: new Uint8Array(0), opMs: 1, expectReply: 1, idempotent: false, parse: () => undefined });
    await new Promise<void>((res) => {
      const t = setTimeout(() => { this.off('recovered', on); res(); }, 2000);
      const on = (): void => { clearTimeout(t); res(); };
      this.once('recovered', on);
    });
  }

  /** Raw request, for the conformance suite and tests (any command, status returned, not thrown). */
  raw(cmd: number, payload: Uint8Array, opts: { opMs?: number; expectReply?: number } = {}): Promise<{ status: number; data: Uint8Array }> {
    return this.request({
      cmd, payload, opMs: opts.opMs ?? 5, expectReply: opts.expectReply ?? 64, rawStatus: true,
      parse: (d, status) => ({ status, data: d.slice() }),
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const r of [...this.inflight.values(), ...this.queue]) { if (r.timer) clearTimeout(r.timer); r.reject(new ChipError('closed', 'driver closed')); }
    this.inflight.clear(); this.queue = [];
    if (this.staleTimer) clearTimeout(this.staleTimer);
    if (this.probeTimer) clearTimeout(this.probeTimer);
    if (this.keepalive) clearInterval(this.keepalive);
    await this.t.close();
  }

  // ------------------------------------------------------------------------------------------ internals

  private idle(): boolean { return this.queue.length === 0 && this.inflight.size === 0 && !this.recovering; }

  private judge(e: Uint8Array, r: bigint, verdict: number, x1: bigint): boolean {
    if (verdict !== Verdict.VALID && verdict !== Verdict.INVALID) throw new ChipError('inconsistent', `verdict byte ${verdict}`);
    const consistent = mod(bigFrom(e) + x1, SM2_N) === r;
    if (consistent !== (verdict === Verdict.VALID)) throw new ChipError('inconsistent', 'verdict disagrees with x1\'');
    return consistent;
  }

  private infoReq(internal: boolean): ReqSpec<ChipInfo> {
    return {
      cmd: Cmd.INFO, payload: new Uint8Array(0), opMs: 1, expectReply: 89, internal,
      parse: (d) => {
        const info = decodeInfo(d);
        const k = this.known;
        this.known = info;
        if (k && (k.bootId !== info.bootId || k.bootCount !== info.bootCount) && !internal) this.chipReset(`boot id changed (boot ${info.bootCount})`);
        return info;
      },
    };
  }

  private loadReq(slot: number, pub: Sm2PublicKey, internal: boolean): ReqSpec<void> {
    return { cmd: Cmd.LOAD_KEY, payload: encodeLoadKey(slot, pub), opMs: 2, expectReply: 1, internal, parse: () => undefined };
  }

  private request<T>(spec: ReqSpec<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ChipError('closed', 'driver closed'));
    if (this.healthState === 'failed' && !spec.internal) {
      return Promise.reject(new ChipError('failed', 'chip failed; requests are rejected until a probe succeeds'));
    }
    this.stats.requests++;
    return new Promise<T>((resolve, reject) => {
      const req: Req<T> & { slots?: number[]; rawStatus?: boolean } = {
        cmd: spec.cmd, payload: spec.payload, idempotent: spec.idempotent ?? true, internal: spec.internal ?? false,
        attempts: 0, expectReply: spec.expectReply, opMs: spec.opMs, parse: spec.parse, resolve, reject, seq: 0, timer: null,
        ...(spec.slots ? { slots: spec.slots } : {}), ...(spec.rawStatus ? { rawStatus: true } : {}),
      };
      if (req.internal) this.queue.unshift(req as Req); else this.queue.push(req as Req);
      this.pump();
    });
  }

  private allocSeq(): number | null {
    const now = performance.now();
    for (let i = 0; i < 255; i++) {
      const s = this.nextSeq;
      this.nextSeq = this.nextSeq === 255 ? 1 : this.nextSeq + 1;
      const q = this.quarantine.get(s);
      if (q !== undefined && q > now) continue;
      if (q !== undefined) this.quarantine.delete(s);
      if (!this.inflight.has(s)) return s;
    }
    return null;
  }

  private pump(): void {
    if (this.#closed) return;
    while (this.inflight.size < this.o.maxInFlight) {
      // While re-loading after a reset only recovery traffic goes out: other requests would meet empty slots.
      const k = this.recovering ? this.queue.findIndex((r) => r.internal) : 0;
      if (k < 0 || k >= this.queue.length) return;
      const seq = this.allocSeq();
      if (seq === null) { setTimeout(() => this.pump(), 50); return; }
      const req = this.queue.splice(k, 1)[0]!;
      req.seq = seq;
      req.attempts++;
      this.stats.attempts++;
      this.inflight.set(seq, req);
      const bytes = encodeFrame({ seq, cmd: req.cmd, payload: req.payload });
      const baud = this.t.baudRate ?? 115200;
      const perReq = wireSeconds(bytes.length + req.expectReply + 8, baud) * 1000 + req.opMs;
      req.timer = setTimeout(() => this.onTimeout(req), this.o.timeoutMs + perReq * this.o.maxInFlight);
      this.t.write(bytes);
    }
  }

  private onData(chunk: Uint8Array): void {
    this.lastRx = performance.now();
    const before = this.parser.stats.crcErrors + this.parser.stats.headerErrors;
    const frames = this.parser.push(chunk);
    if (this.parser.stats.crcErrors + this.parser.stats.headerErrors > before) this.fault('crc', 'frame with a bad CRC or header');
    for (const f of frames) this.onFrame(f);
    if (this.parser.pending > 0 && !this.staleTimer) this.armStale();
  }

  /** The transport cannot get bytes out: what is on the wire is lost; fail fast instead of waiting on each timeout. */
  private onStall(detail: string): void {
    if (this.#closed) return;
    this.stats.stalls++;
    this.fault('stall', detail);
    for (const r of [...this.inflight.values()]) {
      this.finishAttempt(r);
      this.quarantine.set(r.seq, performance.now() + this.o.quarantineMs);
      this.retry(r, new ChipError('timeout', `link stalled: ${detail}`));
    }
  }

  private armStale(): void {
    this.staleTimer = setTimeout(() => {
      this.staleTimer = null;
      if (this.parser.pending === 0 || this.#closed) return;
      if (performance.now() - this.lastRx >= this.o.interByteMs) {
        this.fault('partial', 'partial frame given up');
        for (const f of this.parser.dropPartial()) this.onFrame(f);
      }
      if (this.parser.pending > 0) this.armStale();
    }, this.o.interByteMs);
  }

  private onFrame(f: Frame): void {
    if (f.cmd === Cmd.BOOT) {
      if (this.known === null && this.slots.size === 0) return; // power-up notice before we knew the chip: nothing lost
      let boot = '';
      try { const b = decodeBoot(f.payload); boot = ` (boot ${b.bootCount})`; } catch { /* malformed BOOT: still a reset */ }
      this.chipReset(`BOOT frame${boot}`);
      return;
    }
    const req = this.inflight.get(f.seq) as (Req & { slots?: number[]; rawStatus?: boolean }) | undefined;
    if (!req) { this.stats.stray++; this.fault('stray', `answer with unknown seq ${f.seq}`); return; }
    if (f.cmd !== (req.cmd | RESPONSE_BIT)) {
      this.stats.stray++;
      this.finishAttempt(req);
      this.fault('stray', `seq ${f.seq} answered with cmd 0x${f.cmd.toString(16)}`);
      this.retry(req, new ChipError('protocol', 'answer to a different command'));
      return;
    }
    this.finishAttempt(req);
    const status = f.payload[0];
    const data = f.payload.subarray(1);
    if (status === undefined) { this.fault('protocol', 'empty answer'); this.retry(req, new ChipError('protocol', 'empty answer')); return; }
    let slotEmpty = status === Status.ERR_SLOT_EMPTY;
    if (req.cmd === Cmd.VERIFY_BATCH && status === Status.OK) {
      try { slotEmpty = decodeVerifyBatchResult(data).some((r) => r.status === Status.ERR_SLOT_EMPTY); } catch { /* parse reports it */ }
    }
    if (slotEmpty && req.slots?.some((s) => this.slots.has(s))) {
      // The chip lost a key we loaded: it was reset without us seeing the BOOT frame.
      this.queue.unshift(req);
      this.chipReset('key slot found empty');
      return;
    }
    if (status === Status.ERR_BUSY) { this.retry(req, new ChipError('status', 'busy', status)); return; }
    if (status !== Status.OK && !req.rawStatus) {
      this.succeeded(); // a definite answer: the link works
      req.reject(new ChipError('status', statusName(status), status));
      this.pump();
      return;
    }
    let value: unknown;
    try { value = req.parse(data, status); } catch (e) {
      if (e instanceof ChipError && e.code === 'status') { this.succeeded(); req.reject(e); this.pump(); return; }
      this.stats.inconsistent++;
      this.fault('inconsistent', (e as Error).message);
      this.retry(req, e instanceof ChipError ? e : new ChipError('protocol', (e as Error).message));
      return;
    }
    this.succeeded();
    req.resolve(value);
    this.pump();
  }

  private finishAttempt(req: Req): void {
    if (req.timer) clearTimeout(req.timer);
    req.timer = null;
    this.inflight.delete(req.seq);
  }

  private onTimeout(req: Req): void {
    if (this.inflight.get(req.seq) !== req) return;
    this.finishAttempt(req);
    this.quarantine.set(req.seq, performance.now() + this.o.quarantineMs);
    this.stats.timeouts++;
    this.fault('timeout', `seq ${req.seq} cmd 0x${req.cmd.toString(16)} timed out`);
    if (this.parser.pending > 0 && performance.now() - this.lastRx >= this.o.interByteMs) {
      for (const f of this.parser.dropPartial()) this.onFrame(f);
    }
    this.retry(req, new ChipError('timeout', `no answer after ${req.attempts} attempt(s)`));
  }

  private retry(req: Req, err: ChipError): void {
    if (this.#closed) { req.reject(new ChipError('closed', 'driver closed')); return; }
    if (req.idempotent && req.attempts <= this.o.retries && (this.healthState !== 'failed' || req.internal)) {
      this.stats.retries++;
      this.queue.unshift(req);
    } else {
      req.reject(err);
      if (!req.internal) {
        this.consecutiveFailures++;
        if (this.consecutiveFailures >= this.o.failAfter) this.setHealth('failed', `${this.consecutiveFailures} requests failed in a row (${err.message})`);
      }
    }
    this.pump();
  }

  private succeeded(): void {
    this.consecutiveFailures = 0;
    this.cleanStreak++;
    if (this.healthState === 'degraded' && this.cleanStreak >= this.o.recoverAfter && !this.recovering) this.setHealth('ok', `${this.cleanStreak} clean answers`);
  }

  private fault(kind: string, detail: string): void {
    this.cleanStreak = 0;
    this.emit('fault', { kind, detail });
    if (this.healthState === 'ok') this.setHealth('degraded', `${kind}: ${detail}`);
  }

  private setHealth(state: Health, reason: string): void {
    if (state === this.healthState) return;
    const previous = this.healthState;
    this.healthState = state;
    this.emit('health', { state, previous, reason });
    if (state === 'failed') {
      for (const r of this.queue.filter((q) => !q.internal)) r.reject(new ChipError('failed', `chip failed: ${reason}`));
      this.queue = this.queue.filter((q) => q.internal);
      this.scheduleProbe();
    }
  }

  private scheduleProbe(): void {
    if (this.probeTimer || this.#closed) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      if (this.healthState !== 'failed' || this.#closed) return;
      this.request(this.infoReq(true)).then(
        () => { this.consecutiveFailures = 0; this.setHealth('degraded', 'probe answered'); this.chipReset('recovering from failed'); },
        () => this.scheduleProbe(),
      );
    }, this.o.probeIntervalMs);
  }

  /** The chip lost its volatile state: hold normal traffic, re-read INFO, re-load every slot, resume. */
  private chipReset(reason: string): void {
    this.stats.resets++;
    this.fault('reset', reason);
    this.emit('reset', { reason });
    // Requests on the wire were lost with the chip's state: send them again after the reload.
    for (const r of this.inflight.values()) {
      if (r.timer) clearTimeout(r.timer);
      r.timer = null;
      this.quarantine.set(r.seq, performance.now() + this.o.quarantineMs);
      this.queue.unshift(r);
    }
    this.inflight.clear();
    if (this.recovering) { this.recoverAgain = true; this.pump(); return; }
    this.recovering = true;
    void (async () => {
      do {
        this.recoverAgain = false;
        try {
          await this.request(this.infoReq(true));
          await Promise.all([...this.slots].map(([slot, pub]) => this.request(this.loadReq(slot, pub, true))));
        } catch (e) {
          if (this.#closed) return;
          this.setHealth('failed', `recovery after reset failed: ${(e as Error).message}`);
          return;
        }
      } while (this.recoverAgain && !this.#closed);
    })().finally(() => {
      this.recovering = false;
      if (!this.#closed) { this.emit('recovered', { bootCount: this.known?.bootCount }); this.pump(); }
    });
  }
}

interface ReqSpec<T> {
  cmd: number;
  payload: Uint8Array;
  opMs: number;
  expectReply: number;
  parse: (data: Uint8Array, status: number) => T;
  idempotent?: boolean;
  internal?: boolean;
  slots?: number[];
  rawStatus?: boolean;
}

function plausible(sig: Sm2Signature): boolean {
  return sig.r >= 1n && sig.r < SM2_N && sig.s >= 1n && sig.s < SM2_N && mod(sig.r + sig.s, SM2_N) !== 0n;
}

