// A trip stage fed cycle phasors directly (no samples): one 50 Hz stream MU1 with phase currents and
// voltages, 50 pickup 5000 A and 59 pickup 1.2 × Vn unless the test sets other protection settings.
import type { CycleEvent } from '../../src/detect/cycles.ts';
import type { StreamPhasors } from '../../src/detect/phasor.ts';
import type { Flag, FrameContext } from '../../src/detect/stage.ts';
import { TripStage, type TripOptions } from '../../src/detect/stages/trip.ts';
import { StreamRegistry } from '../../src/detect/streams.ts';
import { type TripSettings } from '../../src/model/streams.ts';
import type { FrameVerdict } from '../../src/model/indicators.ts';

export const VN = 38105;

/** `vn`: the bay's phase-to-neutral voltage the cycles carry (default VN). */
export function tripRig(opts: TripOptions, protection: Partial<TripSettings> = {}, vn = VN) {
  const registry = new StreamRegistry([
    {
      name: 'MU1',
      svID: 'MU1',
      appId: 0x4001,
      acceptedSourceMacs: [],
      samplesPerSecond: 4000,
      nofASDU: 1,
      framesPerSecond: 4000,
      nominalHz: 50,
      channels: ['A', 'B', 'C'].flatMap((p) => [
        { name: `I${p}`, kind: 'current' as const, phase: p as 'A', scale: 0.001 },
        { name: `V${p}`, kind: 'voltage' as const, phase: p as 'A', scale: 0.01 },
      ]),
      protection: { overcurrentA: 5000, overvoltageV: 1.2 * VN, ...protection },
    },
  ]);
  const trip = new TripStage(registry, opts);
  const re = new Float64Array(6);
  const im = new Float64Array(6);
  const ev = {
    stream: registry.streams[0]!,
    phasors: { re, im, cycles: 10 } as unknown as StreamPhasors,
    cycle: 0,
    firstFrame: 1,
  } as CycleEvent;
  const verdicts: FrameVerdict[] = [];
  let frame = 0;
  const flag: Flag = (indicator, reason, o) => {
    verdicts.push({
      frame: o?.at?.frame ?? frame,
      tsNs: 0n,
      indicator,
      reason,
      stream: 'MU1',
      discard: false,
      ...(o?.detail !== undefined ? { detail: o.detail } : {}),
    });
  };
  /** One cycle with phase-A current iA (others 400 A) and phase-A voltage vA (fraction of nominal). */
  const cycle = (iA: number, vA = 1): void => {
    frame += 80;
    re[0] = iA;
    im[0] = 0;
    re[2] = -200;
    im[2] = -346;
    re[4] = -200;
    im[4] = 346;
    re[1] = vn * vA;
    im[1] = 0;
    re[3] = -vn / 2;
    im[3] = -vn * 0.866;
    re[5] = -vn / 2;
    im[5] = vn * 0.866;
    trip.onCycle(ev, { frameNo: frame, tsNs: BigInt(frame) * 250_000n, t: frame * 250_000 } as FrameContext, flag);
  };
  return { trip, cycle, verdicts, frame: (): number => frame };
}
