// Labelled scenarios: normal operation, every attack class of SPEC §2 and genuine faults. Each one
// documents what it does; the table of scenario → indicator → reason is in tools/sim/README.md.
// Attacks target stream MU1; MU2 (when present) is its redundant twin on the same bay and stays genuine.
import { encodeFrame, patchSeqData, patchU32, readI32, setSimulateBit } from '../../src/sv/encode.ts';
import type { SvFrame } from '../../src/sv/types.ts';
import { deriveKeyPair, signatureToRaw, sm2Sign } from '../../src/crypto/sm2.ts';
import { keyContent } from '../../src/crypto/signed-frames.ts';
import type { ChannelKind, ChannelPhase } from '../../src/model/channels.ts';
import type { MergingUnit, ProducedFrame } from './merging-unit.ts';
import type { Scenario, SimContext, SimPlan } from './engine.ts';
import type { FaultEvent } from './waveforms.ts';

const ROGUE_MAC = '02:66:66:00:00:99';
const ATTACKER_KEY_ID = 0x7777;

type Sel = (kind: ChannelKind, phase: ChannelPhase) => boolean;
const PHASE_I: Sel = (k, p) => k === 'current' && p !== 'N';
const ALL_I: Sel = (k) => k === 'current';

/** Multiply selected channels of every ASDU of an encoded frame in place (raw INT32, saturating). */
function scaleChannels(buf: Uint8Array, f: ProducedFrame, mu: MergingUnit, sel: Sel, factor: number): void {
  const chans = mu.cfg.channels.channels;
  for (const a of f.layout.asdus) {
    chans.forEach((c, i) => {
      if (!sel(c.kind, c.phase)) return;
      const o = a.seqData + 8 * i;
      patchU32(buf, o, Math.max(-2147483648, Math.min(2147483647, Math.round(readI32(buf, o) * factor))) | 0);
    });
  }
}

function isMu1(mu: MergingUnit): boolean {
  return mu.cfg.name === 'MU1';
}
function inWindow(ctx: SimContext, mu: MergingUnit, f: ProducedFrame, fromS: number, toS: number): boolean {
  const t = ctx.timeS(mu, f);
  return t >= fromS && t < toS;
}

/** Re-encode a frame object with a new first smpCnt for consecutive ASDUs. */
function withCounter(obj: SvFrame, smpCnt: number, wrap: number): SvFrame {
  obj.asdus.forEach((a, i) => {
    a.smpCnt = (smpCnt + i) % wrap;
  });
  return obj;
}

function addFault(plan: SimPlan, bay: number, fault: FaultEvent, detail: string): void {
  plan.bays[bay]!.params.faults.push(fault);
  plan.events.push({
    kind: 'fault',
    detail,
    bay,
    startS: fault.startS,
    endS: fault.startS + fault.durationS,
    mayRaise: ['trip', 'faultMatch'],
  });
}

function faultOf(plan: SimPlan, type: FaultEvent['type'], startS: number, durationS: number, xr: number): FaultEvent {
  const load = plan.bays[0]!.params.loadA;
  return { type, startS, durationS, currentA: load * 10, xr, residualVoltage: 0.2 };
}

const normal: Scenario = {
  name: 'normal',
  description: 'genuine traffic only: load changes, harmonics, noise; nothing must be raised',
};

const unknownSource: Scenario = {
  name: 'unknown-source',
  description: "a rogue device with an unknown source MAC republishes MU1's stream with its own counter (30–60 % of the run)",
  onFrame(ctx, mu, f) {
    ctx.emitFrame(mu, f);
    if (!isMu1(mu) || !inWindow(ctx, mu, f, 0.3 * ctx.durationS, 0.6 * ctx.durationS)) return;
    const st = state(ctx, 'rogue', () => ({ cnt: 0 }));
    const obj = withCounter(mu.frameObject(f), st.cnt, mu.cfg.samplesPerSecond);
    st.cnt = (st.cnt + mu.cfg.nofASDU) % mu.cfg.samplesPerSecond;
    obj.src = ROGUE_MAC;
    delete obj.security;
    const { bytes } = encodeFrame(obj);
    ctx.schedule(mu, bytes, bytes.length, f.relNs + ctx.periodNs(mu) / 2, {
      stream: mu.cfg.name,
      verdict: { indicator: 'mac', reason: 'unknown-source' },
      also: [{ indicator: 'logic', reason: 'interleaved-counter' }],
    });
  },
};

