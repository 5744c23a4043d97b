// γgj (SPEC §2 step 1, signed-frames.md): frames of streams configured as signed must carry the SVDE
// security trailer with a known key and a valid SM2 signature — per frame (mode 1) or per block of B frames
// (modes 2/3: the block end signs the SM3 digests of the block's key contents in secCnt order). secCnt must
// increase (else `logic`/`replay`, whatever the signature says). Verification is asynchronous (a serial chip
// or software); its verdicts name the frame they are about. Frames that could not be verified (verifier
// saturated or failing) are counted as unverified — never as good.
import type { SignatureCounters, SignatureVerifier, SignedStream } from '../../model/signature.ts';
import { keyContentOfBatch, blockMessage } from '../../crypto/signed-frames.ts';
import { sm3 } from '../../crypto/sm3.ts';
import type { BatchColumns } from '../../native/index.ts';
import type { FrameContext, Flag, FrameRef, Stage } from '../stage.ts';
import type { StreamRegistry } from '../streams.ts';

/** Digests of block members waiting for their block end, by secCnt (in arrival order = secCnt order). */
interface State {
  keyId: number;
  lastSecCnt: number;
  digests: Map<number, { d: Uint8Array; ref: FrameRef; t: number }>;
  blockLen: number;
}

export class SignatureStage implements Stage {
  readonly name = 'signature';
  readonly counters: SignatureCounters = { signedFrames: 0, verified: 0, failed: 0, unverified: 0, missing: 0 };
  #state: Array<State | undefined>;
  #verifier: SignatureVerifier;
  #inFlight = new Set<Promise<void>>();
  #periodNs: number[];

