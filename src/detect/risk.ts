// Risk assessment of the assets the appliance watches (SPEC §3, after seed 001): every asset — each merging
// unit stream and the appliance itself — gets an impact Iₐ, a vulnerability Vₐ = Σ wᵢ·sₐ,ᵢ over weighted
// factors, a likelihood Lₐ from exploitability, exposure and controls, and Rₐ = Lₐ·Iₐ·Vₐ, all in [0, 1].
// Levels: high > 0.7, medium 0.3–0.7, low ≤ 0.3. System risk = max Rₐ and the criticality-weighted mean.
// Pure functions over observations: the composition root gathers the facts, nothing here reads state.
import type {
  AlarmTiming,
  ApplianceObservation,
  AssetRisk,
  RiskFactor,
  RiskLevel,
  RiskMetrics,
  RiskReport,
  StreamObservation,
} from '../model/risk.ts';

export function levelOf(r: number): RiskLevel {
  return r > 0.7 ? 'high' : r > 0.3 ? 'medium' : 'low';
}

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

/** Weights of the vulnerability factors of a stream (sum 1): what an attacker on the process bus can exploit. */
export const STREAM_WEIGHTS = Object.freeze({
  unsigned: 0.35,
  signatureFailures: 0.2,
  noVlanPriority: 0.1,
  noAcceptList: 0.15,
  configDrift: 0.1,
  simulateSeen: 0.1,
});

/** Weights of the appliance's own posture (sum 1). */
export const APPLIANCE_WEIGHTS = Object.freeze({
  noTls: 0.3,
  noMutualTls: 0.1,
  noTokens: 0.25,
  chipUnavailable: 0.15,
  storageUnavailable: 0.1,
  captureUnavailable: 0.1,
});

function unavailable(s: ApplianceObservation['chip']): number {
  return s === 'ok' ? 0 : s === 'degraded' ? 0.5 : 1;
}

export function streamRisk(o: StreamObservation): AssetRisk {
  const w = STREAM_WEIGHTS;
  const failShare = o.frames > 0 ? o.signatureFailures / o.frames : 0;
  const factors: RiskFactor[] = [
    { name: 'unsigned', weight: w.unsigned, score: o.signed ? 0 : 1 },
    // A few failures already matter: 1 % of frames failing scores 0.5, 2 % and more score 1.
    { name: 'signature-failures', weight: w.signatureFailures, score: o.signed ? clamp01(failShare * 50) : 0 },
    { name: 'no-vlan-priority', weight: w.noVlanPriority, score: o.vlanPriority === null || o.vlanPriority < 4 ? 1 : 0 },
    { name: 'no-accept-list', weight: w.noAcceptList, score: o.acceptListed ? 0 : 1 },
    { name: 'configuration-drift', weight: w.configDrift, score: o.configDrift ? 1 : 0 },
    { name: 'simulation-bit-seen', weight: w.simulateSeen, score: o.simulateSeen ? 1 : 0 },
  ];
  const vulnerability = clamp01(factors.reduce((a, f) => a + f.weight * f.score, 0));
  const impact = o.role === 'protection' ? 1 : 0.4;
  // Likelihood: exploitability (what is open), exposure (attacks actually seen), controls (signing, accept list).
  const exploitability = vulnerability;
  const exposure = o.alarms === 0 ? 0.2 : clamp01(0.5 + 0.1 * o.alarms);
  const controls = (o.signed ? 0.5 : 0) + (o.acceptListed ? 0.25 : 0);
  const likelihood = clamp01(0.5 * exploitability + 0.5 * exposure - 0.3 * controls + 0.15);
  const risk = likelihood * impact * vulnerability;
  return { asset: o.asset, kind: 'stream', impact, vulnerability, likelihood, risk, level: levelOf(risk), factors };
}

export function applianceRisk(o: ApplianceObservation): AssetRisk {
  const w = APPLIANCE_WEIGHTS;
  const factors: RiskFactor[] = [
    { name: 'api-without-tls', weight: w.noTls, score: o.apiTls ? 0 : 1 },
    { name: 'master-without-mutual-tls', weight: w.noMutualTls, score: o.mutualTls ? 0 : 1 },
    { name: 'api-without-tokens', weight: w.noTokens, score: o.tokensConfigured ? 0 : 1 },
    { name: 'chip-unavailable', weight: w.chipUnavailable, score: unavailable(o.chip) },
    { name: 'storage-unavailable', weight: w.storageUnavailable, score: unavailable(o.storage) },
    { name: 'capture-unavailable', weight: w.captureUnavailable, score: unavailable(o.capture) },
  ];
  const vulnerability = clamp01(factors.reduce((a, f) => a + f.weight * f.score, 0));
  const impact = 0.8; // losing the appliance blinds the bay's detection, but trips nothing by itself
  const likelihood = clamp01(0.3 + 0.7 * vulnerability);
  const risk = likelihood * impact * vulnerability;
  return { asset: o.asset, kind: 'appliance', impact, vulnerability, likelihood, risk, level: levelOf(risk), factors };
}

export function riskMetrics(alarms: readonly AlarmTiming[]): RiskMetrics {
  if (alarms.length === 0) return { mttdMs: null, mttrMs: null, resolvedShare: null };
  const ms = (ns: bigint): number => Number(ns) / 1e6;
  const mttd = alarms.reduce((a, x) => a + Math.max(0, ms(x.raisedNs - x.firstTsNs)), 0) / alarms.length;
  const acked = alarms.filter((x) => x.acknowledgedNs !== null);
  const mttr = acked.length === 0 ? null : acked.reduce((a, x) => a + Math.max(0, ms(x.acknowledgedNs! - x.raisedNs)), 0) / acked.length;
  return { mttdMs: mttd, mttrMs: mttr, resolvedShare: acked.length / alarms.length };
}

/** Every asset's risk, the system's (max and criticality-weighted mean, weights = impacts), and the metrics. */
export function assessRisk(
  streams: readonly StreamObservation[],
  appliance: ApplianceObservation,
  alarms: readonly AlarmTiming[] = [],
): RiskReport {
  const assets = [...streams.map(streamRisk), applianceRisk(appliance)];
  const max = Math.max(...assets.map((a) => a.risk));
  const wsum = assets.reduce((a, x) => a + x.impact, 0);
  const weightedMean = assets.reduce((a, x) => a + x.impact * x.risk, 0) / wsum;
  return { assets, system: { max, weightedMean, level: levelOf(max) }, metrics: riskMetrics(alarms) };
}