const spoofedMac: Scenario = {
  name: 'spoofed-mac',
  description: "attacker spoofs MU1's MAC and races each genuine frame with a copy (same smpCnt) carrying trip-level currents (30–50 %)",
  onFrame(ctx, mu, f) {
    ctx.emitFrame(mu, f);
    if (!isMu1(mu) || !inWindow(ctx, mu, f, 0.3 * ctx.durationS, 0.5 * ctx.durationS)) return;
    const obj = mu.frameObject(f);
    delete obj.security;
    const { bytes, layout } = encodeFrame(obj);
    scaleChannels(bytes, { ...f, buf: bytes, layout }, mu, ALL_I, 8);
    ctx.schedule(
      mu,
      bytes,
      bytes.length,
      f.relNs + 40_000,
      ctx.label(mu, 'injected', 'logic', 'smpcnt-duplicate', [{ indicator: 'trip', reason: 'trip-without-fault' }]),
    );
  },
};

const interleavedInjection: Scenario = {
  name: 'interleaved-injection',
  description: 'QUT 9311a: three bursts of injected frames spoofing a short circuit, with their own smpCnt from 0, interleaved with MU1',
  onFrame(ctx, mu, f) {
    ctx.emitFrame(mu, f);
    if (!isMu1(mu)) return;
    const d = ctx.durationS;
    const burst = [0.2, 0.45, 0.7].findIndex((s) => inWindow(ctx, mu, f, s * d, s * d + 0.05 * d));
    const st = state(ctx, 'inj', () => ({ burst: -1, cnt: 0 }));
    if (burst < 0) return;
    if (burst !== st.burst) {
      st.burst = burst;
      st.cnt = 0;
    }
    const obj = withCounter(mu.frameObject(f), st.cnt, mu.cfg.samplesPerSecond);
    delete obj.security;
    st.cnt = (st.cnt + mu.cfg.nofASDU) % mu.cfg.samplesPerSecond;
    const { bytes, layout } = encodeFrame(obj);
    const g = { ...f, buf: bytes, layout };
    scaleChannels(bytes, g, mu, ALL_I, 10);
    scaleChannels(bytes, g, mu, (k, p) => k === 'voltage' && p === 'A', 0.2);
    ctx.schedule(
      mu,
      bytes,
      bytes.length,
      f.relNs + ctx.periodNs(mu) / 2,
      ctx.label(mu, 'injected', 'logic', 'interleaved-counter', [{ indicator: 'trip', reason: 'trip-without-fault' }]),
    );
  },
};

/** Keeps 0.2 s of MU1's seqData (a whole number of cycles at 50 and 60 Hz) to paste over later frames. */
function ringOf(ctx: SimContext, mu: MergingUnit) {
  return state(ctx, 'ring', () => ({ frames: Math.round(mu.frameRate * 0.2), data: [] as Uint8Array[] }));
}

const valueModification: Scenario = {
  name: 'value-modification',
  description:
    "QUT 921a: during a real phase-A-to-ground fault, MU1's phase currents and voltages are overwritten in place with pre-fault values (clean smpCnt); IN still shows the fault",
  prepare(plan) {
    const f = faultOf(plan, 'AG', plan.opts.durationS * 0.3, plan.opts.durationS * 0.2, 12);
    addFault(plan, 0, f, 'AG fault hidden by the attacker on MU1');
  },
  onFrame(ctx, mu, f) {
    if (!isMu1(mu)) return ctx.emitFrame(mu, f);
    const d = ctx.durationS;
    const ring = ringOf(ctx, mu);
    const t = ctx.timeS(mu, f);
    if (t < 0.3 * d) {
      ring.data[f.index % ring.frames] = f.buf.slice(0, f.length);
      return ctx.emitFrame(mu, f);
    }
    if (t >= 0.5 * d || ring.data.length < ring.frames) return ctx.emitFrame(mu, f);
    const src = ring.data[f.index % ring.frames]!;
    const chans = mu.cfg.channels.channels;
    f.layout.asdus.forEach((a) => {
      chans.forEach((c, i) => {
        if (c.phase === 'N') return; // the attacker forgets the neutral: IA+IB+IC no longer equals IN
        patchU32(f.buf, a.seqData + 8 * i, readI32(src, a.seqData + 8 * i));
      });
    });
    ctx.emitFrame(mu, f, ctx.label(mu, 'modified', 'badData', 'kcl-violation', [{ indicator: 'attackMatch', reason: 'fault-masking' }]));
  },
};

