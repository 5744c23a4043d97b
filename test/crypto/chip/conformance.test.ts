// The chip conformance suite against the emulator over a real socat pty, and against real hardware when
// SVDE_CHIP_PORT names its serial device (SVDE_CHIP_BAUD sets the speed, default 115200).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chipConformance } from '../../../tools/chip/conformance.ts';
import { openSerialTransport } from '../../../src/crypto/chip/serial-transport.ts';
import { startPtyEmulator } from '../../../tools/chip/pty-emulator.ts';

function assertAllPass(results: { name: string; ok: boolean; detail: string }[]): void {
  assert.ok(results.length >= 14, `only ${results.length} checks ran`);
  const failed = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`);
  assert.deepEqual(failed, []);
}

test('conformance: emulator over a socat pty', async (t) => {
  for (const baud of [115200, 3000000]) {
    const emu = await startPtyEmulator({ baud });
    t.after(() => emu.stop());
    try {
      const results = await chipConformance(() => openSerialTransport(emu.hostPath, baud));
      for (const r of results) t.diagnostic(`${baud} ${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.detail ? ` (${r.detail})` : ''}`);
      assertAllPass(results);
    } finally {
      await emu.stop();
    }
  }
});

test('conformance: real chip on SVDE_CHIP_PORT', async (t) => {
  const port = process.env['SVDE_CHIP_PORT'];
  if (!port) {
    t.skip("SVDE_CHIP_PORT is not set: no real chip to test (set it to the chip's serial device)");
    return;
  }
  const baud = Number(process.env['SVDE_CHIP_BAUD'] ?? 115200);
  const results = await chipConformance(() => openSerialTransport(port, baud));
  for (const r of results) t.diagnostic(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.detail ? ` (${r.detail})` : ''}`);
  assertAllPass(results);
});
