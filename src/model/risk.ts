// Risk-assessment vocabulary (SPEC §3): assets, factors, levels and the report. The computation is detect/risk.ts.

export type RiskLevel = 'high' | 'medium' | 'low';

export interface StreamObservation {
  asset: string;
  /** Protection streams trip breakers: their loss or forgery matters most. */
  role: 'protection' | 'metering';
  observed: boolean;
  signed: boolean;
  /** Frames of the window whose signature failed or was missing, and frames seen. */
  signatureFailures: number;
  frames: number;
  /** 802.1Q priority of the frames seen; null when untagged. */
  vlanPriority: number | null;
  /** Accepted source MACs are configured (not "accept any"). */
  acceptListed: boolean;
  /** confRev/datSet/svID/noASDU disagree with SCL (config-mismatch alarms). */
  configDrift: boolean;
  simulateSeen: boolean;
  /** Attack-indicator alarms on this stream in the window (every grade). */
  alarms: number;
}

export interface ApplianceObservation {
  asset: string;
  apiTls: boolean;
  mutualTls: boolean;
  tokensConfigured: boolean;
  chip: 'ok' | 'degraded' | 'failed' | 'absent';
  storage: 'ok' | 'degraded' | 'failed' | 'absent';
  capture: 'ok' | 'degraded' | 'failed' | 'absent';
}

export interface RiskFactor {
  name: string;
  weight: number;
  /** sₐ,ᵢ ∈ [0, 1]. */
  score: number;
}

export interface AssetRisk {
  asset: string;
  kind: 'stream' | 'appliance';
  impact: number;
  vulnerability: number;
  likelihood: number;
  risk: number;
  level: RiskLevel;
  factors: RiskFactor[];
}

export interface RiskMetrics {
  /** Mean time to detect: detection delay from the first offending frame's capture to the alarm, ms. */
  mttdMs: number | null;
  /** Mean time to respond: from the alarm to its acknowledgement, ms (acknowledged alarms only). */
  mttrMs: number | null;
  /** Acknowledged alarms / all alarms of the window. */
  resolvedShare: number | null;
}

export interface RiskReport {
  assets: AssetRisk[];
  system: { max: number; weightedMean: number; level: RiskLevel };
  metrics: RiskMetrics;
}

export interface AlarmTiming {
  /** Capture time of the first offending frame and the wall time the alarm was raised, ns. */
  firstTsNs: bigint;
  raisedNs: bigint;
  acknowledgedNs: bigint | null;
}
