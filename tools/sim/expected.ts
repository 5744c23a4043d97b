// What a commissioned appliance would expect of a simulated bay (the ground truth's `config`) as the
// detection engine's stream table: used by the evaluation script and the detection tests.
import type { ExpectedStream } from '../../src/model/streams.ts';
import type { ChannelKind, ChannelPhase } from '../../src/model/channels.ts';
import type { GroundTruth } from './truth.ts';
import type { SignedStream } from '../../src/model/signature.ts';

export function expectedStreamsOfTruth(truth: GroundTruth): ExpectedStream[] {
  return truth.config.streams.map((s) => ({
    name: s.name,
    svID: s.svID,
    appId: s.appId,
    acceptedSourceMacs: s.acceptedSourceMacs,
    dstMac: s.dstMac,
    confRev: s.confRev,
    datSet: s.datSet,
    samplesPerSecond: s.samplesPerSecond,
    nofASDU: s.nofASDU,
    framesPerSecond: s.framesPerSecond,
    channels: s.channels.map((c) => ({ name: c.name, kind: c.kind as ChannelKind, phase: c.phase as ChannelPhase, scale: c.scale })),
    // 9-2LE rates send smpRate as samples per period (no smpMod): the nominal frequency follows.
    nominalHz: s.smpRate !== null && s.smpMod === null ? s.samplesPerSecond / s.smpRate : 50,
    bay: s.bay,
    protection: { overcurrentA: truth.config.protection.overcurrentA, overvoltageV: truth.config.protection.overvoltageV },
  }));
}

/** The streams the simulator signed, as the signature stage takes them. */
export function signedStreamsOfTruth(truth: GroundTruth): SignedStream[] {
  return truth.config.streams.filter((s) => s.signed !== null).map((s) => ({ stream: s.name, keyId: s.signed!.keyId }));
}
