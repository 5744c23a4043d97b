// Software SM2 verification (native addon) on a worker thread, so that the detection thread never spends its
// per-frame budget on elliptic-curve arithmetic (≈ 0.4 ms per verify here against a 4 ms handling target).
// Bounded: at most `maxQueued` verifications wait; one that waited longer than `deadlineMs` is not verified
// (it rejects, the signature stage counts its frames as unverified — never as good).
import { Worker } from 'node:worker_threads';
import type { SignatureVerifier } from '../model/signature.ts';
import { bigToBytes } from './sm2.ts';
import type { KeyEntry } from './software-verifier.ts';

export interface WorkerVerifierOptions {
  /** Verifications waiting for the worker before new ones are refused (default 4096). */
  maxQueued?: number;
  /** A verification not started within this time is given up (default 1000 ms). */
  deadlineMs?: number;
}

export interface WorkerVerifierStats {
  verified: number;
  refused: number;
  late: number;
}

interface Pending {
  resolve: (ok: boolean) => void;
  reject: (e: Error) => void;
}

export class WorkerVerifier implements SignatureVerifier {
  readonly stats: WorkerVerifierStats = { verified: 0, refused: 0, late: 0 };
  #keys = new Map<number, KeyEntry>();
  #worker: Worker;
  #pending = new Map<number, Pending>();
  #outbox: Array<{ id: number; keyId: number; message: Uint8Array; signature: Uint8Array; deadline: number }> = [];
  #nextId = 1;
  #scheduled = false;
  #closed = false;
  #error: Error | null = null;
  readonly #maxQueued: number;
  readonly #deadlineMs: number;

  constructor(keys: readonly KeyEntry[], opts: WorkerVerifierOptions = {}) {
    this.#maxQueued = opts.maxQueued ?? 4096;
    this.#deadlineMs = opts.deadlineMs ?? 1000;
    for (const k of keys) this.#keys.set(k.keyId, k);
    const wire = keys.map((k) => ({
      keyId: k.keyId,
      point: Uint8Array.of(4, ...bigToBytes(k.pub.x), ...bigToBytes(k.pub.y)),
      signerId: k.signerId,
    }));
    this.#worker = new Worker(new URL('./verify-worker.ts', import.meta.url), { workerData: { keys: wire } });
    this.#worker.unref(); // an idle verifier must not keep the process alive
    this.#worker.on('message', (m: { results: Array<[number, number]> }) => this.#onResults(m.results));
    this.#worker.on('error', (e) => this.#fail(new Error(`verification worker failed: ${e.message}`)));
    this.#worker.on('exit', () => this.#fail(new Error('verification worker exited')));
  }

  /** Verifications submitted and not answered yet. */
  get queueDepth(): number {
    return this.#pending.size;
  }

  knows(keyId: number, stream: string): boolean {
    const k = this.#keys.get(keyId);
    return k !== undefined && (k.streams.length === 0 || k.streams.includes(stream));
  }

  /**
   * Forgets a key (expired or revoked while running): its frames become unknown-key; verifications of it not yet
   * sent to the worker are not verified (rejected), and the worker drops it before any later request.
   */
  drop(keyId: number): void {
    if (!this.#keys.delete(keyId)) return;
    const gone = new Error(`key ${keyId} no longer valid: not verified`);
    this.#outbox = this.#outbox.filter((it) => {
      if (it.keyId !== keyId) return true;
      this.#pending.get(it.id)?.reject(gone);
      this.#pending.delete(it.id);
      return false;
    });
    if (!this.#closed && this.#error === null) this.#worker.postMessage({ drop: keyId });
  }

  verify(keyId: number, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (!this.#keys.has(keyId)) return Promise.reject(new Error(`no key ${keyId}`));
    if (signature.length !== 64) return Promise.resolve(false);
    if (this.#closed || this.#error !== null) return Promise.reject(this.#error ?? new Error('verifier closed'));
    if (this.#pending.size >= this.#maxQueued) {
      this.stats.refused++;
      return Promise.reject(new Error('software verifier saturated: not verified'));
    }
    const id = this.#nextId++;
    // Copies: the caller's views may point into a capture batch that is reused.
    this.#outbox.push({ id, keyId, message: message.slice(), signature: signature.slice(), deadline: Date.now() + this.#deadlineMs });
    const p = new Promise<boolean>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#worker.ref(); // answers are due
      setImmediate(() => this.#flush());
    }
    return p;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#fail(new Error('verifier closed'));
    await this.#worker.terminate();
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#outbox.length === 0 || this.#closed) return;
    const items = this.#outbox;
    this.#outbox = [];
    this.#worker.postMessage({ items });
  }

  #onResults(results: Array<[number, number]>): void {
    for (const [id, v] of results) {
      const p = this.#pending.get(id);
      if (p === undefined) continue;
      this.#pending.delete(id);
      if (v < 0) {
        this.stats.late++;
        p.reject(new Error('not verified within the deadline'));
      } else {
        this.stats.verified++;
        p.resolve(v === 1);
      }
    }
    if (this.#pending.size === 0) this.#worker.unref();
  }

  #fail(err: Error): void {
    this.#error ??= err;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
    this.#outbox = [];
  }
}
