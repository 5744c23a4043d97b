// Channel-set descriptions: which quantities a stream's seqData carries, in which order and with which
// scaling. The SCL importer (a later issue) produces the same shape from a DataSet's FCDA order and the
// sVC scaleFactor/offset, so the simulator, the decoder side and detection can share it.
//
// Every channel is one 8-byte quantity in seqData: INT32 value (big-endian) followed by a UINT32 quality word.
// physical value = raw * scale + offset (A for currents, V for voltages).

export type ChannelKind = 'current' | 'voltage';
export type ChannelPhase = 'A' | 'B' | 'C' | 'N';

export interface ChannelDescription {
  /** Display / COMTRADE name, e.g. "IA" or the SCL FCDA reference. */
  name: string;
  kind: ChannelKind;
  phase: ChannelPhase;
  /** Physical units per LSB: 0.001 (1 mA) for 9-2LE currents, 0.01 (10 mV) for voltages. */
  scale: number;
  /** Physical offset, normally 0. */
  offset?: number;
  /** The MU computes this channel (e.g. IN = IA+IB+IC) rather than measuring it: the quality word's derived bit is set. */
  derived?: boolean;
}

export interface ChannelSet {
  /** Short identifier used on the command line and in truth files. */
  id: string;
  description: string;
  /** In seqData order. */
  channels: readonly ChannelDescription[];
}

const I = (phase: ChannelPhase): ChannelDescription => ({ name: `I${phase}`, kind: 'current', phase, scale: 0.001 });
const V = (phase: ChannelPhase): ChannelDescription => ({ name: `V${phase}`, kind: 'voltage', phase, scale: 0.01 });

/** IEC 61850-9-2LE PhsMeas1: IA IB IC IN VA VB VC VN, 1 mA/LSB and 10 mV/LSB. */
export const LE_4I4U: ChannelSet = {
  id: '4i4u',
  description: '9-2LE PhsMeas1: IA IB IC IN VA VB VC VN (1 mA, 10 mV per LSB)',
  channels: [I('A'), I('B'), I('C'), I('N'), V('A'), V('B'), V('C'), V('N')],
};

/** The same quantities with voltages first (as some SCD files order the DataSet). */
export const LE_4U4I: ChannelSet = {
  id: '4u4i',
  description: 'voltages first: VA VB VC VN IA IB IC IN (1 mA, 10 mV per LSB)',
  channels: [V('A'), V('B'), V('C'), V('N'), I('A'), I('B'), I('C'), I('N')],
};

/** A current-only MU (e.g. a feeder CT MU) with a computed neutral. */
export const CT_4I: ChannelSet = {
  id: '4i',
  description: 'currents only: IA IB IC IN (IN derived), 1 mA per LSB',
  channels: [I('A'), I('B'), I('C'), { ...I('N'), derived: true }],
};

export const CHANNEL_SETS: Record<string, ChannelSet> = { '4i4u': LE_4I4U, '4u4i': LE_4U4I, '4i': CT_4I };

/** Index of a channel (kind, phase) in a set, or -1. */
export function channelIndex(set: ChannelSet, kind: ChannelKind, phase: ChannelPhase): number {
  return set.channels.findIndex((c) => c.kind === kind && c.phase === phase);
}

/** Quality word bits (IEC 61850-8-1 / 9-2LE). */
export const QUALITY = {
  validityGood: 0,
  validityInvalid: 1,
  validityQuestionable: 3,
  overflow: 1 << 2,
  outOfRange: 1 << 3,
  badReference: 1 << 4,
  oscillatory: 1 << 5,
  failure: 1 << 6,
  oldData: 1 << 7,
  inconsistent: 1 << 8,
  inaccurate: 1 << 9,
  substituted: 1 << 10,
  test: 1 << 11,
  operatorBlocked: 1 << 12,
  derived: 1 << 13,
} as const;
