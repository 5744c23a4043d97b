// The streams the appliance expects: identity, channels, protection settings (from SCL + configuration or learnt).
import type { ChannelDescription } from './channels.ts';
import type { Curve } from './protection.ts';

export interface ExpectedStream {
  /** Name used in alarms (the SCL control block or the configured name). */
  name: string;
  svID: string;
  appId: number;
  /** Accepted source MACs, lower-case colon-separated. Empty: every source is accepted. */
  acceptedSourceMacs: readonly string[];
  dstMac?: string;
  confRev?: number;
  datSet?: string | null;
  /** smpCnt counts 0 … samplesPerSecond − 1 (then wraps). */
  samplesPerSecond: number;
  nofASDU: number;
  /** Frames per second the stream should publish (samplesPerSecond / nofASDU). */
  framesPerSecond: number;
  /** smpCnt modulus: samplesPerSecond for 9-2 (reset every second); 65536 for publishers that never reset. */
  smpCntWrap?: number;
  /** smpCnt advance per frame: nofASDU when ASDUs carry consecutive samples (9-2), 1 when they carry
   *  different quantities of one sample (some publishers). Default nofASDU. */
  smpCntStep?: number;
  /** Simulate bit (test frames) accepted on this stream (test mode). */
  testMode?: boolean;
  /** The dataset's channels in seqData order (kind, phase, scaling), for the value-based stages. */
  channels?: readonly ChannelDescription[];
  /** Nominal frequency of the bay, Hz (default 50). */
  nominalHz?: number;
  /** Protection settings the trip check judges against: pickups in primary RMS units. */
  protection?: TripSettings;
  /** Bay the stream measures (redundant MUs of a bay share it; the badData model's current states). */
  bay?: string;
  /** Bus of the bay (shared voltage states; default: the bay). */
  bus?: string;
  /** Protection streams trip breakers; metering streams do not (impact in the risk assessment). Default protection. */
  role?: 'protection' | 'metering';
}

export interface TripSettings {
  /** Phase overcurrent pickup (ANSI 50), A RMS. */
  overcurrentA: number;
  /** Phase overvoltage pickup (ANSI 59), V RMS. */
  overvoltageV: number;
  /** ANSI 50 definite-time delay, s (default 0: the first cycle at pickup operates). */
  overcurrentDelayS?: number;
  /** ANSI 59 definite-time delay, s (default 0). */
  overvoltageDelayS?: number;
  /** ANSI 51 settings; null turns 51 off; absent: the trip stage's default (see TripOptions.inverseTimeOf). */
  inverseTime?: { pickupA: number; curve: Curve; tms: number } | null;
}