const deletion: Scenario = {
  name: 'deletion',
  description: 'QUT 971a: the first 0.1 s of MU1 frames after a real fault starts are deleted (protection delayed)',
  prepare(plan) {
    addFault(
      plan,
      0,
      faultOf(plan, 'AG', plan.opts.durationS * 0.4, plan.opts.durationS * 0.2, 12),
      'AG fault; its first 0.1 s deleted on MU1',
    );
  },
  onFrame(ctx, mu, f) {
    if (!isMu1(mu)) return ctx.emitFrame(mu, f);
    const from = 0.4 * ctx.durationS;
    if (inWindow(ctx, mu, f, from, from + 0.1)) {
      ctx.markDeleted(mu, f);
      return;
    }
    const st = state(ctx, 'del', () => ({ labelled: false }));
    if (!st.labelled && ctx.timeS(mu, f) >= from + 0.1) {
      st.labelled = true;
      return ctx.emitFrame(mu, f, ctx.label(mu, 'modified-outside-kc', 'logic', 'gap', [{ indicator: 'logic', reason: 'smpcnt-jump' }]));
    }
    ctx.emitFrame(mu, f);
  },
};

const replay: Scenario = {
  name: 'replay',
  description:
    'MU1 frames recorded at 20 % of the run are re-sent verbatim (old smpCnt) 0.25 s long at 60 %, interleaved with the live stream',
  onFrame(ctx, mu, f) {
    ctx.emitFrame(mu, f);
    if (!isMu1(mu)) return;
    const d = ctx.durationS;
    const st = state(ctx, 'rec', () => ({ frames: [] as Uint8Array[], i: 0 }));
    if (inWindow(ctx, mu, f, 0.2 * d, 0.2 * d + 0.25)) st.frames.push(f.buf.slice(0, f.length));
    else if (inWindow(ctx, mu, f, 0.6 * d, 0.6 * d + 0.25) && st.i < st.frames.length) {
      const b = st.frames[st.i++]!;
      ctx.schedule(
        mu,
        b,
        b.length,
        f.relNs + ctx.periodNs(mu) / 2,
        ctx.label(mu, 'resent', 'logic', 'replay', [
          { indicator: 'logic', reason: 'smpcnt-reorder' },
          { indicator: 'logic', reason: 'smpcnt-duplicate' },
          { indicator: 'logic', reason: 'smpcnt-jump' },
          { indicator: 'logic', reason: 'interleaved-counter' },
          { indicator: 'attackMatch', reason: 'replay' },
        ]),
      );
    }
  },
};

