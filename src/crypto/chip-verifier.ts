// The appliance's SM2 verifier: a bounded queue in front of the serial crypto chip. The host computes
// e = SM3(Z_A ‖ M) (the chip only checks (r, s) against the key in a slot); requests are batched
// (VERIFY_BATCH) and protection streams go first. When the chip is failed, or the queue is full, a
// configurable policy applies: verify in software (reported as degraded) or leave the frames unverified —
// never pass them as good.
import { EventEmitter } from 'node:events';
import type { SignatureVerifier } from '../model/signature.ts';
import type { ChipDriver } from './chip/driver.ts';
import { bigToBytes, signatureFromRaw, sm2E, sm2Z } from './sm2.ts';
import type { KeyEntry } from './software-verifier.ts';

export type FallbackPolicy = 'software' | 'none';
export type VerifierState = 'ok' | 'degraded' | 'failed';

export interface ChipVerifierOptions {
  /** Requests waiting for the chip before new ones take the fallback (default 512). */
  maxQueued?: number;
  /** Items per VERIFY_BATCH (default 16). */
  batch?: number;
  /** What happens when the chip cannot take a request (default 'software'). */
  fallback?: FallbackPolicy;
  /** The software path for the fallback (required when fallback is 'software'). */
  software?: Pick<SignatureVerifier, 'verify'>;
  /**
   * A request that waited this long for the chip is not sent any more (default 1000 ms): its verdict would come too
   * late, and under overload the chip's time goes to fresh frames. It takes the fallback policy.
   */
  deadlineMs?: number;
  /** Streams whose frames go to the head of the queue (protection before metering). */
  priorityStreams?: ReadonlySet<string>;
}

export interface ChipVerifierStats {
  chip: number;
  software: number;
  rejected: number;
  /** Of those handed to the fallback: waited longer than deadlineMs for the chip. */
  expired: number;
  queuedMax: number;
}

interface Item {
  keyId: number;
  message: Uint8Array;
  slot: number;
  e: Uint8Array;
  rs: Uint8Array;
  t: number;
  resolve: (ok: boolean) => void;
  reject: (err: Error) => void;
}

export class ChipVerifier extends EventEmitter implements SignatureVerifier {
  readonly stats: ChipVerifierStats = { chip: 0, software: 0, rejected: 0, expired: 0, queuedMax: 0 };
  #driver: ChipDriver;
  #keys = new Map<number, { entry: KeyEntry; z: Uint8Array; slot: number }>();
  #high: Item[] = [];
  #low: Item[] = [];
  #inFlight = 0;
  #opts: Required<Omit<ChipVerifierOptions, 'software' | 'priorityStreams'>> & Pick<ChipVerifierOptions, 'software' | 'priorityStreams'>;
  #state: VerifierState = 'ok';
  #scheduled = false;

