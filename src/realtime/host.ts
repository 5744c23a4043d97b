// The main thread's handle on the real-time thread: starts it, receives its lanes and hands them to the
// main thread's root, answers for it synchronously from the last report (status, coverage, waveforms,
// estimates), forwards the few requests that need it (a master estimate, a report, close), and verifies the
// signatures it asks for through `verifier` (the chip's driver and the software worker live on this thread).
// A real-time thread that dies is reported through onFatal: the root stops the appliance and systemd's
// watchdog restarts it.
import { SvdeError } from '../model/errors.ts';
import { Worker } from 'node:worker_threads';
import type { EstimateView, MasterEstimateInput, UpstreamResult } from '../model/estimates.ts';
import type { WaveformView } from '../model/device.ts';
import type { KeyTableEntry } from '../crypto/verification.ts';
import type { SignatureVerifier } from '../model/signature.ts';
import { LatencyHistogram } from '../capture/histogram.ts';
import type { AlarmItem, EvidenceItem, KnobReport, MainMessage, RealtimeInit, Request, TickReport, WorkerMessage } from './protocol.ts';

export interface RealtimeHandlers {
  /** Alarms in order: raise before its updates and end. */
  onAlarms(items: readonly AlarmItem[]): void;
  /** Evidence; its credit returns to the real-time thread once this returns. */
  onEvidence(items: readonly EvidenceItem[]): void;
  onTick?(r: TickReport): void;
  /** Answers the real-time thread's signature verifications (absent: every one is unverified). */
  verifier?: SignatureVerifier;
  onCaptureError?(message: string): void;
  /** The real-time thread failed or exited unexpectedly. */
  onFatal(message: string): void;
}

/** An error the real-time thread threw while answering, with its name kept (e.g. UpstreamInputError). */
export class RealtimeRequestError extends SvdeError {
  readonly code = 'REALTIME';
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export interface RealtimeReady {
  knobs: KnobReport[];
  tid: number;
  cpus: number[];
}

const ESTIMATES_KEPT = 2000;
const CLOSE_TIMEOUT_MS = 10_000;

export class RealtimeCore {
  readonly #worker: Worker;
  readonly #h: RealtimeHandlers;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #last: TickReport | undefined;
  #estimates: EstimateView[] = [];
  #waveforms = new Map<string, WaveformView>();
  #closing = false;
  #exited = false;
  #fatalReported = false;
  readonly ready: Promise<RealtimeReady>;

