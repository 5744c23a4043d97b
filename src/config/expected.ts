// From SCL + configuration to the detection engine's expected streams (src/detect/streams.ts). Streams the
// engine cannot watch by APPID (no address) or rate (no smpRate) are listed with the reason instead.
import type { ExpectedStream, TripSettings } from '../model/streams.ts';
import { samplesPerSecond } from '../scl/import.ts';
import type { LoadedConfig } from './load.ts';
import type { EffectiveProtection } from './protection.ts';

export interface NotWatchable {
  key: string;
  svID: string;
  reason: string;
}

export function expectedStreams(loaded: LoadedConfig): { streams: ExpectedStream[]; notWatchable: NotWatchable[] } {
  const streams: ExpectedStream[] = [];
  const notWatchable: NotWatchable[] = [];
  const hz = loaded.config.measurementModel.nominalFrequencyHz;
  for (const b of loaded.streams) {
    const s = b.scl;
    const skip = (reason: string): void => void notWatchable.push({ key: s.key, svID: s.svID, reason });
    if (s.address === null || s.address.appId === null) {
      skip('no SMV address with an APPID in the SCL file');
      continue;
    }
    const sps = samplesPerSecond(s, hz);
    if (sps === null || !Number.isInteger(sps) || sps <= 0) {
      skip(`sample rate unknown or not whole (smpRate ${s.smpRate}, smpMod ${s.smpMod})`);
      continue;
    }
    const nofASDU = s.nofASDU ?? 1;
    streams.push({
      name: s.key,
      svID: s.svID,
      appId: s.address.appId,
      acceptedSourceMacs: b.acceptedSourceMacs,
      ...(s.address.dstMac !== null ? { dstMac: s.address.dstMac } : {}),
      ...(s.confRev !== null ? { confRev: s.confRev } : {}),
      datSet: s.datSetRef,
      samplesPerSecond: sps,
      nofASDU,
      framesPerSecond: sps / nofASDU,
      smpCntWrap: sps,
      testMode: loaded.config.testMode.acceptSimulated,
      nominalHz: hz,
      ...(s.channelSet !== null ? { channels: s.channelSet.channels } : {}),
      ...(b.bay !== null ? { bay: b.bay } : {}),
      role: b.role,
      protection: tripSettings(b.protection),
    });
  }
  return { streams, notWatchable };
}

/** The effective protection settings as the trip stage uses them; a disabled element never operates. */
export function tripSettings(p: EffectiveProtection): TripSettings {
  const o50 = p.overcurrent50;
  const o51 = p.overcurrent51;
  const o59 = p.overvoltage59;
  return {
    overcurrentA: o50.enabled ? o50.pickupA : Infinity,
    overvoltageV: o59.enabled ? o59.pickupV : Infinity,
    overcurrentDelayS: o50.delayS,
    overvoltageDelayS: o59.delayS,
    inverseTime: o51.enabled ? { pickupA: o51.pickupA, curve: o51.curve, tms: o51.tms } : null,
  };
}
