// The driver against the emulator over a real socat pty, with every injected fault. Verdicts are judged
// against the software SM2 verifier (checked on the GM/T 0003.5 vectors in test/crypto/sm2.test.ts): a chip
// answer may be rejected (the frame is then unverified) but must never turn an invalid signature into "valid".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  bigToBytes,
  deriveKeyPair,
  sm2E,
  sm2Sign,
  sm2VerifyDigest,
  sm2Z,
  type Sm2KeyPair,
  type Sm2Signature,
} from '../../../src/crypto/sm2.ts';
import { ChipDriver, ChipError, type ChipTransport, type Health } from '../../../src/crypto/chip/driver.ts';
import { openSerialTransport } from '../../../src/crypto/chip/serial-transport.ts';
import { loadOrCreateDeviceKey, ONE_SHOTS, type ControlReply, type ControlRequest } from '../../../tools/chip/emulator.ts';
import { Cmd, FrameParser, Status } from '../../../src/crypto/chip/protocol.ts';
import { startPtyEmulator, type PtyEmulator } from '../../../tools/chip/pty-emulator.ts';

interface Case {
  slot: number;
  e: Uint8Array;
  sig: Sm2Signature;
  truth: boolean;
}

const keys: Sm2KeyPair[] = [deriveKeyPair('chip-test-mu-1'), deriveKeyPair('chip-test-mu-2')];
function makeCases(n: number): Case[] {
  const out: Case[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % 2;
    const kp = keys[k]!;
    const msg = new TextEncoder().encode(`frame ${i}`);
    const e = bigToBytes(sm2E(sm2Z(kp.pub), msg));
    let sig = sm2Sign(kp, msg);
    let slot = k + 1;
    switch (i % 4) {
      case 1:
        sig = { r: sig.r, s: sig.s ^ 1n };
        break; // tampered signature
      case 3:
        slot = 2 - k;
        break; // signed by the other key
      default:
        break;
    }
    const truth = sm2VerifyDigest(keys[slot - 1]!.pub, BigInt(`0x${Buffer.from(e).toString('hex')}`), sig);
    out.push({ slot, e, sig, truth });
  }
  return out;
}
const CASES = makeCases(16);
assert.ok(CASES.some((c) => c.truth) && CASES.some((c) => !c.truth), 'fixture needs valid and invalid signatures');

async function control(d: ChipDriver, req: ControlRequest): Promise<ControlReply> {
  const a = await d.raw(Cmd.TEST_CONTROL, new TextEncoder().encode(JSON.stringify(req)));
  assert.equal(a.status, Status.OK);
  return JSON.parse(new TextDecoder().decode(a.data)) as ControlReply;
}

async function setup(
  t: { after: (fn: () => Promise<void>) => void },
  baud = 921600,
  opts = {},
): Promise<{ emu: PtyEmulator; d: ChipDriver; health: Health[] }> {
  const emu = await startPtyEmulator({ baud, testControl: true });
  let d: ChipDriver | null = null;
  t.after(async () => {
    await d?.close();
    await emu.stop();
  });
  d = await ChipDriver.open(await openSerialTransport(emu.hostPath, baud), { timeoutMs: 100, ...opts });
  const health: Health[] = [d.health];
  d.on('health', (h: { state: Health }) => health.push(h.state));
  await d.loadKey(1, keys[0]!.pub);
  await d.loadKey(2, keys[1]!.pub);
  return { emu, d, health };
}

/** Verifies every case; returns how many came back unverified. Throws on any wrong verdict. */
async function verifyAll(d: ChipDriver, cases: Case[], batch: boolean): Promise<number> {
  let unverified = 0;
  if (batch) {
    try {
      const got = await d.verifyBatch(cases);
      got.forEach((v, k) => assert.equal(v, cases[k]!.truth, `batch item ${k}: chip said ${v}, truth ${cases[k]!.truth}`));
    } catch (e) {
      if (!(e instanceof ChipError)) throw e;
      unverified += cases.length;
    }
    return unverified;
  }
  await Promise.all(
    cases.map(async (c, k) => {
      try {
        assert.equal(await d.verify(c.slot, c.e, c.sig), c.truth, `case ${k}: wrong verdict`);
      } catch (e) {
        if (!(e instanceof ChipError)) throw e;
        unverified++;
      }
    }),
  );
  return unverified;
}

