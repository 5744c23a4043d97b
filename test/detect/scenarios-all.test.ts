// Every simulator scenario through the whole offline pipeline (the stages `svde analyze` runs, built by
// src/detect/engine.ts), judged against its ground truth:
//  - every verdict on a labelled frame is one its label allows (indicator and reason, or one of `also`);
//  - no verdict on an unlabelled frame, except what a genuine event may raise (trip/faultMatch on a real
//    fault of the streams of its bay, never with an attack reason);
//  - every labelled primary (indicator, reason) is raised at least once, and nothing outside the labels:
//    labelled primaries ⊆ raised ⊆ labelled primaries ∪ also;
//  - every alarm (first verdict of an episode) points at a labelled malicious frame (or a genuine event);
//  - the genuine twin MU2 raises nothing but genuine-event verdicts; `normal` raises nothing at all.
// Short captures (2 s, 2 MUs, seed 3): scenario events sit at fractions of the run, so all of them occur.
//
// KNOWN lists where the detector today raises verdicts the labels do not name. They are not hidden: each is
// confined to the attacked stream (and window), must still occur (so a fix makes the test say to drop the
// entry), and the strict form of the check runs as a `todo` test that shows up in the output.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadKeyDir, SoftwareVerifier } from '../../src/crypto/software-verifier.ts';
import { buildStages } from '../../src/detect/engine.ts';
import { Pipeline } from '../../src/detect/pipeline.ts';
import { StreamRegistry } from '../../src/detect/streams.ts';
import type { Alarm, FrameVerdict } from '../../src/model/indicators.ts';
import { readCaptureFile } from '../../src/native/index.ts';
import { expectedStreamsOfTruth, signedStreamsOfTruth } from '../../tools/sim/expected.ts';
import { SCENARIOS } from '../../tools/sim/scenarios.ts';
import type { GroundTruth, MaliciousFrame } from '../../tools/sim/truth.ts';
import { svdeSim } from '../helpers/repo.ts';

interface Known {
  /** indicator/reason */
  kind: string;
  stream: string;
  /** 'attack': from the first labelled frame to one second of traffic after the last; 'rest': to the end of the run. */
  window: 'attack' | 'rest';
  why: string;
}

const SOURCE_RATE =
  "the attacker sends from MU1's own source MAC, so that source really exceeds N_th = 1.1·f: the rate stage flags genuine and injected frames of the source alike; the labels do not list rate/flood";
const KNOWN: Record<string, Known[]> = {
  'spoofed-mac': [{ kind: 'rate/flood', stream: 'MU1', window: 'attack', why: SOURCE_RATE }],
  'interleaved-injection': [{ kind: 'rate/flood', stream: 'MU1', window: 'attack', why: SOURCE_RATE }],
  replay: [{ kind: 'rate/flood', stream: 'MU1', window: 'attack', why: SOURCE_RATE }],
  flood: [
    {
      kind: 'rate/flood',
      stream: 'MU1',
      window: 'attack',
      why: 'the rate stage also flags the genuine MU1 frames among the flood copies (same source); only the copies are labelled',
    },
  ],
  'timing-anomalies': [
    {
      kind: 'rate/flood',
      stream: 'MU1',
      window: 'attack',
      why: 'the release burst and the double-rate phase also flag genuine MU1 frames sent in the same window (labels allow rate/flood only on the modified frames)',
    },
    {
      kind: 'badData/stealthy-fdi',
      stream: 'MU1',
      window: 'attack',
      why: "frames arriving at twice the rate with in-sequence counters shift MU1's samples against MU2: a cycle of MU1 disagrees with its twin; not in the labels' also",
    },
  ],
  'smpcnt-anomalies': [
    {
      kind: 'badData/stealthy-fdi',
      stream: 'MU1',
      window: 'rest',
      why: "after the +37 counter jump MU1's samples stay 37 samples (≈166° at 80 samples/cycle) out of step with MU2 to the end of the run; badData sees the twins disagree every cycle; labels only name the jump frame",
    },
  ],
  'signature-faults': [
    {
      kind: 'badData/stealthy-fdi',
      stream: 'MU1',
      window: 'attack',
      why: "values altered under a kept trailer: badData names the cycle stealthy-fdi where the label's also says kcl-violation (the alteration keeps IA+IB+IC = IN)",
    },
  ],
};

