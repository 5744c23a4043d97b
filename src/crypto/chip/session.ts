// The request engine of the chip protocol over a ChipTransport: several requests in flight by sequence number,
// per-request timeouts, retries of idempotent commands, detection of a chip reset (BOOT frame, changed boot id,
// or a key slot found empty) followed by re-loading the key slots, and a health state machine. The commands
// themselves are ChipDriver's (driver.ts).
import { EventEmitter } from 'node:events';
import type { Sm2PublicKey } from '../sm2.ts';
import {
  Cmd,
  decodeBoot,
  decodeInfo,
  decodeVerifyBatchResult,
  encodeFrame,
  encodeLoadKey,
  FrameParser,
  RESPONSE_BIT,
  Status,
  statusName,
  wireSeconds,
  type ChipInfo,
  type Frame,
} from './protocol.ts';
import { ChipError, type ChipTransport, type DriverOptions, type DriverStats, type Health } from './types.ts';

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

export interface ReqSpec<T> {
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

/** The protocol session without its commands: ChipDriver adds them. */
export class ChipSession extends EventEmitter {
  readonly stats: DriverStats = {
    requests: 0,
    attempts: 0,
    retries: 0,
    timeouts: 0,
    stray: 0,
    inconsistent: 0,
    resets: 0,
    stalls: 0,
    verifiedValid: 0,
    verifiedInvalid: 0,
    unverified: 0,
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
  protected readonly slots = new Map<number, Sm2PublicKey>();
  protected known: ChipInfo | null = null;
  private recovering = false;
  private recoverAgain = false;
  #closed = false;
  /** True once close() was called: every request is refused. */
  get closed(): boolean {
    return this.#closed;
  }
  private healthState: Health = 'ok';
  private consecutiveFailures = 0;
  private cleanStreak = 0;

  constructor(transport: ChipTransport, opts: DriverOptions = {}) {
    super();
    this.t = transport;
    this.o = {
      maxInFlight: opts.maxInFlight ?? 4,
      timeoutMs: opts.timeoutMs ?? 150,
      retries: opts.retries ?? 3,
      failAfter: opts.failAfter ?? 3,
      recoverAfter: opts.recoverAfter ?? 20,
      probeIntervalMs: opts.probeIntervalMs ?? 500,
      interByteMs: opts.interByteMs ?? 20,
      quarantineMs: opts.quarantineMs ?? 2000,
      keepaliveMs: opts.keepaliveMs ?? 0,
    };
    transport.onData((c) => this.onData(c));
    transport.onStall?.((detail) => this.onStall(detail));
    if (this.o.keepaliveMs > 0) {
      this.keepalive = setInterval(() => {
        if (this.idle() && this.healthState !== 'failed')
          this.request(this.infoReq(false)).catch(() => {
            /* counted by the health machine */
          });
      }, this.o.keepaliveMs);
      this.keepalive.unref();
    }
  }

  get health(): Health {
    return this.healthState;
  }
  get chipInfo(): ChipInfo | null {
    return this.known;
  }
  get loadedSlots(): ReadonlyMap<number, Sm2PublicKey> {
    return this.slots;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const r of [...this.inflight.values(), ...this.queue]) {
      if (r.timer) clearTimeout(r.timer);
      r.reject(new ChipError('closed', 'driver closed'));
    }
    this.inflight.clear();
    this.queue = [];
    if (this.staleTimer) clearTimeout(this.staleTimer);
    if (this.probeTimer) clearTimeout(this.probeTimer);
    if (this.keepalive) clearInterval(this.keepalive);
    await this.t.close();
  }

  // ------------------------------------------------------------------------------------------ internals

  private idle(): boolean {
    return this.queue.length === 0 && this.inflight.size === 0 && !this.recovering;
  }

  protected infoReq(internal: boolean): ReqSpec<ChipInfo> {
    return {
      cmd: Cmd.INFO,
      payload: new Uint8Array(0),
      opMs: 1,
      expectReply: 89,
      internal,
      parse: (d) => {
        const info = decodeInfo(d);
        const k = this.known;
        this.known = info;
        if (k && (k.bootId !== info.bootId || k.bootCount !== info.bootCount) && !internal)
          this.chipReset(`boot id changed (boot ${info.bootCount})`);
        return info;
      },
    };
  }

  protected loadReq(slot: number, pub: Sm2PublicKey, internal: boolean): ReqSpec<void> {
    return { cmd: Cmd.LOAD_KEY, payload: encodeLoadKey(slot, pub), opMs: 2, expectReply: 1, internal, parse: () => undefined };
  }

