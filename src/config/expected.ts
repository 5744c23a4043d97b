// From SCL + configuration to the detection engine's expected streams (src/detect/streams.ts). Streams the
// engine cannot watch by APPID (no address) or rate (no smpRate) are listed with the reason instead.
import type { ExpectedStream } from '../detect/streams.ts';
import { samplesPerSecond } from '../scl/import.ts';
import type { LoadedConfig } from './load.ts';

export interface NotWatchable { key: string; svID: string; reason: string }

export function expectedStreams(loaded: LoadedConfig): { streams: ExpectedStream[]; notWatchable: NotWatchable[] } {
  const streams: ExpectedStream[] = [];
  const notWatchable: NotWatchable[] = [];
  const hz = loaded.config.measurementModel.nominalFrequencyHz;
  for (const b of loaded.streams) {
    const s = b.scl;
    const skip = (reason: string): void => void notWatchable.push({ key: s.key, svID: s.svID, reason });
    if (s.address === null || s.address.appId === null) { skip('no SMV address with an APPID in the SCL file'); continue; }
    const sps = samplesPerSecond(s, hz);
    if (sps === null || !Number.isInteger(sps) || sps <= 0) { skip(`sample rate unknown or not whole (smpRate ${s.smpRate}, smpMod ${s.smpMod})`); continue; }
    const nofASDU = s.nofASDU ?? 1;
    streams.push({
      name: s.key, svID: s.svID, appId: s.address.appId, acceptedSourceMacs: b.acceptedSourceMacs,
      ...(s.address.dstMac !== null ? { dstMac: s.address.dstMac } : {}),
      ...(s.confRev !== null ? { confRev: s.confRev } : {}),
      datSet: s.datSetRef,
      samplesPerSecond: sps, nofASDU, framesPerSecond: sps / nofASDU, smpCntWrap: sps,
      testMode: loaded.config.testMode.acceptSimulated,
      nominalHz: hz,
      ...(s.channelSet !== null ? { channels: s.channelSet.channels } : {}),
      ...(b.bay !== null ? { bay: b.bay } : {}),
      role: b.role,
      protection: {
        overcurrentA: b.protection.overcurrent50.enabled ? b.protection.overcurrent50.pickupA : Infinity,
        overvoltageV: b.protection.overvoltage59.enabled ? b.protection.overvoltage59.pickupV : Infinity,
      },
    });
  }
  return { streams, notWatchable };
}