  constructor(init: RealtimeInit, handlers: RealtimeHandlers) {
    this.#h = handlers;
    const heap = init.knobs.heap;
    this.#worker = new Worker(new URL('./worker.ts', import.meta.url), {
      workerData: init,
      ...(heap !== undefined ? { resourceLimits: { ...heap } } : {}),
    });
    let readyResolve!: (v: RealtimeReady) => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    // onFatal reports a failed start too: a caller that does not await `ready` must not crash on it.
    this.ready.catch(() => undefined);
    this.#worker.on('message', (m: WorkerMessage) => {
      switch (m.t) {
        case 'ready':
          readyResolve({ knobs: m.knobs, tid: m.tid, cpus: m.cpus });
          break;
        case 'alarms':
          this.#h.onAlarms(m.items);
          break;
        case 'evidence':
          try {
            this.#h.onEvidence(m.items);
          } finally {
            this.#post({ t: 'credit', bytes: m.bytes });
          }
          break;
        case 'tick':
          this.#onTick(m.r);
          break;
        case 'verify':
          this.#verify(m);
          break;
        case 'capture-error':
          this.#h.onCaptureError?.(m.message);
          break;
        case 'reply': {
          const p = this.#pending.get(m.id);
          this.#pending.delete(m.id);
          if (p === undefined) break;
          if (m.ok) p.resolve(m.value);
          else p.reject(new RealtimeRequestError(m.error.name, m.error.message));
          break;
        }
        case 'fatal':
          readyReject(new Error(`real-time thread failed: ${m.message}`));
          this.#fatal(m.message);
          break;
      }
    });
    this.#worker.on('error', (err) => {
      readyReject(err);
      this.#fatal(err.stack ?? err.message);
    });
    this.#worker.on('exit', (code) => {
      this.#exited = true;
      for (const p of this.#pending.values()) p.reject(new Error(`real-time thread exited (${code})`));
      this.#pending.clear();
      if (!this.#closing) {
        readyReject(new Error(`real-time thread exited (${code})`));
        this.#fatal(`real-time thread exited with code ${code}`);
      }
    });
  }

  /** A thread dies once: its error, its fatal message and its exit are one report (the first says why). */
  #fatal(message: string): void {
    if (this.#fatalReported) return;
    this.#fatalReported = true;
    this.#h.onFatal(message);
  }

  #post(m: MainMessage, transfer?: ArrayBuffer[]): void {
    if (!this.#exited) this.#worker.postMessage(m, transfer ?? []);
  }

  #request<K extends Request['op']>(req: Extract<Request, { op: K }>, transfer?: ArrayBuffer[]): Promise<unknown> {
    if (this.#exited) return Promise.reject(new Error('the real-time thread is not running'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#post({ t: 'req', id, req }, transfer);
    });
  }

  #verify(m: Extract<WorkerMessage, { t: 'verify' }>): void {
    const v = this.#h.verifier;
    if (v === undefined) {
      this.#post({ t: 'verified', id: m.id, ok: null });
      return;
    }
    v.verify(m.keyId, m.message, m.signature, m.stream).then(
      (ok) => this.#post({ t: 'verified', id: m.id, ok }),
      () => this.#post({ t: 'verified', id: m.id, ok: null }),
    );
  }

  /** Benchmarks: the real-time thread's latency histograms start afresh. */
  resetLatency(): void {
    this.#post({ t: 'reset-latency' });
  }

  /** The keys that verify changed (expired, revoked): knows() on the real-time thread follows. */
  setKeys(keys: KeyTableEntry[]): void {
    this.#post({ t: 'keys', keys });
  }

  #onTick(r: TickReport): void {
    this.#last = r;
    for (const e of r.estimates) this.#estimates.push(e);
    if (this.#estimates.length > ESTIMATES_KEPT) this.#estimates.splice(0, this.#estimates.length - ESTIMATES_KEPT);
    for (const w of r.waveforms) this.#waveforms.set(w.stream, w);
    this.#h.onTick?.(r);
  }

  /** In-process replay: a batch buffer made on this thread, moved (not copied) to the real-time thread. */
  feed(buffer: ArrayBuffer, live = false): void {
    // A copy moved across: the addon's buffers cannot be transferred, and the caller may keep its batch.
    const copy = buffer.slice(0);
    this.#post({ t: 'feed', buffer: copy, live }, [copy]);
  }

  /** The newest once-a-second report, if one came yet. */
  get last(): TickReport | undefined {
    return this.#last;
  }

  verdictLatency(): LatencyHistogram {
    return this.#last !== undefined ? LatencyHistogram.from(this.#last.verdictLatency) : new LatencyHistogram();
  }

  signatureLag(): LatencyHistogram {
    return this.#last !== undefined ? LatencyHistogram.from(this.#last.signatureLag) : new LatencyHistogram();
  }

  signatureCoverage(stream: string): number | null {
    return this.#last?.coverage[stream] ?? null;
  }

  waveform(stream: string): WaveformView | undefined {
    return this.#waveforms.get(stream);
  }

  waveformNames(): string[] {
    return [...this.#waveforms.keys()];
  }

  localEstimates(sinceNs?: bigint): EstimateView[] {
    return sinceNs === undefined ? this.#estimates.slice() : this.#estimates.filter((e) => BigInt(e.windowStartNs) >= sinceNs);
  }

  /** alarmId in the result is detection's id (the journal maps it). */
  async submitMasterEstimate(input: MasterEstimateInput): Promise<UpstreamResult> {
    return (await this.#request({ op: 'master', input })) as UpstreamResult;
  }

  /** The real-time thread's report now (not a second old); its estimates are not taken from the stream. */
  async report(): Promise<TickReport> {
    return (await this.#request({ op: 'report' })) as TickReport;
  }

  /** Stops capture, ends every open episode (their lanes arrive before this resolves), then the thread. */
  async close(): Promise<void> {
    if (this.#exited) return;
    try {
      // A thread that does not answer in time is ended all the same.
      await Promise.race([this.#request({ op: 'close' }), new Promise((r) => setTimeout(r, CLOSE_TIMEOUT_MS).unref())]);
    } finally {
      this.#closing = true;
      await this.#worker.terminate();
    }
  }
}