test('driver over a pty: every one-shot fault is survived with correct verdicts', async (t) => {
  const { d } = await setup(t, 921600, { retries: 5 }); // headroom for a 300 ms stall on a loaded machine
  for (const fault of ONE_SHOTS) {
    for (const batch of [false, true]) {
      const before = { ...d.stats, parser: { ...d.parser.stats } };
      await control(d, { once: [fault] });
      const unverified = await verifyAll(d, CASES.slice(0, 4), batch);
      assert.equal(unverified, 0, `${fault}: a single fault must be absorbed by retries`);
      const st = await control(d, {});
      assert.ok(st.stats.injected[fault] >= 1, `${fault} was not injected`);
      assert.deepEqual(st.pendingOnce, []);
      const s = d.stats;
      const p = d.parser.stats;
      const sawCrc = p.crcErrors + p.headerErrors > before.parser.crcErrors + before.parser.headerErrors;
      switch (fault) {
        case 'drop':
          assert.ok(s.timeouts > before.timeouts || sawCrc, 'drop: no timeout or framing error seen');
          break;
        case 'corrupt':
          assert.ok(sawCrc || s.timeouts > before.timeouts, 'corrupt: not noticed');
          break;
        case 'garbage':
          assert.ok(p.garbageBytes > before.parser.garbageBytes, 'garbage: not skipped');
          break;
        case 'stall':
        case 'silent':
          assert.ok(s.timeouts > before.timeouts, `${fault}: no timeout`);
          break;
        case 'reset':
        case 'quiet-reset':
          assert.ok(s.resets > before.resets, `${fault}: reset not detected`);
          break;
        case 'wrong':
          assert.ok(s.inconsistent + s.stray > before.inconsistent + before.stray, 'wrong answer not detected');
          break;
      }
    }
  }
  // A wrong answer to SIGN is caught by checking the signature against the device key.
  await control(d, { once: ['wrong'] });
  const before = d.stats.inconsistent;
  const e = new Uint8Array(32).fill(9);
  const sig = await d.sign(e);
  assert.ok(sm2VerifyDigest(d.chipInfo!.deviceKey, BigInt(`0x${'09'.repeat(32)}`), sig));
  assert.equal(d.stats.inconsistent, before + 1);
});

test('driver over a pty: random faults of every kind, never a wrong verdict', async (t) => {
  // Timeouts are generous so that on a loaded machine they come from the injected stalls, not the scheduler
  // (a driver that went `failed` on slow scheduling would refuse requests and the chip would draw fewer faults).
  const { d } = await setup(t, 3000000, { maxInFlight: 6, timeoutMs: 300 });
  await control(d, {
    seed: 42,
    faults: { dropRate: 0.0005, corruptRate: 0.05, garbageRate: 0.05, stallRate: 0.02, stallMs: 450, resetRate: 0.02, wrongRate: 0.05 },
  });
  const cases = makeCases(48);
  let unverified = 0;
  let total = 0;
  // Which requests draw which fault depends on timing (batching, retries), so the rounds go on — at least 12,
  // at most 40 — until every kind has been injected; the assertions below are about the driver, not luck.
  const kinds = ['corrupt', 'garbage', 'stall', 'reset', 'wrong'] as const;
  for (let round = 0; round < 40; round++) {
    if (round >= 12) {
      const now = await control(d, {}).catch(() => null);
      if (now !== null && kinds.every((k) => now.stats.injected[k] > 0) && now.stats.rxDropped + now.stats.txDropped > 0) break;
    }
    unverified += await verifyAll(d, cases.slice(0, 24), false);
    unverified += await verifyAll(d, cases.slice(24), true);
    // SIGN answers are checked against the device key: a wrong one is retried or rejected, never returned.
    const e = new Uint8Array(32).fill(round + 1);
    const sig = await d.sign(e).catch((err: unknown) => {
      assert.ok(err instanceof ChipError);
      return null;
    });
    if (sig) assert.ok(sm2VerifyDigest(d.chipInfo!.deviceKey, BigInt(`0x${Buffer.from(e).toString('hex')}`), sig));
    total += 48;
  }
  while (d.health === 'failed') await new Promise((r) => setTimeout(r, 50));
  const st = await control(d, { clear: true });
  t.diagnostic(
    `verifies ${total}, unverified ${unverified}, driver ${JSON.stringify(d.stats)}, injected ${JSON.stringify(st.stats.injected)}`,
  );
  for (const k of kinds) assert.ok(st.stats.injected[k] > 0, `${k} never injected`);
  assert.ok(st.stats.rxDropped + st.stats.txDropped > 0, 'no byte was dropped');
  assert.ok(unverified < total, 'nothing got through');
  // After the storm: the keys are loaded again and every verdict is right.
  assert.equal(await verifyAll(d, cases, false), 0);
});