  protected request<T>(spec: ReqSpec<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ChipError('closed', 'driver closed'));
    if (this.healthState === 'failed' && !spec.internal) {
      return Promise.reject(new ChipError('failed', 'chip failed; requests are rejected until a probe succeeds'));
    }
    this.stats.requests++;
    return new Promise<T>((resolve, reject) => {
      const req: Req<T> & { slots?: number[]; rawStatus?: boolean } = {
        cmd: spec.cmd,
        payload: spec.payload,
        idempotent: spec.idempotent ?? true,
        internal: spec.internal ?? false,
        attempts: 0,
        expectReply: spec.expectReply,
        opMs: spec.opMs,
        parse: spec.parse,
        resolve,
        reject,
        seq: 0,
        timer: null,
        ...(spec.slots ? { slots: spec.slots } : {}),
        ...(spec.rawStatus ? { rawStatus: true } : {}),
      };
      if (req.internal) this.queue.unshift(req as Req);
      else this.queue.push(req as Req);
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
      if (seq === null) {
        setTimeout(() => this.pump(), 50);
        return;
      }
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
      try {
        const b = decodeBoot(f.payload);
        boot = ` (boot ${b.bootCount})`;
      } catch {
        /* malformed BOOT: still a reset */
      }
      this.chipReset(`BOOT frame${boot}`);
      return;
    }
    const req = this.inflight.get(f.seq) as (Req & { slots?: number[]; rawStatus?: boolean }) | undefined;
    if (!req) {
      this.stats.stray++;
      this.fault('stray', `answer with unknown seq ${f.seq}`);
      return;
    }
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
    if (status === undefined) {
      this.fault('protocol', 'empty answer');
      this.retry(req, new ChipError('protocol', 'empty answer'));
      return;
    }
    let slotEmpty = status === Status.ERR_SLOT_EMPTY;
    if (req.cmd === Cmd.VERIFY_BATCH && status === Status.OK) {
      try {
        slotEmpty = decodeVerifyBatchResult(data).some((r) => r.status === Status.ERR_SLOT_EMPTY);
      } catch {
        /* parse reports it */
      }
    }
    if (slotEmpty && req.slots?.some((s) => this.slots.has(s))) {
      // The chip lost a key we loaded: it was reset without us seeing the BOOT frame.
      this.queue.unshift(req);
      this.chipReset('key slot found empty');
      return;
    }
    if (status === Status.ERR_BUSY) {
      this.retry(req, new ChipError('status', 'busy', status));
      return;
    }
    if (status !== Status.OK && !req.rawStatus) {
      this.succeeded(); // a definite answer: the link works
      req.reject(new ChipError('status', statusName(status), status));
      this.pump();
      return;
    }
    let value: unknown;
    try {
      value = req.parse(data, status);
    } catch (e) {
      if (e instanceof ChipError && e.code === 'status') {
        this.succeeded();
        req.reject(e);
        this.pump();
        return;
      }
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
    if (this.#closed) {
      req.reject(new ChipError('closed', 'driver closed'));
      return;
    }
    if (req.idempotent && req.attempts <= this.o.retries && (this.healthState !== 'failed' || req.internal)) {
      this.stats.retries++;
      this.queue.unshift(req);
    } else {
      req.reject(err);
      if (!req.internal) {
        this.consecutiveFailures++;
        if (this.consecutiveFailures >= this.o.failAfter)
          this.setHealth('failed', `${this.consecutiveFailures} requests failed in a row (${err.message})`);
      }
    }
    this.pump();
  }

  private succeeded(): void {
    this.consecutiveFailures = 0;
    this.cleanStreak++;
    if (this.healthState === 'degraded' && this.cleanStreak >= this.o.recoverAfter && !this.recovering)
      this.setHealth('ok', `${this.cleanStreak} clean answers`);
  }

  private fault(kind: string, detail: string): void {
    this.cleanStreak = 0;
    this.emit('fault', { kind, detail });
    if (this.healthState === 'ok') this.setHealth('degraded', `${kind}: ${detail}`);
  }

  protected setHealth(state: Health, reason: string): void {
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
        () => {
          this.consecutiveFailures = 0;
          this.setHealth('degraded', 'probe answered');
          this.chipReset('recovering from failed');
        },
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
    if (this.recovering) {
      this.recoverAgain = true;
      this.pump();
      return;
    }
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
      if (!this.#closed) {
        this.emit('recovered', { bootCount: this.known?.bootCount });
        this.pump();
      }
    });
  }
}
