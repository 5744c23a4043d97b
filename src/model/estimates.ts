// State estimates exchanged with the master station (SPEC §2 grade 4): the local estimate, the master's
// returned estimate, and the outcome of comparing them.

/** A state estimate of one bus over one window, kept with an id so the master station can refer to it. */
export interface EstimateView {
  id: string;
  bus: string;
  windowStartNs: string;
  windowEndNs: string;
  values: Array<{ name: string; re: number; im: number; sigma: number }>;
}

export interface SignedEstimates {
  estimates: EstimateView[];
  /** SM2 signature (r ‖ s, hex) over the UTF-8 JSON of `estimates`, with the device key, and who made it. */
  signature: { algorithm: 'SM2-SM3'; signerId: string; publicKey: string; value: string; by: 'chip' | 'software' } | null;
}

export interface MasterEstimateInput {
  /** The local estimate's id when the master refers to one. */
  id?: string;
  bus: string;
  windowStartNs: string;
  windowEndNs: string;
  values: Array<{ name: string; re: number; im: number }>;
}

export interface UpstreamResult {
  outcome: 'match' | 'forgery' | 'tamper';
  reason: string;
  localId: string | null;
  alarmId: number | null;
}