const smpCntAnomalies: Scenario = {
  name: 'smpcnt-anomalies',
  description: 'MU1: three duplicated frames (20–24 %), a smpCnt jump of +37 (50 %), three swapped frame pairs (75–79 %)',
  onFrame(ctx, mu, f) {
    if (!isMu1(mu)) return ctx.emitFrame(mu, f);
    const d = ctx.durationS;
    const t = ctx.timeS(mu, f);
    const st = state(ctx, 'anom', () => ({
      dup: [0.2, 0.22, 0.24].map((x) => x * d),
      swap: [0.75, 0.77, 0.79].map((x) => x * d),
      jumped: false,
      jumpLabel: false,
      held: null as null | { b: Uint8Array; relNs: number; secCnt: number },
    }));
    if (st.held) {
      // frame j+1 arrives before frame j: j+1 looks like a skip, j arrives late (out of order)
      ctx.emitFrame(
        mu,
        f,
        ctx.label(
          mu,
          'modified-outside-kc',
          'logic',
          'smpcnt-reorder',
          [
            { indicator: 'logic', reason: 'gap' },
            { indicator: 'logic', reason: 'smpcnt-jump' },
          ],
          'arrives before its predecessor',
        ),
      );
      const h = st.held;
      st.held = null;
      ctx.breakBlock(mu, h.secCnt);
      ctx.emit(
        mu,
        h.b,
        h.b.length,
        f.relNs + 10_000,
        ctx.label(
          mu,
          'resent',
          'logic',
          'smpcnt-reorder',
          [{ indicator: 'logic', reason: 'smpcnt-duplicate' }],
          'arrives after its successor',
        ),
      );
      return;
    }
    if (st.jumpLabel) {
      st.jumpLabel = false;
      return ctx.emitFrame(mu, f, ctx.label(mu, 'modified-outside-kc', 'logic', 'smpcnt-jump', [{ indicator: 'logic', reason: 'gap' }]));
    }
    if (st.swap.length && t >= st.swap[0]!) {
      st.swap.shift();
      st.held = { b: f.buf.slice(0, f.length), relNs: f.relNs, secCnt: f.secCnt };
      return;
    }
    ctx.emitFrame(mu, f);
    if (st.dup.length && t >= st.dup[0]!) {
      st.dup.shift();
      ctx.schedule(mu, f.buf, f.length, f.relNs + 20_000, ctx.label(mu, 'resent', 'logic', 'smpcnt-duplicate'));
    }
    if (!st.jumped && t >= 0.5 * d) {
      st.jumped = true;
      mu.smpCntOffset += 37;
      st.jumpLabel = true;
    }
  },
};

const configMismatch: Scenario = {
  name: 'config-mismatch',
  description: 'MU1 frames with confRev+1 (20–30 %), a different svID (45–55 %) and a different datSet (70–80 %)',
  prepare(plan) {
    for (const m of plan.mus) m.datSet = `${m.svID}LD0/LLN0$PhsMeas1`;
  },
  onFrame(ctx, mu, f) {
    if (!isMu1(mu)) return ctx.emitFrame(mu, f);
    const d = ctx.durationS;
    const which = inWindow(ctx, mu, f, 0.2 * d, 0.3 * d)
      ? 'confrev'
      : inWindow(ctx, mu, f, 0.45 * d, 0.55 * d)
        ? 'svid'
        : inWindow(ctx, mu, f, 0.7 * d, 0.8 * d)
          ? 'datset'
          : null;
    if (!which) return ctx.emitFrame(mu, f);
    const obj = mu.frameObject(f);
    for (const a of obj.asdus) {
      if (which === 'confrev') a.confRev = mu.cfg.confRev + 1;
      else if (which === 'svid') a.svID = `${mu.cfg.svID}X`;
      else a.datSet = `${mu.cfg.svID}LD0/LLN0$PhsMeas2`;
    }
    const { bytes } = encodeFrame(obj);
    // datSet is not part of the signed key content; confRev and svID are
    if (which !== 'datset') ctx.breakBlock(mu, f.secCnt);
    ctx.emit(
      mu,
      bytes,
      bytes.length,
      f.relNs,
      ctx.label(mu, which === 'datset' ? 'modified-outside-kc' : 'modified', 'logic', `${which}-mismatch`),
    );
  },
};

const simulateBit: Scenario = {
  name: 'simulate-bit',
  description: 'MU1 frames carry the simulate bit (Reserved 1 bit 15) for 40–60 % of the run',
  onFrame(ctx, mu, f) {
    if (!isMu1(mu) || !inWindow(ctx, mu, f, 0.4 * ctx.durationS, 0.6 * ctx.durationS)) return ctx.emitFrame(mu, f);
    setSimulateBit(f.buf, f.layout, true);
    ctx.emitFrame(mu, f, ctx.label(mu, 'modified-outside-kc', 'logic', 'simulate-bit'));
    setSimulateBit(f.buf, f.layout, false); // the MU reuses its template buffer
  },
};

const FLOOD_FACTOR = 10;
const flood: Scenario = {
  name: 'flood',
  description: `MU1's stream flooded at ${FLOOD_FACTOR}× its rate with copies of its frames (spoofed MAC) for 40–50 % of the run`,
  onFrame(ctx, mu, f) {
    ctx.emitFrame(mu, f);
    if (!isMu1(mu) || !inWindow(ctx, mu, f, 0.4 * ctx.durationS, 0.5 * ctx.durationS)) return;
    const step = ctx.periodNs(mu) / FLOOD_FACTOR;
    for (let i = 1; i < FLOOD_FACTOR; i++) {
      ctx.schedule(mu, f.buf, f.length, Math.round(f.relNs + i * step), {
        stream: mu.cfg.name,
        verdict: { indicator: 'rate', reason: 'flood' },
        also: [
          { indicator: 'logic', reason: 'smpcnt-duplicate' },
          { indicator: 'logic', reason: 'replay' },
        ],
      });
    }
  },
};