  private constructor(driver: ChipDriver, opts: ChipVerifierOptions) {
    super();
    this.#driver = driver;
    this.#opts = {
      maxQueued: opts.maxQueued ?? 512,
      batch: opts.batch ?? 16,
      deadlineMs: opts.deadlineMs ?? 1000,
      fallback: opts.fallback ?? 'software',
      software: opts.software,
      priorityStreams: opts.priorityStreams,
    };
    if (this.#opts.fallback === 'software' && opts.software === undefined)
      throw new Error('ChipVerifier: the software fallback needs a software verifier');
    driver.on('health', () => this.#updateState());
  }

  /** Loads every key into a chip slot (slot = position in the list) and returns the verifier. */
  static async create(driver: ChipDriver, keys: readonly KeyEntry[], opts: ChipVerifierOptions = {}): Promise<ChipVerifier> {
    const v = new ChipVerifier(driver, opts);
    for (const [slot, k] of keys.entries()) {
      await driver.loadKey(slot, k.pub);
      v.#keys.set(k.keyId, { entry: k, z: sm2Z(k.pub, k.signerId), slot });
    }
    v.#updateState();
    return v;
  }

  get state(): VerifierState {
    return this.#state;
  }

  /** Requests waiting for the chip (not yet on the wire). */
  get queueDepth(): number {
    return this.#high.length + this.#low.length;
  }

  knows(keyId: number, stream: string): boolean {
    const k = this.#keys.get(keyId);
    return k !== undefined && (k.entry.streams.length === 0 || k.entry.streams.includes(stream));
  }

  verify(keyId: number, message: Uint8Array, signature: Uint8Array, stream?: string): Promise<boolean> {
    const k = this.#keys.get(keyId);
    if (k === undefined) return Promise.reject(new Error(`no key ${keyId}`));
    if (signature.length !== 64) return Promise.resolve(false);
    const queued = this.#high.length + this.#low.length;
    if (this.#closedOrFailed() || queued >= this.#opts.maxQueued) return this.#fallback(keyId, message, signature);
    const e = bigToBytes(sm2E(k.z, message));
    return new Promise<boolean>((resolve, reject) => {
      const item: Item = { keyId, message, slot: k.slot, e, rs: signature, t: performance.now(), resolve, reject };
      (stream !== undefined && this.#opts.priorityStreams?.has(stream) === true ? this.#high : this.#low).push(item);
      this.stats.queuedMax = Math.max(this.stats.queuedMax, queued + 1);
      this.#schedule();
    });
  }

  /**
   * Forgets a key (expired or revoked while running) and empties its slot, so the driver does not re-load it
   * after a chip reset; its queued verifications are not verified (rejected). Returns the freed slot.
   */
  async drop(keyId: number): Promise<number | undefined> {
    const k = this.#keys.get(keyId);
    if (k === undefined) return undefined;
    this.#keys.delete(keyId);
    const gone = new Error(`key ${keyId} no longer valid: not verified`);
    for (const q of [this.#high, this.#low]) {
      for (let n = q.length - 1; n >= 0; n--) if (q[n]!.keyId === keyId) q.splice(n, 1)[0]!.reject(gone);
    }
    // The driver forgets the slot first; the chip may be failed or gone, then its state is lost anyway.
    await this.#driver.clearKey(k.slot).catch(() => undefined);
    return k.slot;
  }

  #closedOrFailed(): boolean {
    return this.#driver.health === 'failed' || this.#driver.closed;
  }

  #fallback(keyId: number, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (this.#opts.fallback === 'software') {
      this.stats.software++;
      this.#setState('degraded');
      return this.#opts.software!.verify(keyId, message, signature);
    }
    this.stats.rejected++;
    this.#setState(this.#closedOrFailed() ? 'failed' : 'degraded');
    return Promise.reject(new Error('chip unavailable or saturated: not verified'));
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // One tick of batching: everything submitted in this turn of the event loop goes out together.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    while ((this.#high.length > 0 || this.#low.length > 0) && this.#inFlight < 4) {
      const items: Item[] = [];
      const oldest = performance.now() - this.#opts.deadlineMs;
      while (items.length < this.#opts.batch && (this.#high.length > 0 || this.#low.length > 0)) {
        const it = (this.#high.length > 0 ? this.#high : this.#low).shift()!;
        if (it.t >= oldest) {
          items.push(it);
          continue;
        }
        this.stats.expired++;
        this.#fallback(it.keyId, it.message, it.rs).then(it.resolve, it.reject);
      }
      if (items.length === 0) continue;
      this.#inFlight++;
      this.#driver
        .verifyBatch(items.map((it) => ({ slot: it.slot, e: it.e, sig: signatureFromRaw(it.rs) })))
        .then(
          (res) => {
            this.stats.chip += items.length;
            items.forEach((it, k) => it.resolve(res[k] === true));
          },
          (err: Error) => {
            // The chip failed these: the policy decides (software verification, or unverified).
            for (const it of items) this.#fallback(it.keyId, it.message, it.rs).then(it.resolve, () => it.reject(err));
          },
        )
        .finally(() => {
          this.#inFlight--;
          this.#updateState();
          if (this.#high.length > 0 || this.#low.length > 0) this.#schedule();
        });
    }
  }

  #updateState(): void {
    const h = this.#driver.closed ? 'failed' : this.#driver.health;
    this.#setState(h === 'ok' ? 'ok' : h === 'degraded' ? 'degraded' : this.#opts.fallback === 'software' ? 'degraded' : 'failed');
  }

  #setState(s: VerifierState): void {
    if (s === this.#state) return;
    const previous = this.#state;
    this.#state = s;
    this.emit('state', { state: s, previous });
  }
}
