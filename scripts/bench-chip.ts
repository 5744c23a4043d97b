#!/usr/bin/env node
// Verifies per second through the chip emulator over a real socat pty at 115200, 921600 and 3000000 baud, one
// VERIFY per request and VERIFY_BATCH (32 per frame); medians of several runs. The emulator paces its link at the
// baud (10 bits/byte) and models the chip's latency (default verify 1.5 ms), so the figures are those of a chip
// of that class on such a link, not of this machine's CPU — as long as the emulator keeps up (see "cpu-bound").
//   node scripts/bench-chip.ts [--runs 5] [--bauds 115200,921600,3000000] [--in-flight 4]
import { parseArgs } from 'node:util';
import { ChipDriver } from '../src/crypto/chip/driver.ts';
import { openSerialTransport } from '../src/crypto/chip/serial-transport.ts';
import { DEFAULT_LATENCY } from '../tools/chip/emulator.ts';
import { startPtyEmulator } from '../tools/chip/pty-emulator.ts';
import { HEADER_LEN, TRAILER_LEN, VERIFY_ITEM_LEN, VERIFY_RESULT_LEN, wireSeconds } from '../src/crypto/chip/protocol.ts';
import { bigToBytes, deriveKeyPair, sm2E, sm2Sign, sm2Z } from '../src/crypto/sm2.ts';

const { values } = parseArgs({ options: { runs: { type: 'string' }, bauds: { type: 'string' }, 'in-flight': { type: 'string' } } });
const runs = Number(values.runs ?? 5);
const bauds = (values.bauds ?? '115200,921600,3000000').split(',').map(Number);
const inFlight = Number(values['in-flight'] ?? 4);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const kp = deriveKeyPair('bench-chip');
const z = sm2Z(kp.pub);
const items = Array.from({ length: 64 }, (_, i) => {
  const msg = new TextEncoder().encode(`bench ${i}`);
  return { slot: 1, e: bigToBytes(sm2E(z, msg)), sig: sm2Sign(kp, msg) };
});

const results: Record<string, unknown>[] = [];
for (const baud of bauds) {
  const emu = await startPtyEmulator({ baud });
  try {
    const d = await ChipDriver.open(await openSerialTransport(emu.hostPath, baud), { maxInFlight: inFlight, timeoutMs: 500 });
    await d.loadKey(1, kp.pub);
    // Request-sized estimate of what the link alone allows (the larger direction limits a full-duplex link).
    const linkSingle = 1 / wireSeconds(Math.max(HEADER_LEN + TRAILER_LEN + VERIFY_ITEM_LEN, HEADER_LEN + TRAILER_LEN + 1 + 33), baud);
    const linkBatch = 32 / wireSeconds(HEADER_LEN + TRAILER_LEN + 1 + 32 * Math.max(VERIFY_ITEM_LEN, VERIFY_RESULT_LEN), baud);
    // About 2.5 s per run so the pipeline start-up and drain are a small part of it.
    const n = Math.max(128, Math.round((Math.min(linkSingle, 1000 / DEFAULT_LATENCY.verify) * 2.5) / 32) * 32);
    for (const mode of ['single', 'batch'] as const) {
      const rates: number[] = [];
      for (let r = 0; r <= runs; r++) {
        const work = Array.from({ length: n }, (_, i) => items[i % items.length]!);
        const t0 = performance.now();
        if (mode === 'single') {
          const v = await Promise.all(work.map((w) => d.verify(w.slot, w.e, w.sig)));
          if (!v.every(Boolean)) throw new Error('a valid signature did not verify');
        } else {
          const v = await d.verifyBatch(work);
          if (!v.every(Boolean)) throw new Error('a valid signature did not verify');
        }
        const rate = n / ((performance.now() - t0) / 1000);
        if (r > 0) rates.push(rate); // run 0 warms up
      }
      const res = {
        baud,
        mode,
        verifiesPerSecondMedian: Math.round(median(rates)),
        runs: rates.map(Math.round),
        perRun: n,
        linkBoundPerSecond: Math.round(mode === 'single' ? linkSingle : linkBatch),
        chipBoundPerSecond: Math.round(1000 / DEFAULT_LATENCY.verify),
        driverStats: { timeouts: d.stats.timeouts, retries: d.stats.retries },
      };
      results.push(res);
      console.log(
        `${String(baud).padStart(8)} baud ${mode.padEnd(6)} median ${String(res.verifiesPerSecondMedian).padStart(5)} verifies/s  (runs ${res.runs.join(', ')}; link bound ${res.linkBoundPerSecond}/s, chip bound ${res.chipBoundPerSecond}/s)`,
      );
    }
    await d.close();
  } finally {
    await emu.stop();
  }
}
console.log(JSON.stringify({ bench: 'chip', inFlight, verifyLatencyMs: DEFAULT_LATENCY.verify, results }));
