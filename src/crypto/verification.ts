// What the appliance starts for signed SV: the key store's valid keys, the crypto chip when one is configured
// (SELFTEST, INFO, every key loaded into a slot; keys beyond the chip's slots verified in software; slots re-loaded
// by the driver after a chip reset), the software verifier (native) when there is no chip, the fallback policy
// when the chip is lost or saturated, a health view for the LED/panel/API, and the device signer for what the
// appliance reports upstream (device-signer.ts). Key validity is re-checked while running: a key past notAfter
// (or revoked) is dropped from the verifiers and its chip slot.
import { EventEmitter } from 'node:events';
import type { SignatureVerifier } from '../model/signature.ts';
import { ChipVerifier, type FallbackPolicy } from './chip-verifier.ts';
import { ChipDriver, type DriverOptions } from './chip/driver.ts';
import { openSerialTransport, type SerialTransportOptions } from './chip/serial-transport.ts';
import { loadOrCreateDeviceKeyPem, signAsDevice, type DeviceSigner, type SoftDeviceKey } from './device-signer.ts';
import { keyStatus, KeyStore, type KeyMeta, type KeyStatus } from './keystore.ts';
import { SM2_DEFAULT_ID, sm2Z } from './sm2.ts';
import { SoftwareVerifier, type KeyEntry } from './software-verifier.ts';
import { WorkerVerifier } from './worker-verifier.ts';

export { loadOrCreateDeviceKeyPem, type DeviceSignature, type DeviceSigner } from './device-signer.ts';

export type VerificationState = 'ok' | 'degraded' | 'failed' | 'absent';

/** The chip's part of the device health (DeviceView's `health.chip`). */
export interface VerificationHealth {
  /** absent: no chip configured (software verifier); ok/degraded/failed: the chip path, after the fallback policy. */
  state: VerificationState;
  /** The chip's serial device; null without a chip. */
  port: string | null;
  /** Verdicts (chip and software) in the last second. */
  verifiedPerSecond: number;
  /** Verifications waiting for the chip. */
  queueDepth: number;
  /** The configured fallback policy when a chip is configured; null without a chip. */
  fallback: FallbackPolicy | null;
  detail: string | null;
}

export interface VerificationStats {
  /** Verifications answered by the chip (one per frame in mode 1, one per block in block modes). */
  chip: number;
  /** Verifications done in software (no chip, keys beyond the slots, fallback). */
  software: number;
  /** Verifications refused (policy none with the chip unavailable or saturated): their frames are unverified. */
  unverified: number;
  /** Verdicts given (valid or invalid). */
  verdicts: number;
}

export interface VerificationOptions {
  /** Key store directory (`svde keys`); without it no key is known and every signed frame is `unknown-key`. */
  keyStoreDir?: string | undefined;
  chip?: { path: string; baudRate: number } | undefined;
  /** When the chip is absent, failing or saturated: verify in software, or leave frames unverified. */
  fallback: FallbackPolicy;
  /** PEM (PKCS#8) device key for signing without the chip; created (mode 0600) when missing. */
  deviceKeyFile?: string | undefined;
  /** Signer ID of the device's signatures (default 1234567812345678). */
  deviceSignerId?: string;
  /** Streams whose frames the chip verifies first (protection before metering). */
  priorityStreams?: ReadonlySet<string>;
  driver?: DriverOptions;
  transport?: SerialTransportOptions;
  /** Verifications waiting for the chip before new ones take the fallback (default 512). */
  maxQueued?: number;
  /**
   * Where software verification runs: 'worker' (default) a worker thread with a bounded queue and a 1 s deadline,
   * so the detection thread never waits on it; 'inline' on the calling thread (offline analysis, tests).
   */
  softwareThread?: 'worker' | 'inline';
  /** Retry interval when the chip's port cannot be opened or its self-test fails (default 2000 ms). */
  reconnectMs?: number;
  /** Interval of the key validity re-check (default 60 000 ms); a key past notAfter is refused at once anyway. */
  keyCheckMs?: number;
  /** Clock of key validity (tests). */
  now?: () => Date;
}

/** A key no longer used: expired or revoked (or gone from the store) while running. */
export interface KeyTableEntry {
  keyId: number;
  streams: string[];
  notAfterMs: number | null;
}

export interface DroppedKey {
  keyId: number;
  status: Exclude<KeyStatus, 'valid'> | 'removed';
}

