// startVerification end to end: the key store's valid keys in the slots of the chip emulator behind a socat pty
// (the production driver and serial transport), a signed stream verified by the chip, the device signer checked
// by the independent noble verifier and by the openssl CLI, the chip killed (fallback per policy), the chip
// power-cycled (slots re-loaded), more keys than slots, keys expiring or revoked while running (injected clock),
// no chip, a chip that cannot be opened.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPtyEmulator, type PtyEmulator } from '../../tools/chip/pty-emulator.ts';
import { KeyStore } from '../../src/crypto/keystore.ts';
import {
  bytesToBig,
  deriveKeyPair,
  publicKeyOf,
  publicKeyToPem,
  signatureFromRaw,
  signatureToDer,
  signatureToRaw,
  sm2Sign,
  sm2Verify,
  type Sm2PublicKey,
} from '../../src/crypto/sm2.ts';
import {
  loadOrCreateDeviceKeyPem,
  startVerification,
  type DroppedKey,
  type Verification,
  type VerificationHealth,
} from '../../src/crypto/verification.ts';
import { readCaptureFile } from '../../src/native/index.ts';
import { Pipeline } from '../../src/detect/pipeline.ts';
import { SignatureStage } from '../../src/detect/stages/signature.ts';
import { StreamRegistry } from '../../src/detect/streams.ts';
import type { FrameVerdict } from '../../src/model/indicators.ts';
import { expectedStreamsOfTruth, signedStreamsOfTruth } from '../../tools/sim/expected.ts';
import type { GroundTruth } from '../../tools/sim/truth.ts';
import { simulate } from '../detect/helpers.ts';