const fdiKcl: Scenario = {
  name: 'fdi-kcl',
  description: 'false data injection on MU1 that breaks physics: IA × 1.4 in place, IN untouched (IA+IB+IC ≠ IN), 40–60 %',
  onFrame(ctx, mu, f) {
    if (!isMu1(mu) || !inWindow(ctx, mu, f, 0.4 * ctx.durationS, 0.6 * ctx.durationS)) return ctx.emitFrame(mu, f);
    scaleChannels(f.buf, f, mu, (k, p) => k === 'current' && p === 'A', 1.4);
    ctx.emitFrame(mu, f, ctx.label(mu, 'modified', 'badData', 'kcl-violation'));
  },
};

const fdiStealthy: Scenario = {
  name: 'fdi-stealthy',
  description:
    "stealthy FDI (a = Hc) on MU1: all currents incl. IN × 1.5, consistent within the stream; only the redundant MU2 or the master's estimate disagree, 40–60 %",
  onFrame(ctx, mu, f) {
    if (!isMu1(mu) || !inWindow(ctx, mu, f, 0.4 * ctx.durationS, 0.6 * ctx.durationS)) return ctx.emitFrame(mu, f);
    scaleChannels(f.buf, f, mu, ALL_I, 1.5);
    ctx.emitFrame(
      mu,
      f,
      ctx.label(
        mu,
        'modified',
        'badData',
        'stealthy-fdi',
        [],
        'consistent within the stream: detectable only against the redundant MU of the same bay or upstream',
      ),
    );
  },
};

const tripWithoutFault: Scenario = {
  name: 'trip-without-fault',
  description: 'MU1 currents (incl. IN) × 8 for 0.1 s at 50 % with healthy voltages and no DC offset: trip-level values without a fault',
  onFrame(ctx, mu, f) {
    const from = 0.5 * ctx.durationS;
    if (!isMu1(mu) || !inWindow(ctx, mu, f, from, from + 0.1)) return ctx.emitFrame(mu, f);
    scaleChannels(f.buf, f, mu, ALL_I, 8);
    ctx.emitFrame(mu, f, ctx.label(mu, 'modified', 'trip', 'trip-without-fault', [{ indicator: 'badData', reason: 'stealthy-fdi' }]));
  },
};

const realFault: Scenario = {
  name: 'real-fault',
  description: 'genuine short circuits on BAY1: phase A to ground (20 %), B–C (50 %), three-phase (80 %), 80 ms each; no attack',
  prepare(plan) {
    const d = plan.opts.durationS;
    addFault(plan, 0, faultOf(plan, 'AG', 0.2 * d, 0.08, 10), 'phase A to ground, X/R 10');
    addFault(plan, 0, faultOf(plan, 'BC', 0.5 * d, 0.08, 15), 'phase B to C, X/R 15');
    addFault(plan, 0, faultOf(plan, 'ABC', 0.8 * d, 0.08, 20), 'three-phase, X/R 20');
  },
};

const faultReplay: Scenario = {
  name: 'fault-replay',
  description: "a genuine AG fault at 20 % is recorded from MU1 and replayed over MU1's values at 65 % with fresh counters",
  prepare(plan) {
    addFault(plan, 0, faultOf(plan, 'AG', 0.2 * plan.opts.durationS, 0.1, 12), 'phase A to ground, recorded by the attacker');
  },
  onFrame(ctx, mu, f) {
    if (!isMu1(mu)) return ctx.emitFrame(mu, f);
    const d = ctx.durationS;
    const st = state(ctx, 'rec', () => ({ data: [] as Uint8Array[], i: 0 }));
    const recFrom = 0.2 * d - 0.02;
    const len = 0.14;
    if (inWindow(ctx, mu, f, recFrom, recFrom + len)) {
      st.data.push(f.buf.slice(0, f.length));
      return ctx.emitFrame(mu, f);
    }
    if (inWindow(ctx, mu, f, 0.65 * d, 0.65 * d + len) && st.i < st.data.length) {
      const src = st.data[st.i++]!;
      for (const a of f.layout.asdus) patchSeqData(f.buf, a, src.subarray(a.seqData, a.seqData + a.seqDataLength));
      return ctx.emitFrame(
        mu,
        f,
        ctx.label(mu, 'modified', 'attackMatch', 'fault-replay', [
          { indicator: 'trip', reason: 'trip-without-fault' },
          { indicator: 'faultMatch', reason: 'fault-replay' },
          { indicator: 'badData', reason: 'stealthy-fdi' },
        ]),
      );
    }
    ctx.emitFrame(mu, f);
  },
};