export interface Verification {
  readonly verifier: SignatureVerifier;
  readonly signer: DeviceSigner;
  /** keyIds by where they are verified (chip slots, software). */
  keys(): { chip: number[]; software: number[] };
  /**
   * The keys that verify now: the streams each may sign (empty: any) and its notAfter (ms since the epoch),
   * what a verifier on another thread needs to answer knows() without asking.
   */
  keyTable(): KeyTableEntry[];
  health(): VerificationHealth;
  stats(): VerificationStats;
  /**
   * Re-reads the key store and drops every key that is no longer valid (from the verifiers, the chip's slots and
   * keys()); their frames become unknown-key. Runs every keyCheckMs; returns what it dropped.
   */
  checkKeys(): Promise<DroppedKey[]>;
  /** 'state': the health whenever its state changes. */
  on(event: 'state', cb: (h: VerificationHealth) => void): this;
  /** 'keys': keys dropped by a validity check. */
  on(event: 'keys', cb: (dropped: DroppedKey[]) => void): this;
  off(event: 'state', cb: (h: VerificationHealth) => void): this;
  off(event: 'keys', cb: (dropped: DroppedKey[]) => void): this;
  close(): Promise<void>;
}

class VerificationService extends EventEmitter implements Verification {
  readonly verifier: SignatureVerifier;
  readonly signer: DeviceSigner;
  readonly #o: VerificationOptions;
  #keys: KeyEntry[];
  readonly #store: KeyStore | null;
  /** Validity of the keys in use, from the store at start-up (used when the store cannot be read). */
  readonly #meta: Map<number, KeyMeta>;
  /** notAfter (ms) of the keys in use that have one. */
  readonly #notAfter = new Map<number, number>();
  #keyTimer: NodeJS.Timeout | null = null;
  readonly #software: SoftwareVerifier | WorkerVerifier;
  readonly #softKey: SoftDeviceKey | null;
  readonly #signerId: string;
  #driver: ChipDriver | null = null;
  #chip: ChipVerifier | null = null;
  #chipKeys = new Set<number>();
  #chipError: string | null = null;
  #reconnect: NodeJS.Timeout | null = null;
  #replace: NodeJS.Timeout | null = null;
  /** Counters of chip verifiers replaced after a reconnect. */
  #past = { chip: 0, software: 0, rejected: 0 };
  #rateTimer: NodeJS.Timeout;
  #verdicts = 0;
  #softDirect = 0;
  #rejected = 0;
  #lastVerdicts = 0;
  #perSecond = 0;
  #state: VerificationState;
  #closed = false;
  #connecting: Promise<void> | null = null;