test('driver health: ok → degraded → failed while the link is dead, then back to ok with the slots re-loaded', async (t) => {
  const { d, health } = await setup(t, 921600, { timeoutMs: 150, retries: 1, failAfter: 3, recoverAfter: 10, probeIntervalMs: 150 });
  const resetsBefore = d.stats.resets;
  await control(d, { faults: { dropRate: 1 }, forMs: 2500 }); // the answer to this still gets out
  let rejectedFailed = 0;
  while (d.health !== 'failed') {
    try {
      await d.verify(CASES[0]!.slot, CASES[0]!.e, CASES[0]!.sig);
    } catch (e) {
      assert.ok(e instanceof ChipError);
    }
  }
  try {
    await d.verify(CASES[0]!.slot, CASES[0]!.e, CASES[0]!.sig);
  } catch (e) {
    if (e instanceof ChipError && e.code === 'failed') rejectedFailed++;
  }
  assert.equal(rejectedFailed, 1, 'requests are refused at once while failed');
  while (d.health === 'failed') await new Promise((r) => setTimeout(r, 50));
  // Recovery re-ran INFO and LOAD_KEY; the chip kept its slots here, but the driver must not rely on that.
  assert.ok(d.stats.resets > resetsBefore);
  for (let i = 0; i < 12; i++) assert.equal(await verifyAll(d, CASES.slice(0, 4), false), 0);
  assert.equal(d.health, 'ok');
  assert.deepEqual(health.slice(-4), ['degraded', 'failed', 'degraded', 'ok'].slice(-4));
  assert.ok(health.includes('failed'));
});

test('driver: reset() and a chip-side reset both end with the slots re-loaded', async (t) => {
  const { d } = await setup(t);
  const resets: string[] = [];
  d.on('reset', (r: { reason: string }) => resets.push(r.reason));
  const boot0 = d.chipInfo!.bootCount;
  await d.reset();
  assert.equal(await verifyAll(d, CASES, false), 0);
  assert.ok((await d.info()).bootCount > boot0);
  // A reset nobody announced (BOOT frame lost): found through an empty slot, then repaired.
  await control(d, { once: ['quiet-reset'] });
  await d.random(4).catch(() => undefined);
  assert.equal(await verifyAll(d, CASES, false), 0);
  assert.ok(
    resets.some((r) => r.includes('BOOT')),
    `resets: ${resets.join('; ')}`,
  );
  assert.ok(
    resets.some((r) => r.includes('empty') || r.includes('boot id')),
    `resets: ${resets.join('; ')}`,
  );
});

test('driver: never more than maxInFlight requests on the wire', async (t) => {
  const emu = await startPtyEmulator({ baud: 921600 });
  let d: ChipDriver | null = null;
  t.after(async () => {
    await d?.close();
    await emu.stop();
  });
  const inner = await openSerialTransport(emu.hostPath, 921600);
  let outstanding = 0;
  let peak = 0;
  const up = new FrameParser();
  const down = new FrameParser();
  const counting: ChipTransport = {
    baudRate: 921600,
    write: (b) => {
      outstanding += up.push(b).length;
      peak = Math.max(peak, outstanding);
      inner.write(b);
    },
    onData: (cb) =>
      inner.onData((c) => {
        outstanding -= down.push(c).filter((f) => f.cmd !== Cmd.BOOT).length;
        cb(c);
      }),
    close: () => inner.close(),
  };
  d = await ChipDriver.open(counting, { maxInFlight: 3 });
  await d.loadKey(1, keys[0]!.pub);
  await d.loadKey(2, keys[1]!.pub);
  assert.equal(await verifyAll(d, makeCases(30), false), 0);
  assert.equal(peak, 3);
});

test('emulator device key: created 0600, a group/world-readable key file is refused', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'svde-chipkey-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = path.join(dir, 'k.hex');
  const d1 = loadOrCreateDeviceKey(f);
  assert.equal(statSync(f).mode & 0o777, 0o600);
  assert.equal(loadOrCreateDeviceKey(f), d1);
  chmodSync(f, 0o644);
  assert.throws(() => loadOrCreateDeviceKey(f), /group\/others/);
  const g = path.join(dir, 'bad.hex');
  writeFileSync(g, 'zz\n', { mode: 0o600 });
  assert.throws(() => loadOrCreateDeviceKey(g), /hex/);
  // The emulator process refuses to start with the exposed key.
  await assert.rejects(startPtyEmulator({ keyFile: f }), /group\/others/);
});

