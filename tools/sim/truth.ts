// Ground truth written beside a simulated capture as `<out>.truth.json`. The detection engine's tests
// read it: every malicious frame with the indicator and reason it should raise, deleted frames, genuine
// events that must NOT raise an attack, and the configuration the capture assumes (streams, accepted
// source MACs, keys, protection settings).

/** Indicator ids of SPEC §2 plus the `trip` alarm category. */
export type TruthIndicator = 'mac' | 'signature' | 'logic' | 'rate' | 'badData' | 'faultMatch' | 'attackMatch' | 'trip';

export interface Verdict {
  indicator: TruthIndicator;
  reason: string;
}

export interface MaliciousFrame extends Verdict {
  /** 1-based frame number, as Wireshark counts. */
  frame: number;
  /** Stream name (`streams[].name`) the frame claims to belong to. */
  stream: string;
  /** Other verdicts that are also correct for this frame (a detector may raise any of them first). */
  also?: Verdict[];
  note?: string;
}

export interface DeletedRange {
  stream: string;
  /** smpCnt of the first and last deleted ASDU (inclusive; may wrap). */
  smpCntFrom: number;
  smpCntTo: number;
  frames: number;
  /** Frame number of the last frame written before the gap and of the first one after it. */
  beforeFrame: number;
  afterFrame: number;
}

export interface GenuineEvent {
  kind: 'fault' | 'load-step';
  detail: string;
  streams: string[];
  fromFrame: number;
  toFrame: number;
  /** Epoch seconds with nine decimals (like tshark's frame.time_epoch). */
  fromTs: string;
  toTs: string;
  /** Indicators that must not fire because of this event; `mayRaise` lists the legitimate ones. */
  mustNotRaise: TruthIndicator[];
  mayRaise: TruthIndicator[];
}

export interface TruthStream {
  name: string;
  svID: string;
  appId: number;
  dstMac: string;
  srcMac: string;
  acceptedSourceMacs: string[];
  vlan: { id: number; priority: number }[];
  confRev: number;
  datSet: string | null;
  smpRate: number | null;
  smpMod: number | null;
  samplesPerSecond: number;
  nofASDU: number;
  framesPerSecond: number;
  smpSynch: number;
  bay: string;
  channels: { name: string; kind: string; phase: string; scale: number; derived?: boolean }[];
  signed: { keyId: number; mode: 'frame' | 'block'; blockLen: number } | null;
}

export interface TruthKey {
  keyId: number;
  file: string;
  signerId: string;
  streams: string[];
}

export interface GroundTruth {
  format: 'svde-sim-truth/1';
  scenario: string;
  description: string;
  seed: number;
  start: string;
  durationS: number;
  capture: { file: string; format: string; frames: number };
  config: {
    /** The SCD describing the genuine configuration, relative to the truth file (absent with --no-scl). */
    scl?: string;
    streams: TruthStream[];
    keys: TruthKey[];
    /** Settings used to judge trip-level values: pickup levels in primary RMS units. */
    protection: { overcurrentA: number; overvoltageV: number; undervoltageV: number; nominalCurrentA: number; nominalVoltageLN: number };
    /** Redundant MUs measure the same bay: their streams should agree within noise. */
    bays: { name: string; streams: string[] }[];
    /** Rate tolerance μsv used when the ground truth labels flooding. */
    rateTolerance: number;
  };
  malicious: MaliciousFrame[];
  deleted: DeletedRange[];
  genuineEvents: GenuineEvent[];
  /** Count of malicious frames per `indicator/reason`. */
  summary: Record<string, number>;
}