  constructor(o: VerificationOptions, keys: KeyEntry[], store: KeyStore | null = null, meta: readonly KeyMeta[] = []) {
    super();
    this.#o = o;
    this.#keys = keys;
    this.#store = store;
    this.#meta = new Map(meta.map((m) => [m.keyId, m]));
    for (const m of meta) if (m.notAfter !== undefined) this.#notAfter.set(m.keyId, Date.parse(m.notAfter));
    this.#signerId = o.deviceSignerId ?? SM2_DEFAULT_ID;
    const soft = o.deviceKeyFile !== undefined ? loadOrCreateDeviceKeyPem(o.deviceKeyFile) : null; // may throw: before the worker starts
    this.#software = o.softwareThread === 'inline' ? new SoftwareVerifier(keys, 'native') : new WorkerVerifier(keys);
    this.#softKey = soft === null ? null : { ...soft, z: sm2Z(soft.pub, this.#signerId) };
    this.#state = o.chip === undefined ? 'absent' : o.fallback === 'software' ? 'degraded' : 'failed';
    this.#rateTimer = setInterval(() => {
      this.#perSecond = this.#verdicts - this.#lastVerdicts;
      this.#lastVerdicts = this.#verdicts;
    }, 1000);
    this.#rateTimer.unref();
    if (store !== null) {
      this.#keyTimer = setInterval(() => void this.checkKeys(), o.keyCheckMs ?? 60_000);
      this.#keyTimer.unref();
    }
    this.verifier = {
      knows: (keyId, stream) => !this.#expired(keyId) && this.#software.knows(keyId, stream),
      verify: (keyId, message, signature, stream) => this.#verify(keyId, message, signature, stream),
    };
    const signerId = this.#signerId;
    this.signer = { signerId, sign: (m) => signAsDevice(this.#driver, this.#softKey, signerId, m) };
  }

  keyTable(): KeyTableEntry[] {
    return this.#keys.map((k) => ({ keyId: k.keyId, streams: [...k.streams], notAfterMs: this.#notAfter.get(k.keyId) ?? null }));
  }

  keys(): { chip: number[]; software: number[] } {
    const chip = this.#keys.filter((k) => this.#chipKeys.has(k.keyId)).map((k) => k.keyId);
    return { chip, software: this.#keys.filter((k) => !this.#chipKeys.has(k.keyId)).map((k) => k.keyId) };
  }

  stats(): VerificationStats {
    const c = this.#chip?.stats;
    const w = this.#software instanceof WorkerVerifier ? this.#software.stats : { refused: 0, late: 0 };
    const p = this.#past;
    return {
      chip: p.chip + (c?.chip ?? 0),
      software: p.software + (c?.software ?? 0) + this.#softDirect,
      unverified: p.rejected + (c?.rejected ?? 0) + this.#rejected + w.refused + w.late,
      verdicts: this.#verdicts,
    };
  }

  health(): VerificationHealth {
    const o = this.#o;
    const overflow = this.#chip !== null ? this.#keys.length - this.#chipKeys.size : 0;
    const notes: string[] = [];
    if (o.chip === undefined) notes.push(`no chip configured: ${this.#keys.length} key(s) verified in software (native)`);
    else if (this.#chip === null)
      notes.push(
        `chip at ${o.chip.path} unavailable (${this.#chipError ?? 'connecting'}); ${o.fallback === 'software' ? 'verifying in software' : 'signed frames are left unverified'}`,
      );
    else {
      const h = this.#driver!.health;
      if (h !== 'ok')
        notes.push(
          `chip ${h}${o.fallback === 'software' ? ', software fallback' : ', no fallback: frames it cannot verify stay unverified'}`,
        );
      if (this.#chip.state === 'degraded' && h === 'ok') notes.push('chip saturated: overflow verified by the fallback policy');
      if (overflow > 0) notes.push(`${overflow} key(s) beyond the chip's ${this.#chipKeys.size} slot(s) verified in software`);
    }
    return {
      state: this.#state,
      port: o.chip?.path ?? null,
      verifiedPerSecond: this.#perSecond,
      queueDepth: (this.#chip?.queueDepth ?? 0) + (this.#software instanceof WorkerVerifier ? this.#software.queueDepth : 0),
      fallback: o.chip === undefined ? null : o.fallback,
      detail: notes.length > 0 ? notes.join('; ') : null,
    };
  }

  /** Opens the chip: SELFTEST, INFO, slots; on failure the fallback applies and it is tried again later. */
  connect(): Promise<void> {
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    const c = this.#o.chip;
    if (c === undefined || this.#closed) return;
    let driver: ChipDriver | null = null;
    try {
      const transport = await openSerialTransport(c.path, c.baudRate, this.#o.transport);
      driver = await ChipDriver.open(transport, this.#o.driver);
      const passed = await driver.selftest();
      if (passed !== 0x1f) throw new Error(`SELFTEST bitmap 0x${passed.toString(16)}`);
      const info = await driver.info();
      const inChip = this.#keys.slice(0, info.slots);
      const chip = await ChipVerifier.create(driver, inChip, {
        fallback: this.#o.fallback,
        software: this.#software,
        ...(this.#o.maxQueued !== undefined ? { maxQueued: this.#o.maxQueued } : {}),
        ...(this.#o.priorityStreams !== undefined ? { priorityStreams: this.#o.priorityStreams } : {}),
      });
      if (this.#closed) {
        await driver.close();
        return;
      }
      this.#driver = driver;
      this.#chip = chip;
      this.#chipKeys = new Set(inChip.map((k) => k.keyId));
      // Keys dropped while the slots were being loaded.
      for (const k of inChip)
        if (!this.#keys.includes(k)) {
          this.#chipKeys.delete(k.keyId);
          void chip.drop(k.keyId);
        }
      this.#chipError = null;
      const d = driver;
      d.on('health', (h: { state: string }) => {
        this.#update();
        if (h.state === 'failed') this.#armReplace(d);
      });
      chip.on('state', () => this.#update());
      this.#update();
    } catch (e) {
      await driver?.close().catch(() => undefined);
      this.#chipError = (e as Error).message;
      this.#update();
      if (!this.#closed && this.#reconnect === null) {
        this.#reconnect = setTimeout(() => {
          this.#reconnect = null;
          void this.connect();
        }, this.#o.reconnectMs ?? 2000);
        this.#reconnect.unref();
      }
    }
  }

  /**
   * A chip still failed after reconnectMs (its probes unanswered) may sit behind a port that is gone (USB serial
   * unplugged, device node re-created): drop the driver and open the port afresh, SELFTEST and slots included.
   */
  #armReplace(driver: ChipDriver): void {
    if (this.#replace !== null || this.#closed) return;
    this.#replace = setTimeout(() => {
      this.#replace = null;
      if (this.#closed || this.#driver !== driver || driver.health !== 'failed') return;
      const c = this.#chip!.stats;
      this.#past.chip += c.chip;
      this.#past.software += c.software;
      this.#past.rejected += c.rejected;
      this.#driver = null;
      this.#chip = null;
      this.#chipKeys = new Set();
      this.#chipError = 'no answer: re-opening the port';
      this.#update();
      void driver.close().then(() => this.connect());
    }, this.#o.reconnectMs ?? 2000);
    this.#replace.unref();
  }

  #update(): void {
    let s: VerificationState;
    if (this.#o.chip === undefined) s = 'absent';
    else if (this.#chip === null) s = this.#o.fallback === 'software' ? 'degraded' : 'failed';
    else {
      const h = this.#driver!.closed ? 'failed' : this.#driver!.health;
      s =
        h === 'failed'
          ? this.#o.fallback === 'software'
            ? 'degraded'
            : 'failed'
          : h === 'degraded' || this.#chip.state !== 'ok'
            ? 'degraded'
            : 'ok';
    }
    if (s === this.#state) return;
    this.#state = s;
    this.emit('state', this.health());
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  /** Past notAfter by the clock: refused at once (between two checks) and dropped. */
  #expired(keyId: number): boolean {
    const t = this.#notAfter.get(keyId);
    if (t === undefined || (this.#o.now !== undefined ? this.#o.now().getTime() : Date.now()) <= t) return false;
    void this.#drop([{ keyId, status: 'expired' }]);
    return true;
  }

  async checkKeys(): Promise<DroppedKey[]> {
    if (this.#store === null || this.#closed) return [];
    const now = this.#now();
    let status: Map<number, KeyStatus>;
    try {
      status = new Map(this.#store.list(now).map((m) => [m.keyId, m.status]));
    } catch {
      // The store cannot be read now: judge by the validity read at start-up.
      status = new Map([...this.#meta].map(([id, m]) => [id, keyStatus(m, now)]));
    }
    const gone: DroppedKey[] = [];
    for (const k of this.#keys) {
      const s = status.get(k.keyId);
      if (s !== 'valid') gone.push({ keyId: k.keyId, status: s ?? 'removed' });
    }
    return this.#drop(gone);
  }

  async #drop(gone: DroppedKey[]): Promise<DroppedKey[]> {
    const ids = new Set(gone.filter((g) => this.#keys.some((k) => k.keyId === g.keyId)).map((g) => g.keyId));
    if (ids.size === 0) return [];
    this.#keys = this.#keys.filter((k) => !ids.has(k.keyId));
    const dropped = gone.filter((g) => ids.has(g.keyId));
    for (const id of ids) {
      this.#notAfter.delete(id);
      this.#software.drop(id);
    }
    const chip = this.#chip;
    const inChip = [...ids].filter((id) => this.#chipKeys.delete(id));
    this.emit('keys', dropped);
    if (chip !== null) await Promise.all(inChip.map((id) => chip.drop(id)));
    return dropped;
  }

  #verify(keyId: number, message: Uint8Array, signature: Uint8Array, stream?: string): Promise<boolean> {
    if (this.#expired(keyId)) return Promise.reject(new Error(`key ${keyId} expired: not verified`));
    let p: Promise<boolean>;
    if (this.#chip !== null && this.#chipKeys.has(keyId)) p = this.#chip.verify(keyId, message, signature, stream);
    else if (
      this.#o.chip === undefined ||
      !this.#keys.some((k) => k.keyId === keyId) ||
      this.#chip !== null ||
      this.#o.fallback === 'software'
    ) {
      // No chip, an unknown key (rejects with its message), a key beyond the chip's slots, or the software fallback.
      this.#softDirect++;
      p = this.#software.verify(keyId, message, signature);
    } else {
      this.#rejected++;
      p = Promise.reject(new Error(`chip unavailable (${this.#chipError ?? 'connecting'}): not verified`));
    }
    return p.then((ok) => {
      this.#verdicts++;
      return ok;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#rateTimer);
    if (this.#keyTimer !== null) clearInterval(this.#keyTimer);
    if (this.#reconnect !== null) clearTimeout(this.#reconnect);
    if (this.#replace !== null) clearTimeout(this.#replace);
    await this.#connecting?.catch(() => undefined);
    await this.#driver?.close();
    if (this.#software instanceof WorkerVerifier) await this.#software.close();
  }
}

/**
 * Starts signature verification and the device signer. Never throws for an unreachable chip (the fallback policy
 * applies and the chip is tried again every reconnectMs); throws for a broken key store or device key file.
 */
export async function startVerification(opts: VerificationOptions): Promise<Verification> {
  const now = opts.now?.() ?? new Date();
  const store = opts.keyStoreDir !== undefined ? new KeyStore(opts.keyStoreDir) : null;
  const keys = store?.activeKeys(now) ?? [];
  const meta = store?.list(now).filter((m) => keys.some((k) => k.keyId === m.keyId)) ?? [];
  const v = new VerificationService(opts, keys, store, meta);
  await v.connect();
  return v;
}
