import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applianceRisk, assessRisk, levelOf, riskMetrics, streamRisk, STREAM_WEIGHTS, APPLIANCE_WEIGHTS } from '../../src/detect/risk.ts';
import { type StreamObservation } from '../../src/model/risk.ts';

const hardened: StreamObservation = {
  asset: 'MU1',
  role: 'protection',
  observed: true,
  signed: true,
  signatureFailures: 0,
  frames: 4800,
  vlanPriority: 4,
  acceptListed: true,
  configDrift: false,
  simulateSeen: false,
  alarms: 0,
};
const exposed: StreamObservation = {
  ...hardened,
  asset: 'MU2',
  signed: false,
  vlanPriority: null,
  acceptListed: false,
  configDrift: true,
  simulateSeen: true,
  alarms: 6,
};

test('weights sum to one', () => {
  const sum = (o: object): number => Object.values(o).reduce((a: number, b: number) => a + b, 0);
  assert.ok(Math.abs(sum(STREAM_WEIGHTS) - 1) < 1e-12);
  assert.ok(Math.abs(sum(APPLIANCE_WEIGHTS) - 1) < 1e-12);
});

test('levels: high > 0.7, medium 0.3–0.7, low ≤ 0.3', () => {
  assert.equal(levelOf(0.71), 'high');
  assert.equal(levelOf(0.7), 'medium');
  assert.equal(levelOf(0.31), 'medium');
  assert.equal(levelOf(0.3), 'low');
});

test('a signed, accept-listed, prioritised protection stream is low risk; an exposed one under attack is high', () => {
  const low = streamRisk(hardened);
  assert.equal(low.vulnerability, 0);
  assert.equal(low.risk, 0);
  assert.equal(low.level, 'low');
  const high = streamRisk(exposed);
  assert.ok(Math.abs(high.vulnerability - 0.8) < 1e-12, `V = ${high.vulnerability}`);
  assert.equal(high.likelihood, 1);
  assert.equal(high.level, 'high');
  assert.ok(Math.abs(high.risk - high.likelihood * high.impact * high.vulnerability) < 1e-12);
});

test('metering streams weigh less than protection streams; attacks seen raise the likelihood', () => {
  const unsigned = { ...hardened, signed: false };
  assert.ok(streamRisk({ ...unsigned, role: 'metering' }).risk < streamRisk(unsigned).risk);
  assert.ok(streamRisk({ ...unsigned, alarms: 3 }).likelihood > streamRisk(unsigned).likelihood);
});

test('signature failures count only on signed streams and saturate at 2 % of frames', () => {
  const f = (o: StreamObservation): number => streamRisk(o).factors.find((x) => x.name === 'signature-failures')!.score;
  assert.equal(f({ ...hardened, signatureFailures: 48 }), 0.5);
  assert.equal(f({ ...hardened, signatureFailures: 480 }), 1);
  assert.equal(f({ ...hardened, signed: false, signatureFailures: 480 }), 0);
});

test('appliance posture: TLS, tokens and healthy components lower the risk', () => {
  const good = applianceRisk({
    asset: 'svde',
    apiTls: true,
    mutualTls: true,
    tokensConfigured: true,
    chip: 'ok',
    storage: 'ok',
    capture: 'ok',
  });
  const bad = applianceRisk({
    asset: 'svde',
    apiTls: false,
    mutualTls: false,
    tokensConfigured: false,
    chip: 'failed',
    storage: 'degraded',
    capture: 'ok',
  });
  assert.equal(good.risk, 0);
  assert.ok(bad.risk > 0.3, `risk ${bad.risk}`);
  assert.deepEqual(
    bad.factors.filter((x) => x.score > 0).map((x) => x.name),
    ['api-without-tls', 'master-without-mutual-tls', 'api-without-tokens', 'chip-unavailable', 'storage-unavailable'],
  );
});

test('system risk is the max and the impact-weighted mean; metrics MTTD, MTTR and resolved share', () => {
  const r = assessRisk(
    [hardened, exposed],
    { asset: 'svde', apiTls: true, mutualTls: true, tokensConfigured: true, chip: 'ok', storage: 'ok', capture: 'ok' },
    [
      { firstTsNs: 0n, raisedNs: 4_000_000n, acknowledgedNs: 64_000_000n },
      { firstTsNs: 1_000_000n, raisedNs: 3_000_000n, acknowledgedNs: null },
    ],
  );
  assert.equal(r.assets.length, 3);
  assert.equal(r.system.max, streamRisk(exposed).risk);
  const expectMean = (1 * 0 + 1 * streamRisk(exposed).risk + 0.8 * 0) / 2.8;
  assert.ok(Math.abs(r.system.weightedMean - expectMean) < 1e-12);
  assert.equal(r.system.level, 'high');
  assert.deepEqual(r.metrics, { mttdMs: 3, mttrMs: 60, resolvedShare: 0.5 });
  assert.deepEqual(riskMetrics([]), { mttdMs: null, mttrMs: null, resolvedShare: null });
});