const BAUD = 921600;
const haveOpenssl = ((): boolean => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function pubOfHex(h: string): Sm2PublicKey {
  assert.match(h, /^04[0-9a-f]{128}$/);
  return { x: BigInt(`0x${h.slice(2, 66)}`), y: BigInt(`0x${h.slice(66)}`) };
}

describe('startVerification', () => {
  let dir = '';
  let capture: { file: string; truth: GroundTruth };
  let storeDir = '';
  let emu: PtyEmulator | null = null;
  const open: Verification[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-verif-'));
    capture = await simulate(dir, 'normal', ['--mus', '2', '--duration', '1s', '--sign', 'block:80']);
    storeDir = path.join(dir, 'keys');
    const store = new KeyStore(storeDir);
    for (const name of readdirSync(`${capture.file}.keys`).filter((n) => /^\d+\.pem$/.test(n))) {
      store.importKey({ keyId: Number.parseInt(name, 10), pem: readFileSync(path.join(`${capture.file}.keys`, name), 'utf8') });
    }
    // Neither of these may reach a slot or a verifier.
    store.importKey({ keyId: 90, pem: publicKeyToPem(deriveKeyPair('revoked').pub) });
    store.revoke(90);
    store.importKey({ keyId: 91, pem: publicKeyToPem(deriveKeyPair('expired').pub), notAfter: '2020-01-01T00:00:00Z' });
  });
  after(async () => {
    for (const v of open) await v.close();
    await emu?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(opts: Parameters<typeof startVerification>[0]): Promise<Verification> {
    const v = await startVerification({ driver: { timeoutMs: 150, failAfter: 2, probeIntervalMs: 150 }, ...opts });
    open.push(v);
    return v;
  }

  /** Runs the capture through the signature stage; `during(frames)` is awaited after every batch. */
  async function run(
    v: Verification,
    during?: (frames: number) => Promise<void>,
  ): Promise<{ sig: SignatureStage; verdicts: FrameVerdict[]; frames: number }> {
    const { file, truth } = capture;
    const registry = new StreamRegistry(expectedStreamsOfTruth(truth));
    const signed = signedStreamsOfTruth(truth);
    const sig = new SignatureStage(registry, signed, v.verifier);
    const verdicts: FrameVerdict[] = [];
    const p = new Pipeline({ registry, stages: [sig], onVerdict: (x) => verdicts.push(x) });
    let n = 0;
    for (const b of readCaptureFile(file, { batchFrames: 200 })) {
      p.processBatch(b);
      n += b.count;
      await sig.drain();
      await during?.(n);
    }
    await sig.drain();
    p.finish();
    return { sig, verdicts, frames: truth.capture.frames };
  }

  async function until(cond: () => boolean, what: string, ms = 10000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('loads the valid keys into chip slots and the chip verifies a signed stream', async () => {
    emu = await startPtyEmulator({ baud: BAUD });
    const v = await start({
      keyStoreDir: storeDir,
      chip: { path: emu.hostPath, baudRate: BAUD },
      fallback: 'none',
      deviceKeyFile: path.join(dir, 'dev1.pem'),
    });
    assert.deepEqual(v.keys(), { chip: [1, 2], software: [] }, 'revoked and expired keys are never loaded');
    assert.equal(v.verifier.knows(90, 'MU1'), false);
    assert.equal(v.verifier.knows(91, 'MU1'), false);
    assert.deepEqual(
      { ...v.health(), verifiedPerSecond: 0 },
      { state: 'ok', port: emu.hostPath, verifiedPerSecond: 0, queueDepth: 0, fallback: 'none', detail: null },
    );
    const { sig, verdicts, frames } = await run(v);
    assert.deepEqual(verdicts, []);
    assert.equal(sig.counters.verified, frames);
    assert.deepEqual(v.stats(), { chip: frames / 80, software: 0, unverified: 0, verdicts: frames / 80 });
    // A forged signature is refused by the chip.
    const forged = new Uint8Array(64).fill(7);
    assert.equal(await v.verifier.verify(1, new Uint8Array([1, 2, 3]), forged, 'MU1'), false);
    await v.close();
  });

  it(
    'the device signer signs through the chip: the noble verifier and openssl accept, an altered message fails',
    { skip: !haveOpenssl && 'openssl not installed' },
    async () => {
      const v = await start({ keyStoreDir: storeDir, chip: { path: emu!.hostPath, baudRate: BAUD }, fallback: 'none' });
      const msg = new TextEncoder().encode(JSON.stringify({ estimates: [{ bus: 'B1', re: 1.5 }] }));
      const s = await v.signer.sign(msg);
      assert.equal(s.by, 'chip');
      assert.equal(s.algorithm, 'SM2-SM3');
      assert.equal(s.signerId, '1234567812345678');
      assert.match(s.value, /^[0-9a-f]{128}$/);
      const pub = pubOfHex(s.publicKey);
      const rs = signatureFromRaw(Buffer.from(s.value, 'hex'));
      assert.equal(sm2Verify(pub, msg, rs, s.signerId), true);
      assert.equal(sm2Verify(pub, new TextEncoder().encode('other'), rs, s.signerId), false);
      // The key is the emulator's own (its key file), not a software key.
      const emuKey = publicKeyOfHexFile(emu!.keyFile);
      assert.deepEqual(pub, emuKey);
      const d = mkdtempSync(path.join(dir, 'ossl-'));
      writeFileSync(path.join(d, 'pub.pem'), publicKeyToPem(pub));
      writeFileSync(path.join(d, 'msg'), msg);
      writeFileSync(path.join(d, 'bad'), Buffer.concat([msg, Buffer.from('x')]));
      writeFileSync(path.join(d, 'sig.der'), signatureToDer(rs));
      const verify = (file: string): string => {
        try {
          return execFileSync(
            'openssl',
            [
              'pkeyutl',
              '-verify',
              '-rawin',
              '-digest',
              'sm3',
              '-pkeyopt',
              `distid:${s.signerId}`,
              '-pubin',
              '-inkey',
              path.join(d, 'pub.pem'),
              '-in',
              path.join(d, file),
              '-sigfile',
              path.join(d, 'sig.der'),
            ],
            { stdio: ['ignore', 'pipe', 'pipe'] },
          ).toString();
        } catch (e) {
          return `${(e as { stdout?: Buffer }).stdout?.toString() ?? ''}failed`;
        }
      };
      assert.match(verify('msg'), /Signature Verified Successfully/);
      assert.doesNotMatch(verify('bad'), /Verified Successfully/);
      await v.close();
    },
  );

  it('chip killed mid-stream, policy software: everything verified in software, degraded, the signer falls back to the device key file', async () => {
    emu ??= await startPtyEmulator({ baud: BAUD });
    const keyFile = path.join(dir, 'dev2.pem');
    const v = await start({
      keyStoreDir: storeDir,
      chip: { path: emu.hostPath, baudRate: BAUD },
      fallback: 'software',
      deviceKeyFile: keyFile,
    });
    assert.equal(statSync(keyFile).mode & 0o777, 0o600, 'device key file created 0600');
    const states: VerificationHealth[] = [];
    v.on('state', (h) => states.push(h));
    const { sig, verdicts, frames } = await run(v, async (n) => {
      if (n >= 3200) await emu!.kill();
    });
    assert.deepEqual(verdicts, []);
    assert.equal(sig.counters.verified, frames, 'the software fallback verified the rest');
    const st = v.stats();
    assert.ok(st.chip >= 3200 / 80 && st.software > 0, JSON.stringify(st));
    await until(() => v.health().state === 'degraded', 'degraded');
    assert.ok(states.some((h) => h.state === 'degraded'));
    assert.match(v.health().detail ?? '', /software fallback/);
    const msg = new TextEncoder().encode('report');
    const probe = signatureToRaw(sm2Sign(deriveKeyPair('x'), msg));
    while (!/chip failed/.test(v.health().detail ?? '')) await v.verifier.verify(1, msg, probe); // software answers meanwhile
    // Regression: the fallback used to verify synchronously on the caller's turn of the event loop, so a replay or
    // capture loop awaiting its verdicts never let timers or I/O run while the chip was dead (seconds of stall).
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    await v.verifier.verify(1, msg, probe);
    assert.ok(turned, 'the event loop turned while the software fallback verified');
    const s = await v.signer.sign(msg);
    assert.equal(s.by, 'software');
    assert.deepEqual(pubOfHex(s.publicKey), loadOrCreateDeviceKeyPem(keyFile).pub);
    assert.equal(sm2Verify(pubOfHex(s.publicKey), msg, signatureFromRaw(Buffer.from(s.value, 'hex')), s.signerId), true);
    await v.close();
  });

  it('chip killed mid-stream, policy none: the rest is unverified (never verified), state failed; a power-cycled chip gets its slots back', async () => {
    await emu!.restart();
    const v = await start({ keyStoreDir: storeDir, chip: { path: emu!.hostPath, baudRate: BAUD }, fallback: 'none' });
    assert.equal(v.health().state, 'ok');
    const { sig, verdicts, frames } = await run(v, async (n) => {
      if (n >= 3200) await emu!.kill();
    });
    assert.deepEqual(verdicts, [], 'no false bad-signature verdicts');
    assert.ok(sig.counters.unverified > 0);
    assert.equal(sig.counters.verified + sig.counters.unverified, frames);
    assert.ok(sig.counters.verified >= 3200 && sig.counters.verified < frames);
    await until(() => v.health().state === 'failed', 'failed');
    assert.match(v.health().detail ?? '', /no fallback/);
    // Power cycle: new boot id, empty slots. The driver's probe finds the chip and re-loads both keys.
    const chipBefore = v.stats().chip;
    await emu!.restart();
    await until(() => v.health().state !== 'failed', 'recovered from failed');
    const again = await run(v);
    assert.deepEqual(again.verdicts, []);
    assert.equal(again.sig.counters.verified, frames, 'after the reset every block is verified again');
    assert.equal(v.stats().chip - chipBefore, frames / 80, 'by the chip (slots re-loaded), not by software');
    await v.close();
  });

  it('the chip port disappears and a chip comes back behind the same path: the port is re-opened (SELFTEST, slots)', async () => {
    const link = path.join(dir, 'ttyCHIP');
    const a = await startPtyEmulator({ baud: BAUD });
    let b: PtyEmulator | null = null;
    try {
      symlinkSync(a.hostPath, link);
      const v = await start({ keyStoreDir: storeDir, chip: { path: link, baudRate: BAUD }, fallback: 'none', reconnectMs: 300 });
      assert.equal(v.health().state, 'ok');
      await a.stop(); // socat and the emulator gone: the host end of the pty vanishes under the open port
      const msg = new TextEncoder().encode('m');
      const raw = new Uint8Array(64).fill(1);
      while (v.health().state !== 'failed') await v.verifier.verify(1, msg, raw).catch(() => false);
      b = await startPtyEmulator({ baud: BAUD });
      unlinkSync(link);
      symlinkSync(b.hostPath, link);
      await until(() => v.health().state === 'ok', 'the re-opened chip', 20000);
      assert.deepEqual(v.keys().chip, [1, 2]);
      const chipBefore = v.stats().chip;
      const r = await run(v);
      assert.equal(r.sig.counters.verified, capture.truth.capture.frames);
      assert.equal(v.stats().chip - chipBefore, capture.truth.capture.frames / 80, 'verified by the new chip');
      await v.close();
    } finally {
      await a.stop();
      await b?.stop();
      rmSync(link, { force: true });
    }
  });

  it('more keys than slots: 16 in the chip, the rest in software, said in the health detail', async () => {
    const big = path.join(dir, 'many-keys');
    const store = new KeyStore(big);
    const pairs = Array.from({ length: 18 }, (_, i) => deriveKeyPair(`many-${i}`));
    pairs.forEach((k, i) => store.importKey({ keyId: 100 + i, pem: publicKeyToPem(k.pub) }));
    const v = await start({ keyStoreDir: big, chip: { path: emu!.hostPath, baudRate: BAUD }, fallback: 'none' });
    const where = v.keys();
    assert.equal(where.chip.length, 16);
    assert.deepEqual(where.software, [116, 117]);
    assert.match(v.health().detail ?? '', /2 key\(s\) beyond the chip's 16 slot\(s\) verified in software/);
    const msg = new TextEncoder().encode('m');
    for (const keyId of [100, 115, 116, 117]) {
      const raw = signatureToRaw(sm2Sign(pairs[keyId - 100]!, msg));
      assert.equal(await v.verifier.verify(keyId, msg, raw), true, `key ${keyId}`);
      assert.equal(await v.verifier.verify(keyId, new TextEncoder().encode('n'), raw), false, `key ${keyId} altered`);
    }
    assert.deepEqual({ chip: v.stats().chip, software: v.stats().software }, { chip: 4, software: 4 });
    await v.close();
  });

  it('keys are re-checked while running (injected clock): past notAfter a key leaves the verifier and its chip slot, its frames are unknown-key, never verified; a revocation too', async () => {
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    let now = t0;
    const keysDir = path.join(dir, 'expiring');
    const store = new KeyStore(keysDir);
    // key 1 (MU1) valid until t0 + 1 h, key 2 (MU2) until t0 + 2 h
    for (const keyId of [1, 2]) {
      store.importKey({
        keyId,
        pem: readFileSync(path.join(`${capture.file}.keys`, `${keyId}.pem`), 'utf8'),
        notAfter: new Date(t0 + keyId * 3_600_000).toISOString(),
      });
    }
    const v = await start({
      keyStoreDir: keysDir,
      chip: { path: emu!.hostPath, baudRate: BAUD },
      fallback: 'none',
      keyCheckMs: 50,
      now: () => new Date(now),
    });
    const dropped: DroppedKey[][] = [];
    v.on('keys', (d) => dropped.push(d));
    assert.deepEqual(v.keys(), { chip: [1, 2], software: [] });
    assert.equal((await run(v)).sig.counters.verified, capture.truth.capture.frames);
    now = t0 + 3_600_000 + 1000;
    await until(() => dropped.length > 0, 'the periodic check');
    assert.deepEqual(dropped, [[{ keyId: 1, status: 'expired' }]]);
    assert.deepEqual(v.keys(), { chip: [2], software: [] }, 'slot of key 1 no longer used');
    assert.equal(v.verifier.knows(1, 'MU1'), false);
    await assert.rejects(v.verifier.verify(1, new Uint8Array([1]), new Uint8Array(64).fill(3)));
    const chipBefore = v.stats().chip;
    const { sig, verdicts, frames } = await run(v);
    const mu1 = verdicts.filter((x) => x.stream === 'MU1');
    assert.ok(mu1.length > 0 && mu1.every((x) => x.indicator === 'signature' && x.reason === 'unknown-key' && x.detail?.['keyId'] === 1));
    assert.deepEqual(
      verdicts.filter((x) => x.stream !== 'MU1'),
      [],
    );
    assert.equal(sig.counters.verified + mu1.length, frames, 'MU2 verified, no MU1 frame verified');
    assert.equal(v.stats().chip - chipBefore, (frames - mu1.length) / 80, 'MU2 still by the chip');
    store.revoke(2, new Date(now));
    assert.deepEqual(await v.checkKeys(), [{ keyId: 2, status: 'revoked' }]);
    assert.deepEqual(v.keys(), { chip: [], software: [] });
    assert.equal((await run(v)).sig.counters.verified, 0);
    assert.deepEqual(await v.checkKeys(), [], 'nothing left to drop');
    await v.close();
  });

  it('between two checks a key past notAfter is already refused (software verifier, no timer fired)', async () => {
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    let now = t0;
    const keysDir = path.join(dir, 'expiring-soft');
    const store = new KeyStore(keysDir);
    store.importKey({
      keyId: 1,
      pem: readFileSync(path.join(`${capture.file}.keys`, '1.pem'), 'utf8'),
      notAfter: new Date(t0 + 1000).toISOString(),
    });
    const v = await start({ keyStoreDir: keysDir, fallback: 'none', softwareThread: 'inline', now: () => new Date(now) });
    const dropped: DroppedKey[][] = [];
    v.on('keys', (d) => dropped.push(d));
    assert.equal(v.verifier.knows(1, 'MU1'), true);
    now = t0 + 1001;
    assert.equal(v.verifier.knows(1, 'MU1'), false);
    assert.deepEqual(dropped, [[{ keyId: 1, status: 'expired' }]]);
    assert.deepEqual(v.keys(), { chip: [], software: [] });
    await assert.rejects(v.verifier.verify(1, new Uint8Array([1]), new Uint8Array(64).fill(3)), /no key 1/);
    await v.close();
  });

  it('no chip configured: software verifier, state absent, software signer', async () => {
    const keyFile = path.join(dir, 'dev3.pem');
    const v = await start({ keyStoreDir: storeDir, fallback: 'none', deviceKeyFile: keyFile });
    assert.equal(v.health().state, 'absent');
    assert.equal(v.health().fallback, null);
    const { sig, frames } = await run(v);
    assert.equal(sig.counters.verified, frames);
    const s = await v.signer.sign(new Uint8Array([1]));
    assert.equal(s.by, 'software');
    assert.deepEqual(pubOfHex(s.publicKey), loadOrCreateDeviceKeyPem(keyFile).pub, 'the same key on every start');
    // Software verification runs on a worker thread: the caller's event loop keeps turning meanwhile.
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    assert.equal(await v.verifier.verify(1, new Uint8Array([1]), new Uint8Array(64).fill(3)), false);
    assert.ok(turned);
    await v.close();
  });

  it('a chip that cannot be opened: software fallback degraded, or policy none failed with frames unverified', async () => {
    const chip = { path: path.join(dir, 'no-such-tty'), baudRate: BAUD };
    const soft = await start({ keyStoreDir: storeDir, chip, fallback: 'software', reconnectMs: 60000 });
    assert.equal(soft.health().state, 'degraded');
    assert.match(soft.health().detail ?? '', /unavailable .*verifying in software/);
    assert.equal((await run(soft)).sig.counters.verified, capture.truth.capture.frames);
    const none = await start({ keyStoreDir: storeDir, chip, fallback: 'none', reconnectMs: 60000 });
    assert.equal(none.health().state, 'failed');
    const r = await run(none);
    assert.equal(r.sig.counters.verified, 0);
    assert.equal(r.sig.counters.unverified, capture.truth.capture.frames);
    await assert.rejects(none.signer.sign(new Uint8Array([1])), /no device key/);
    await soft.close();
    await none.close();
  });

  it(
    'device key file: an openssl-made SM2 key is used as is; a group-readable one is refused',
    { skip: !haveOpenssl && 'openssl not installed' },
    () => {
      const f = path.join(dir, 'ossl-dev.pem');
      execFileSync('openssl', ['genpkey', '-algorithm', 'SM2', '-out', f], { stdio: 'ignore' });
      chmodSync(f, 0o600);
      const k = loadOrCreateDeviceKeyPem(f);
      const pubPem = execFileSync('openssl', ['pkey', '-in', f, '-pubout']).toString();
      const fromOpenssl = publicKeyToPem(k.pub);
      assert.equal(fromOpenssl.replace(/\s/g, ''), pubPem.replace(/\s/g, ''));
      chmodSync(f, 0o640);
      assert.throws(() => loadOrCreateDeviceKeyPem(f), /group\/others/);
      const junk = path.join(dir, 'junk.pem');
      writeFileSync(junk, 'not a key\n', { mode: 0o600 });
      assert.throws(() => loadOrCreateDeviceKeyPem(junk), /not an SM2 private key/);
    },
  );
});

/** The emulator's key file holds the device private key as hex; its public key is what INFO reports. */
function publicKeyOfHexFile(file: string): Sm2PublicKey {
  return publicKeyOf(bytesToBig(Buffer.from(readFileSync(file, 'utf8').trim(), 'hex')));
}
