// Test helper: run a simulator scenario in memory, decode its frames with the independent test parser,
// run one StreamPhasors per stream and call back once per cycle with every stream's phasors of that cycle.
import { runSimulation, DEFAULT_OPTIONS } from '../../../tools/sim/engine.ts';
import type { SimOptions, SimResult } from '../../../tools/sim/engine.ts';
import { findScenario } from '../../../tools/sim/scenarios.ts';
import type { ChannelDescription } from '../../../src/model/channels.ts';
import { StreamPhasors } from '../../../src/detect/phasor.ts';
import { MemorySink, parseSv } from '../../sim/frames.ts';

export interface CycleData {
  cycle: number;
  /** end of the cycle's window, s */ endS: number;
  re: Float64Array[];
  im: Float64Array[];
}

export async function simulateCycles(
  scenario: string,
  opts: Partial<SimOptions>,
): Promise<{ result: SimResult; cycles: CycleData[]; names: string[] }> {
  const sink = new MemorySink();
  const o: SimOptions = { ...DEFAULT_OPTIONS, durationS: 1, ...opts };
  const result = await runSimulation(o, findScenario(scenario)!, sink);
  const streams = result.truth.config.streams;
  const names = streams.map((s) => s.name);
  const idx = new Map(streams.map((s, i) => [s.svID, i]));
  const spc = o.samplesPerSecond / o.freq;
  const banks = streams.map(
    (s) => new StreamPhasors(s.channels as ChannelDescription[], { samplesPerCycle: spc, nominalHz: o.freq, wrap: o.samplesPerSecond }),
  );
  const done = streams.map(() => [] as { re: Float64Array; im: Float64Array }[]);
  for (const fr of sink.frames) {
    const p = parseSv(fr.bytes);
    for (const a of p.asdus) {
      const i = idx.get(a.svID);
      if (i === undefined) continue;
      const b = banks[i]!;
      if (b.pushRaw(a.values, 0, a.smpCnt)) done[i]!.push({ re: b.re.slice(), im: b.im.slice() });
    }
  }
  const n = Math.min(...done.map((d) => d.length));
  const cycles: CycleData[] = [];
  for (let c = 0; c < n; c++)
    cycles.push({ cycle: c, endS: ((c + 1) * spc) / o.samplesPerSecond, re: done.map((d) => d[c]!.re), im: done.map((d) => d[c]!.im) });
  return { result, cycles, names };
}
