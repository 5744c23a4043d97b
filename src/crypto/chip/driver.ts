// Host driver of the SM2 crypto chip (docs/chip-protocol.md): its commands over the request session (session.ts),
// which runs on any ChipTransport (the serial port: serial-transport.ts). A verify answer counts as "valid" only if
// it is self-consistent ((e + x1') mod n = r ⇔ verdict valid); anything else is retried and finally rejected, so a
// caller counts the frame as unverified, never as verified.
import { SM2_N, sm2VerifyDigest, type Sm2PublicKey, type Sm2Signature } from '../sm2.ts';
import {
  bigFrom,
  Cmd,
  decodeSignature,
  decodeVerifyBatchResult,
  decodeVerifyResult,
  encodeVerify,
  encodeVerifyBatch,
  MAX_BATCH,
  Status,
  statusName,
  Verdict,
  type ChipInfo,
  type VerifyItem,
} from './protocol.ts';
import { ChipSession } from './session.ts';
import { ChipError, type ChipTransport, type DriverOptions } from './types.ts';

export { ChipError, type ChipErrorCode, type ChipTransport, type DriverOptions, type DriverStats, type Health } from './types.ts';

const mod = (a: bigint, m: bigint): bigint => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

/** The chip's commands over a ChipSession; verify/sign answers are checked before they are believed. */
export class ChipDriver extends ChipSession {
  /** Opens a driver and reads INFO (the boot identity later resets are detected against). */
  static async open(transport: ChipTransport, opts: DriverOptions = {}): Promise<ChipDriver> {
    const d = new ChipDriver(transport, opts);
    try {
      await d.info();
    } catch (e) {
      await d.close();
      throw e;
    }
    return d;
  }

  // ------------------------------------------------------------------------------------------ commands

  info(): Promise<ChipInfo> {
    return this.request(this.infoReq(false));
  }

  /** Bitmap of passed tests (0x1f = all); rejects with status ERR_SELFTEST and marks the chip failed otherwise. */
  async selftest(): Promise<number> {
    try {
      return await this.request<number>({
        cmd: Cmd.SELFTEST,
        payload: new Uint8Array(0),
        opMs: 100,
        expectReply: 2,
        parse: (d) => d[0] ?? 0,
      });
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
    if (!plausible(sig)) {
      this.stats.verifiedInvalid++;
      return false;
    } // out-of-range r/s never verify
    try {
      const ok = await this.request<boolean>({
        cmd: Cmd.VERIFY,
        payload: encodeVerify({ slot, e, r: sig.r, s: sig.s }),
        opMs: 3,
        expectReply: 34,
        parse: (d) => {
          const v = decodeVerifyResult(d);
          return this.judge(e, sig.r, v.verdict, v.x1);
        },
        slots: [slot],
      });
      if (ok) this.stats.verifiedValid++;
      else this.stats.verifiedInvalid++;
      return ok;
    } catch (err) {
      this.stats.unverified++;
      throw err;
    }
  }

  /** Verdicts in order (same meaning as verify()); split into chip-sized batches. */
  async verifyBatch(items: readonly { slot: number; e: Uint8Array; sig: Sm2Signature }[]): Promise<boolean[]> {
    const out = new Array<boolean>(items.length).fill(false);
    const send: number[] = [];
    items.forEach((it, k) => {
      if (it.e.length !== 32) throw new RangeError('e must be 32 bytes');
      if (plausible(it.sig)) send.push(k);
      else this.stats.verifiedInvalid++;
    });
    const chunks: number[][] = [];
    const max = Math.min(MAX_BATCH, this.known?.maxBatch ?? MAX_BATCH);
    for (let i = 0; i < send.length; i += max) chunks.push(send.slice(i, i + max));
    await Promise.all(
      chunks.map(async (idx) => {
        const vi: VerifyItem[] = idx.map((k) => {
          const it = items[k]!;
          return { slot: it.slot, e: it.e, r: it.sig.r, s: it.sig.s };
        });
        try {
          const res = await this.request<boolean[]>({
            cmd: Cmd.VERIFY_BATCH,
            payload: encodeVerifyBatch(vi),
            opMs: 3 * vi.length,
            expectReply: 2 + 34 * vi.length,
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
          res.forEach((ok, j) => {
            out[idx[j]!] = ok;
            if (ok) this.stats.verifiedValid++;
            else this.stats.verifiedInvalid++;
          });
        } catch (err) {
          this.stats.unverified += idx.length;
          throw err;
        }
      }),
    );
    return out;
  }

  /** Signs e with the device key; the answer is checked against the device public key from INFO. */
  sign(e: Uint8Array): Promise<Sm2Signature> {
    if (e.length !== 32) throw new RangeError('e must be 32 bytes');
    return this.request<Sm2Signature>({
      cmd: Cmd.SIGN,
      payload: e,
      opMs: 3,
      expectReply: 65,
      parse: (d) => {
        const sig = decodeSignature(d);
        const key = this.known?.deviceKey;
        if (!key || !sm2VerifyDigest(key, bigFrom(e), sig))
          throw new ChipError('inconsistent', 'SIGN answer does not verify against the device key');
        return sig;
      },
    });
  }

  random(n: number): Promise<Uint8Array> {
    if (!Number.isInteger(n) || n < 1 || n > 255) throw new RangeError('RANDOM count 1..255');
    return this.request<Uint8Array>({
      cmd: Cmd.RANDOM,
      payload: Uint8Array.of(n),
      opMs: 1,
      expectReply: 1 + n,
      parse: (d) => {
        if (d.length !== n) throw new ChipError('inconsistent', `RANDOM gave ${d.length} bytes`);
        return d.slice();
      },
    });
  }

  /** Resets the chip; resolves once it has rebooted and the key slots are re-loaded. */
  async reset(): Promise<void> {
    await this.request<void>({
      cmd: Cmd.RESET,
      payload: new Uint8Array(0),
      opMs: 1,
      expectReply: 1,
      idempotent: false,
      parse: () => undefined,
    });
    await new Promise<void>((res) => {
      const t = setTimeout(() => {
        this.off('recovered', on);
        res();
      }, 2000);
      const on = (): void => {
        clearTimeout(t);
        res();
      };
      this.once('recovered', on);
    });
  }

  /** Raw request, for the conformance suite and tests (any command, status returned, not thrown). */
  raw(cmd: number, payload: Uint8Array, opts: { opMs?: number; expectReply?: number } = {}): Promise<{ status: number; data: Uint8Array }> {
    return this.request({
      cmd,
      payload,
      opMs: opts.opMs ?? 5,
      expectReply: opts.expectReply ?? 64,
      rawStatus: true,
      parse: (d, status) => ({ status, data: d.slice() }),
    });
  }

  private judge(e: Uint8Array, r: bigint, verdict: number, x1: bigint): boolean {
    if (verdict !== Verdict.VALID && verdict !== Verdict.INVALID) throw new ChipError('inconsistent', `verdict byte ${verdict}`);
    const consistent = mod(bigFrom(e) + x1, SM2_N) === r;
    if (consistent !== (verdict === Verdict.VALID)) throw new ChipError('inconsistent', "verdict disagrees with x1'");
    return consistent;
  }
}

function plausible(sig: Sm2Signature): boolean {
  return sig.r >= 1n && sig.r < SM2_N && sig.s >= 1n && sig.s < SM2_N && mod(sig.r + sig.s, SM2_N) !== 0n;
}