const signatureFaults: Scenario = {
  name: 'signature-faults',
  description:
    'signed MU1: values altered keeping the old trailer (30–35 %), trailer stripped (50–55 %), re-signed with an unknown keyId (70–75 %)',
  defaultSign: { kind: 'block', blockLen: 80 },
  onFrame(ctx, mu, f) {
    if (!isMu1(mu) || !mu.signer) return ctx.emitFrame(mu, f);
    const d = ctx.durationS;
    if (inWindow(ctx, mu, f, 0.3 * d, 0.35 * d)) {
      scaleChannels(f.buf, f, mu, PHASE_I, 1.1);
      return ctx.emitFrame(mu, f, {
        stream: mu.cfg.name,
        verdict: { indicator: 'signature', reason: 'bad-signature' },
        also: [{ indicator: 'badData', reason: 'kcl-violation' }],
      });
    }
    if (inWindow(ctx, mu, f, 0.5 * d, 0.55 * d)) {
      const obj = mu.frameObject(f);
      delete obj.security;
      const { bytes } = encodeFrame(obj);
      ctx.breakBlock(mu, f.secCnt);
      return ctx.emit(mu, bytes, bytes.length, f.relNs, {
        stream: mu.cfg.name,
        verdict: { indicator: 'signature', reason: 'missing' },
        also: [],
      });
    }
    if (inWindow(ctx, mu, f, 0.7 * d, 0.75 * d)) {
      const obj = mu.frameObject(f);
      const sec = obj.security!;
      const key = state(ctx, 'attackerKey', () => deriveKeyPair('attacker'));
      obj.security = { version: 1, mode: 1, keyId: ATTACKER_KEY_ID, secCnt: sec.secCnt, blockLen: 1, signature: new Uint8Array(64) };
      const kc = keyContent({ appId: obj.appId, svID: obj.asdus[0]!.svID, secCnt: sec.secCnt, asdus: obj.asdus });
      obj.security.signature = signatureToRaw(sm2Sign(key, kc));
      const { bytes } = encodeFrame(obj);
      ctx.breakBlock(mu, f.secCnt);
      return ctx.emit(mu, bytes, bytes.length, f.relNs, {
        stream: mu.cfg.name,
        verdict: { indicator: 'signature', reason: 'unknown-key' },
        also: [],
      });
    }
    ctx.emitFrame(mu, f);
  },
};

const fakeFault: Scenario = {
  name: 'fake-fault',
  description:
    'masquerade fake fault (ERENO uc03) on MU1 for 0.1 s at 50 %: all currents incl. IN × 10 at the load angle and VA × 0.25 (VN kept consistent) — a short circuit without the inductive fault angle or DC offset of a real one',
  onFrame(ctx, mu, f) {
    const from = 0.5 * ctx.durationS;
    if (!isMu1(mu) || !inWindow(ctx, mu, f, from, from + 0.1)) return ctx.emitFrame(mu, f);
    scaleChannels(f.buf, f, mu, ALL_I, 10);
    const chans = mu.cfg.channels.channels;
    const va = chans.findIndex((c) => c.kind === 'voltage' && c.phase === 'A');
    const vn = chans.findIndex((c) => c.kind === 'voltage' && c.phase === 'N');
    for (const a of f.layout.asdus) {
      if (va < 0) break;
      const x = readI32(f.buf, a.seqData + 8 * va);
      patchU32(f.buf, a.seqData + 8 * va, Math.round(x * 0.25) | 0);
      if (vn >= 0) patchU32(f.buf, a.seqData + 8 * vn, (readI32(f.buf, a.seqData + 8 * vn) - Math.round(x * 0.75)) | 0);
    }
    ctx.emitFrame(
      mu,
      f,
      ctx.label(mu, 'modified', 'attackMatch', 'attack-model', [
        { indicator: 'trip', reason: 'trip-without-fault' },
        { indicator: 'badData', reason: 'stealthy-fdi' },
        { indicator: 'badData', reason: 'not-identifiable' },
      ]),
    );
  },
};