test('driver: the emulator process dying mid-traffic gives rejections and a failed state, not a crash', async (t) => {
  const { emu, d, health } = await setup(t, 921600, { timeoutMs: 150, retries: 1, probeIntervalMs: 100 });
  const pending = CASES.map((c) =>
    d.verify(c.slot, c.e, c.sig).then(
      (v) => ({ v, truth: c.truth }),
      (e: unknown) => e,
    ),
  );
  emu.emulator.kill('SIGKILL');
  const more = CASES.map((c) =>
    d.verify(c.slot, c.e, c.sig).then(
      (v) => ({ v, truth: c.truth }),
      (e: unknown) => e,
    ),
  );
  for (const r of await Promise.all([...pending, ...more])) {
    if (r instanceof Error) assert.ok(r instanceof ChipError, `unexpected ${String(r)}`);
    else assert.equal((r as { v: boolean; truth: boolean }).v, (r as { v: boolean; truth: boolean }).truth);
  }
  while (d.health !== 'failed') {
    await d.verify(CASES[0]!.slot, CASES[0]!.e, CASES[0]!.sig).catch((e: unknown) => assert.ok(e instanceof ChipError));
  }
  assert.ok(health.includes('failed'));
  await new Promise((r) => setTimeout(r, 300)); // probes keep failing quietly
  await d.close();
  await assert.rejects(d.verify(CASES[0]!.slot, CASES[0]!.e, CASES[0]!.sig), (e: unknown) => e instanceof ChipError && e.code === 'closed');
});

test('driver keepalive: an idle driver notices a silent chip reset through INFO and re-loads the slots', async (t) => {
  const { d } = await setup(t, 921600, { keepaliveMs: 100 });
  const resets: string[] = [];
  d.on('reset', (r: { reason: string }) => resets.push(r.reason));
  await control(d, { once: ['quiet-reset'] }); // the next request (a keepalive INFO) resets the chip, BOOT lost
  const end = Date.now() + 5000;
  while (resets.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.ok(
    resets.some((r) => r.includes('boot id')),
    `resets: ${resets.join('; ')}`,
  );
  const st = await control(d, {});
  assert.equal(st.stats.injected['quiet-reset'], 1);
  assert.equal(await verifyAll(d, CASES, false), 0);
});

test('driver: a chip that stops reading (emulator dead, socat alive) neither piles up writes nor wedges the driver; a restarted chip is served', async (t) => {
  // Regression: the pty fills once nobody reads the chip end; serialport's write then waits for "writable"
  // forever and queued every later write without bound, and the stale requests reached the chip when it came back.
  const emu = await startPtyEmulator({ baud: 3000000 });
  let d: ChipDriver | null = null;
  t.after(async () => {
    await d?.close();
    await emu.stop();
  });
  const transport = await openSerialTransport(emu.hostPath, 3000000, { maxQueuedBytes: 8192 });
  d = await ChipDriver.open(transport, { timeoutMs: 300, retries: 2, failAfter: 2, probeIntervalMs: 100 });
  await d.loadKey(1, keys[0]!.pub);
  await d.loadKey(2, keys[1]!.pub);
  const faults: string[] = [];
  d.on('fault', (f: { kind: string }) => faults.push(f.kind));
  await emu.kill();
  let maxQueued = 0;
  const filler = new Uint8Array(1024); // no start byte: whatever survives the flush is skipped by the chip's parser
  while (transport.stats.stalls === 0) {
    const pending = verifyAll(d, CASES, true).catch(() => 0); // the driver keeps submitting too
    for (let i = 0; i < 16; i++) transport.write(filler);
    maxQueued = Math.max(maxQueued, transport.stats.queued);
    await Promise.race([pending, new Promise((r) => setTimeout(r, 20))]);
  }
  assert.ok(maxQueued <= 8192, `queued ${maxQueued} bytes`);
  assert.ok(transport.stats.dropped > 0, 'writes beyond the bound are dropped');
  assert.ok(d.stats.stalls >= 1 && faults.includes('stall'), 'the driver was told');
  while (d.health !== 'failed')
    await d.verify(CASES[0]!.slot, CASES[0]!.e, CASES[0]!.sig).catch((e: unknown) => assert.ok(e instanceof ChipError));
  // The chip comes back (power cycle): the probe finds it, the slots are re-loaded, verdicts are right again.
  await emu.restart();
  // (Stale bytes that were already past the flush may meet the new chip first: a recovery may need a second probe.)
  let unverified = CASES.length;
  const end = Date.now() + 30000;
  while (unverified > 0 && Date.now() < end) {
    if (d.health === 'failed') {
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    unverified = await verifyAll(d, CASES, false);
  }
  assert.equal(unverified, 0);
  assert.ok(transport.stats.queued <= 8192);
});