/** Reasons that accuse an attack: a genuine event must never raise them. */
const ATTACK_REASONS = new Set(['trip-without-fault', 'fault-replay', 'attack-model']);

interface Run {
  truth: GroundTruth;
  verdicts: FrameVerdict[];
  alarms: Alarm[];
  frames: number;
}

async function runScenario(dir: string, scenario: string): Promise<Run> {
  const file = path.join(dir, `${scenario}.pcap`);
  const r = await svdeSim(['--out', file, '--scenario', scenario, '--mus', '2', '--duration', '2s', '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
  const truth = JSON.parse(readFileSync(`${file}.truth.json`, 'utf8')) as GroundTruth;
  const registry = new StreamRegistry(expectedStreamsOfTruth(truth));
  const signed = signedStreamsOfTruth(truth);
  const { stages, signature } = buildStages(registry, {
    signed,
    ...(signed.length > 0 ? { verifier: new SoftwareVerifier(loadKeyDir(`${file}.keys`)) } : {}),
  });
  const verdicts: FrameVerdict[] = [];
  const alarms: Alarm[] = [];
  const p = new Pipeline({
    registry,
    stages,
    onVerdict: (v) => verdicts.push({ ...v }),
    alarms: { onAlarm: (a) => alarms.push({ ...a }) },
  });
  for (const b of readCaptureFile(file)) p.processBatch(b);
  if (signature !== undefined) await signature.drain();
  p.finish();
  return { truth, verdicts, alarms, frames: p.stats.frames };
}

const kindOf = (v: { indicator: string; reason: string }): string => `${v.indicator}/${v.reason}`;
const show = (v: FrameVerdict): string => `${kindOf(v)} on ${v.stream} @${v.frame}`;

interface Judgement {
  /** Problems found; empty when the scenario behaves exactly as labelled (given the known deviations). */
  problems: string[];
  /** Verdict kinds excused by a KNOWN entry, with counts. */
  excused: Record<string, number>;
}

function judge(run: Run, known: readonly Known[]): Judgement {
  const { truth, verdicts, alarms } = run;
  const labels = new Map<number, MaliciousFrame>(truth.malicious.map((m) => [m.frame, m]));
  const allowedBy = (m: MaliciousFrame | undefined, v: { indicator: string; reason: string }): boolean =>
    m !== undefined &&
    ((m.indicator === v.indicator && m.reason === v.reason) ||
      (m.also ?? []).some((a) => a.indicator === v.indicator && a.reason === v.reason));
  // Two cycles of all traffic after a genuine event's end (the cycle that completes it, and one more).
  const fps = truth.config.streams.reduce((a, s) => a + s.framesPerSecond, 0);
  const slack = Math.round((2 * fps) / 50);
  const genuine = (v: { frame: number; indicator: string; reason: string; stream: string }): boolean =>
    !labels.has(v.frame) &&
    !ATTACK_REASONS.has(v.reason) &&
    truth.genuineEvents.some(
      (e) =>
        e.streams.includes(v.stream) &&
        v.frame >= e.fromFrame &&
        v.frame <= e.toFrame + slack &&
        (e.mayRaise as string[]).includes(v.indicator),
    );
  const firstBad = truth.malicious[0]?.frame ?? Infinity;
  const lastBad = truth.malicious.at(-1)?.frame ?? -Infinity;
  const excuse = (v: { frame: number; indicator: string; reason: string; stream: string }): Known | undefined =>
    known.find(
      (k) => k.kind === kindOf(v) && k.stream === v.stream && v.frame >= firstBad && (k.window === 'rest' || v.frame <= lastBad + fps),
    );

  const problems: string[] = [];
  const excused: Record<string, number> = {};
  const unexplained = new Map<string, number[]>();
  const raised = new Set<string>();
  for (const v of verdicts) {
    const m = labels.get(v.frame);
    if (allowedBy(m, v)) {
      raised.add(kindOf(v));
      continue;
    }
    if (genuine(v)) continue;
    const k = excuse(v);
    if (k !== undefined) {
      excused[k.kind] = (excused[k.kind] ?? 0) + 1;
      continue;
    }
    const key = `${kindOf(v)} on ${v.stream} ${m === undefined ? 'unlabelled' : `labelled ${kindOf(m)}`}`;
    unexplained.set(key, [...(unexplained.get(key) ?? []), v.frame]);
  }
  for (const [key, frames] of unexplained)
    problems.push(`${frames.length}× ${key} (frames ${frames.slice(0, 5).join(', ')}${frames.length > 5 ? ', …' : ''})`);
  const primaries = new Set(truth.malicious.map(kindOf));
  for (const p of primaries) if (!raised.has(p)) problems.push(`labelled ${p} never raised`);
  for (const a of alarms) {
    const at = { frame: a.firstFrame, indicator: a.indicator, reason: a.reason, stream: a.stream };
    if (!allowedBy(labels.get(a.firstFrame), a) && !genuine(at) && excuse(at) === undefined)
      problems.push(`alarm ${kindOf(a)} on ${a.stream} starts at frame ${a.firstFrame}, not a labelled frame it names`);
  }
  for (const k of known)
    if (excused[k.kind] === undefined) problems.push(`known deviation ${k.kind} on ${k.stream} no longer occurs: remove it from KNOWN`);
  return { problems, excused };
}

describe('every simulator scenario through all detection stages', () => {
  let dir = '';
  const runs = new Map<string, Promise<Run>>();
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-scenarios-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const get = (name: string): Promise<Run> => {
    let r = runs.get(name);
    if (r === undefined) {
      r = runScenario(dir, name);
      runs.set(name, r);
    }
    return r;
  };

  it("the list covers the simulator's scenarios", () => {
    assert.ok(SCENARIOS.length >= 19);
    for (const name of Object.keys(KNOWN))
      assert.ok(
        SCENARIOS.some((s) => s.name === name),
        `KNOWN names a scenario that does not exist: ${name}`,
      );
  });

  for (const sc of SCENARIOS) {
    const known = KNOWN[sc.name] ?? [];
    it(`${sc.name}: exactly its labelled verdicts on its labelled frames, nothing on MU2`, async () => {
      const run = await get(sc.name);
      assert.ok(run.frames > 10_000, `a whole capture was analysed (${run.frames} frames)`);
      const { problems } = judge(run, known);
      assert.deepEqual(problems, [], `${sc.name}:\n  ${problems.join('\n  ')}`);
      // the genuine twin: only what a real fault of its bay may raise
      const mu2 = run.verdicts.filter((v) => v.stream !== 'MU1');
      assert.ok(
        mu2.every((v) => v.indicator === 'trip' || v.indicator === 'faultMatch'),
        `MU2: ${mu2.slice(0, 3).map(show).join(', ')}`,
      );
      assert.ok(
        mu2.every((v) => !ATTACK_REASONS.has(v.reason)),
        `MU2 accused of an attack: ${mu2
          .filter((v) => ATTACK_REASONS.has(v.reason))
          .slice(0, 3)
          .map(show)
          .join(', ')}`,
      );
      if (run.truth.genuineEvents.every((e) => e.kind !== 'fault')) assert.deepEqual(mu2, [], 'no real fault: MU2 raises nothing');
      if (run.truth.malicious.length === 0 && run.truth.genuineEvents.every((e) => e.kind !== 'fault')) {
        assert.deepEqual(run.verdicts, [], 'clean traffic raises nothing');
      }
      if (sc.name === 'real-fault') {
        // each of the three faults is seen on both twins, as a plausible trip and a recognised fault class
        for (const s of ['MU1', 'MU2']) {
          const classes = new Set(run.verdicts.filter((v) => v.stream === s && v.indicator === 'faultMatch').map((v) => v.reason));
          assert.deepEqual([...classes].sort(), ['phase-ground', 'phase-phase', 'three-phase'], `${s} fault classes`);
        }
      }
    });
    if (known.length > 0) {
      it(
        `${sc.name}: strictly its labels (no known deviation excused)`,
        { todo: known.map((k) => `${k.kind}: ${k.why}`).join('; ') },
        async () => {
          const { problems } = judge(await get(sc.name), []);
          assert.deepEqual(
            problems.filter((p) => !p.startsWith('known deviation')),
            [],
          );
        },
      );
    }
  }
});