const timingAttack: Scenario = {
  name: 'timing-anomalies',
  description:
    'MU1 hijacked at 25 %: 50 ms sent at twice the rate with in-sequence counters, then 100 ms at half the rate until the counter is back in time; at 65 %: MU1 frames held back (delay ramping to 40 ms, held, then released in one burst)',
  onFrame(ctx, mu, f) {
    if (!isMu1(mu)) return ctx.emitFrame(mu, f);
    const d = ctx.durationS;
    const t = ctx.timeS(mu, f);
    const P = ctx.periodNs(mu);
    const step = mu.cfg.nofASDU;
    const wrap = mu.cfg.samplesPerSecond;
    const fast = Math.round(0.05e9 / P); // genuine periods at twice the rate
    const st = state(ctx, 'timing', () => ({ k: -1, c0: 0, dk: -1, delay: 0 }));
    const also = [
      { indicator: 'logic' as const, reason: 'arrival-late' },
      { indicator: 'logic' as const, reason: 'jitter-burst' },
      { indicator: 'logic' as const, reason: 'arrival-early' },
      { indicator: 'rate' as const, reason: 'flood' },
    ];
    if (t >= 0.25 * d && st.k < 3 * fast) {
      if (st.k < 0) {
        st.k = 0;
        st.c0 = f.layout.asdus.length > 0 ? mu.frameObject(f).asdus[0]!.smpCnt : 0;
      }
      const k = st.k++;
      const send = (n: number, relNs: number): void => {
        const obj = withCounter(mu.frameObject(f), (st.c0 + n * step) % wrap, wrap);
        delete obj.security;
        const { bytes } = encodeFrame(obj);
        ctx.schedule(mu, bytes, bytes.length, relNs, ctx.label(mu, 'modified', 'logic', 'arrival-early', also));
      };
      if (k < fast) {
        send(2 * k, f.relNs);
        send(2 * k + 1, f.relNs + P / 2);
      } else if ((k - fast) % 2 === 0) send(2 * fast + (k - fast) / 2, f.relNs);
      return;
    }
    if (t >= 0.65 * d) {
      // delay: +P/2 per frame up to 40 ms, held for 200 frames, then released: every held frame goes out at
      // once (arrival never earlier than the previous one, so the order is kept)
      const k = ++st.dk;
      const up = Math.round(40e6 / (P / 2));
      const arrival = Math.max(k < up ? f.relNs + (k * P) / 2 : k < up + 200 ? f.relNs + 40e6 : f.relNs, st.delay);
      if (arrival > f.relNs) {
        st.delay = arrival;
        ctx.schedule(mu, f.buf, f.length, arrival, ctx.label(mu, 'modified-outside-kc', 'logic', 'arrival-late', also));
        return;
      }
    }
    ctx.emitFrame(mu, f);
  },
};

export const SCENARIOS: readonly Scenario[] = [
  normal,
  unknownSource,
  spoofedMac,
  interleavedInjection,
  valueModification,
  deletion,
  replay,
  smpCntAnomalies,
  configMismatch,
  simulateBit,
  flood,
  fdiKcl,
  fdiStealthy,
  tripWithoutFault,
  realFault,
  faultReplay,
  signatureFaults,
  fakeFault,
  timingAttack,
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

// Per-run scenario state lives on the context, so a scenario object can be reused across runs.
const STATE = new WeakMap<SimContext, Map<string, unknown>>();
function state<T>(ctx: SimContext, key: string, init: () => T): T {
  let m = STATE.get(ctx);
  if (!m) {
    m = new Map();
    STATE.set(ctx, m);
  }
  if (!m.has(key)) m.set(key, init());
  return m.get(key) as T;
}
