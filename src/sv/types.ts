// Types of an IEC 61850-9-2 Sampled Values frame as the encoder (and the simulator) see it.
// Field names follow the standard: svID, datSet, smpCnt, confRev, refrTm, smpSynch, smpRate,
// seqData, smpMod, gmIdentity, noASDU (= asdus.length), appId.

/** EtherType of SV frames (IEC 61850-9-2). */
export const SV_ETHERTYPE = 0x88ba;
/** TPID of an IEEE 802.1Q tag; an outer 802.1ad (Q-in-Q) tag may use 0x88a8 instead. */
export const TPID_8021Q = 0x8100;
export const TPID_8021AD = 0x88a8;
/** Reserved 1, bit 15: the "simulate" bit of IEC 61850-9-2 Ed2 (test / simulated traffic). */
export const RESERVED1_SIMULATE = 0x8000;

/** One IEEE 802.1Q / 802.1ad tag. */
export interface VlanTag {
  /** VLAN identifier, 0..4095 (0 = priority tag only). */
  id: number;
  /** PCP, 0..7 (9-2LE recommends 4). */
  priority: number;
  /** Drop-eligible indicator (DEI / CFI). */
  dei?: boolean;
  /** Default 0x8100. */
  tpid?: number;
}

/** IEC 61850 UtcTime: 8 bytes = seconds since 1970 (4), fraction of a second (3, units of 2^-24 s), quality (1). */
export interface UtcTime {
  seconds: number;
  /** 24-bit binary fraction of a second. */
  fraction: number;
  /** TimeQuality octet: leap-second-known 0x80, clock failure 0x40, not synchronised 0x20, accuracy bits 0-4. */
  quality: number;
}

/** smpSynch values of IEC 61850-9-2 Ed2 (5..254 reserved for global-area clock identities). */
export const SMP_SYNCH = { none: 0, local: 1, global: 2 } as const;
/** smpMod values. */
export const SMP_MOD = { samplesPerNormalPeriod: 0, samplesPerSecond: 1, secondsPerSample: 2 } as const;

export interface SvAsdu {
  svID: string;
  /** Optional (SmvOpts dataSet). */
  datSet?: string;
  /** 0..65535, 2 bytes on the wire. */
  smpCnt: number;
  confRev: number;
  refrTm?: UtcTime;
  smpSynch?: number;
  smpRate?: number;
  /** The dataset values: for 9-2LE, INT32 value + UINT32 quality per channel, big-endian. Any length. */
  seqData: Uint8Array;
  smpMod?: number;
  /** 8 bytes (IEC 61850-9-2 Ed2.1 gmIdentity, the PTP grandmaster's clock identity). */
  gmIdentity?: Uint8Array;
}

/** The SVDE security trailer (docs: shared spec signed-frames.md). */
export interface SecurityTrailer {
  /** 1 */
  version: number;
  /** 1 = per-frame signature, 2 = block member, 3 = block end (carries the block signature). */
  mode: 1 | 2 | 3;
  keyId: number;
  secCnt: number;
  /** Frames per block B (modes 2/3); 1 in mode 1. */
  blockLen: number;
  /** r ‖ s, 64 bytes; modes 1 and 3. An all-zero placeholder is written when absent so it can be patched in place. */
  signature?: Uint8Array;
}

export const SECURITY_VERSION = 1;
/** Trailer length: 10 bytes header, +64 with a signature (modes 1 and 3). */
export function securityTrailerLength(mode: 1 | 2 | 3): number {
  return mode === 2 ? 10 : 74;
}

export interface SvFrame {
  /** Destination MAC, "01:0c:cd:04:00:01" or 6 bytes. */
  dst: string | Uint8Array;
  src: string | Uint8Array;
  /** 0, 1 or 2 tags, outermost first. */
  vlans?: VlanTag[];
  appId: number;
  /** Sets bit 15 of Reserved 1. */
  simulated?: boolean;
  /** Other Reserved 1 bits (ORed with the simulate bit). */
  reserved1?: number;
  /** Override of Reserved 2 (normally 0, or the trailer length when `security` is given); for malformed-frame tests. */
  reserved2?: number;
  asdus: SvAsdu[];
  security?: SecurityTrailer;
}

/** Byte offsets inside an encoded frame, so per-frame fields can be patched in place without re-encoding. */
export interface AsduLayout {
  /** Offset of the 2 smpCnt bytes. */
  smpCnt: number;
  /** Offset of the 4 confRev bytes. */
  confRev: number;
  /** Offset of the 8 refrTm bytes, or -1. */
  refrTm: number;
  /** Offset of the smpSynch byte, or -1. */
  smpSynch: number;
  /** Offset of the first seqData byte. */
  seqData: number;
  seqDataLength: number;
  /** Offset of the first svID byte and its length (KC needs the svID bytes). */
  svID: number;
  svIDLength: number;
}

export interface FrameLayout {
  /** Total frame length in bytes (no FCS). */
  length: number;
  /** Offset of the APPID (start of the SV header). */
  appId: number;
  reserved1: number;
  reserved2: number;
  asdus: AsduLayout[];
  /** Offset of the security trailer, or -1. */
  trailer: number;
  /** Offset of secCnt inside the trailer, or -1. */
  secCnt: number;
  /** Offset of the 64 signature bytes, or -1. */
  signature: number;
}