  constructor(registry: StreamRegistry, signed: readonly SignedStream[], verifier: SignatureVerifier) {
    this.#verifier = verifier;
    this.#state = registry.streams.map((s) => {
      const cfg = signed.find((x) => x.stream === s.cfg.name);
      return cfg === undefined ? undefined : { keyId: cfg.keyId, lastSecCnt: -1, digests: new Map(), blockLen: 0 };
    });
    this.#periodNs = registry.streams.map((s) => 1e9 / s.cfg.framesPerSecond);
  }

  /** verified / signed frames (the coverage figure of the status API and panel). */
  get coverage(): number {
    return this.counters.signedFrames === 0 ? 1 : this.counters.verified / this.counters.signedFrames;
  }

  onFrame(ctx: FrameContext, flag: Flag): boolean {
    const s = ctx.stream;
    if (s === undefined) return true;
    const st = this.#state[s.index];
    if (st === undefined) return true;
    const c = ctx.cols;
    const i = ctx.i;
    this.counters.signedFrames++;
    this.#checkTimeout(st, ctx, flag);
    if (c.trailerPresent[i] === 0) {
      this.counters.missing++;
      flag('signature', 'missing', { discard: true });
      return false;
    }
    if (c.trailerStatus[i] !== 0) {
      this.counters.failed++;
      flag('signature', 'bad-trailer', { discard: true, detail: { error: trailerError(c, i) } });
      return false;
    }
    const keyId = c.keyId[i]!;
    if (keyId !== st.keyId || !this.#verifier.knows(keyId, s.cfg.name)) {
      this.counters.failed++;
      flag('signature', 'unknown-key', { discard: true, detail: { keyId } });
      return false;
    }
    const secCnt = c.secCnt[i]!;
    if (secCnt <= st.lastSecCnt) {
      flag('logic', 'replay', { discard: true, detail: { secCnt, last: st.lastSecCnt } });
      return false;
    }
    st.lastSecCnt = secCnt;
    const mode = c.trailerMode[i]!;
    const ref: FrameRef = { frame: ctx.frameNo, tsNs: ctx.tsNs, stream: s.cfg.name };
    const kc = keyContentOfBatch(ctx.batch, i);
    if (mode === 1) {
      this.#submit(keyId, kc, this.#signature(ctx), [ref], flag);
      return true;
    }
    // Block modes: the block end (mode 3) carries B; its block is secCnt end−B+1 … end.
    const blockLen = c.blockLen[i]!;
    st.blockLen = blockLen;
    st.digests.set(secCnt, { d: sm3(kc), ref, t: ctx.t });
    if (mode !== 3) return true;
    const first = secCnt - blockLen + 1;
    const digests: Uint8Array[] = [];
    const refs: FrameRef[] = [];
    const stale: FrameRef[] = [];
    for (const [sc, e] of st.digests) {
      if (sc < first) stale.push(e.ref);
      else {
        digests.push(e.d);
        refs.push(e.ref);
      }
    }
    st.digests.clear();
    if (stale.length > 0) this.#incomplete(stale, blockLen, flag);
    if (digests.length !== blockLen) {
      // A frame of the block is missing (deleted, or dropped as a replay because it came out of order).
      this.counters.failed += refs.length;
      flag('signature', 'bad-signature', {
        detail: { block: first, frames: refs.length, expected: blockLen, firstFrame: refs[0]?.frame ?? ctx.frameNo },
      });
      return true;
    }
    this.#submit(keyId, blockMessage(first, digests), this.#signature(ctx), refs, flag);
    return true;
  }

  /** Resolves when every verification submitted so far has answered. */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  finish(flag: Flag): void {
    for (const st of this.#state) {
      if (st === undefined || st.digests.size === 0) continue;
      this.#incomplete(
        [...st.digests.values()].map((e) => e.ref),
        st.blockLen,
        flag,
      );
      st.digests.clear();
    }
  }

  #signature(ctx: FrameContext): Uint8Array {
    const c = ctx.cols;
    const off = c.rawOff[ctx.i]! + c.sigOff[ctx.i]!;
    return c.raw.slice(off, off + c.sigLen[ctx.i]!);
  }

  #submit(keyId: number, message: Uint8Array, signature: Uint8Array, refs: FrameRef[], flag: Flag): void {
    const last = refs[refs.length - 1]!;
    const p = this.#verifier.verify(keyId, message, signature, last.stream).then(
      (ok) => {
        if (ok) this.counters.verified += refs.length;
        else {
          this.counters.failed += refs.length;
          flag('signature', 'bad-signature', { at: last, detail: { frames: refs.length, firstFrame: refs[0]!.frame } });
        }
      },
      () => {
        this.counters.unverified += refs.length;
      },
    );
    const tracked = p.finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }

  #incomplete(refs: FrameRef[], blockLen: number, flag: Flag): void {
    this.counters.unverified += refs.length;
    flag('signature', 'incomplete-block', { at: refs[refs.length - 1]!, detail: { frames: refs.length, expected: blockLen } });
  }

  /** Block members waiting longer than two blocks' time belong to a block that will never close. */
  #checkTimeout(st: State, ctx: FrameContext, flag: Flag): void {
    if (st.digests.size === 0 || st.blockLen === 0) return;
    const oldest = st.digests.values().next().value!;
    if (ctx.t - oldest.t > 2 * st.blockLen * this.#periodNs[ctx.stream!.index]!) {
      this.#incomplete(
        [...st.digests.values()].map((e) => e.ref),
        st.blockLen,
        flag,
      );
      st.digests.clear();
    }
  }
}

/**
 * Why the decoder refused a trailer, from its columns: batch.error() only describes frames whose decoding failed,
 * and a bad trailer does not fail the frame. Same checks, same order as the decoder.
 */
function trailerError(c: BatchColumns, i: number): string {
  const avail = c.capLen[i]! - c.trailerOff[i]!;
  if (avail < 10) return 'truncated: fewer than 10 bytes after Length';
  const version = c.trailerVersion[i]!;
  const mode = c.trailerMode[i]!;
  if (version !== 1) return `unsupported version ${version}`;
  if (mode < 1 || mode > 3) return `unknown mode ${mode}`;
  const want = mode === 2 ? 10 : 74;
  if (c.trailerLen[i] !== want) return `Reserved 2 (${c.trailerLen[i]}) disagrees with mode ${mode}'s block length ${want}`;
  if (avail < want) return 'truncated: signature cut short';
  return `bad blockLen ${c.blockLen[i]} for mode ${mode}`;
}
