// WorkerVerifier: native SM2 verification on a worker thread — same verdicts as the inline path, bounded queue,
// deadline, and nothing counted as verified that was not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveKeyPair, signatureToRaw, sm2Sign } from '../../src/crypto/sm2.ts';
import { SoftwareVerifier } from '../../src/crypto/software-verifier.ts';
import { WorkerVerifier } from '../../src/crypto/worker-verifier.ts';

const k1 = deriveKeyPair('worker-1');
const k2 = deriveKeyPair('worker-2');
const keys = [
  { keyId: 1, pub: k1.pub, signerId: '1234567812345678', streams: [] },
  { keyId: 2, pub: k2.pub, signerId: 'MU2@substation', streams: ['MU2'] },
];
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function cases(n: number): Array<{ keyId: number; msg: Uint8Array; sig: Uint8Array }> {
  return Array.from({ length: n }, (_, i) => {
    const keyId = (i % 2) + 1;
    const kp = keyId === 1 ? k1 : k2;
    const msg = enc(`frame ${i}`);
    const sig = signatureToRaw(sm2Sign(kp, msg, keys[keyId - 1]!.signerId));
    if (i % 3 === 1) sig[7]! ^= 1; // tampered
    return { keyId: i % 5 === 4 ? 3 - keyId : keyId, msg, sig }; // every fifth under the other key
  });
}

test('worker verdicts equal the inline native verdicts (valid, tampered, other key, other signer ID)', async (t) => {
  const w = new WorkerVerifier(keys);
  t.after(() => w.close());
  const inline = new SoftwareVerifier(keys, 'native');
  const cs = cases(60);
  const got = await Promise.all(cs.map((c) => w.verify(c.keyId, c.msg, c.sig)));
  const want = await Promise.all(cs.map((c) => inline.verify(c.keyId, c.msg, c.sig)));
  assert.deepEqual(got, want);
  assert.ok(want.includes(true) && want.includes(false));
  assert.equal(await w.verify(1, enc('x'), new Uint8Array(10)), false, 'a short signature never verifies');
  await assert.rejects(w.verify(9, enc('x'), new Uint8Array(64)), /no key 9/);
  assert.equal(w.knows(2, 'MU2'), true);
  assert.equal(w.knows(2, 'MU1'), false, 'key 2 may sign MU2 only');
  assert.deepEqual(w.stats, { verified: 60, refused: 0, late: 0 });
});

test('worker queue bound: beyond maxQueued verifications are refused (unverified), the rest answered correctly', async (t) => {
  const w = new WorkerVerifier(keys, { maxQueued: 10 });
  t.after(() => w.close());
  const inline = new SoftwareVerifier(keys, 'native');
  const cs = cases(50);
  const got = await Promise.allSettled(cs.map((c) => w.verify(c.keyId, c.msg, c.sig)));
  const refused = got.filter((g) => g.status === 'rejected');
  assert.equal(refused.length, 40);
  for (const r of refused) assert.match(String((r as PromiseRejectedResult).reason), /saturated/);
  for (const [i, g] of got.entries())
    if (g.status === 'fulfilled') assert.equal(g.value, await inline.verify(cs[i]!.keyId, cs[i]!.msg, cs[i]!.sig));
  assert.equal(w.stats.refused, 40);
});

test('worker deadline: verifications that waited too long are given up, never passed as good', async (t) => {
  const w = new WorkerVerifier(keys, { deadlineMs: 5 });
  t.after(() => w.close());
  const cs = cases(1500);
  const got = await Promise.allSettled(cs.map((c) => w.verify(c.keyId, c.msg, c.sig)));
  const late = got.filter((g) => g.status === 'rejected');
  assert.ok(late.length > 0, '1500 verifications cannot all start within 5 ms');
  for (const l of late) assert.match(String((l as PromiseRejectedResult).reason), /deadline/);
  assert.equal(w.stats.late, late.length);
  assert.equal(w.stats.verified + w.stats.late, 1500);
});

test('closing the worker rejects what is pending and refuses new work', async () => {
  const w = new WorkerVerifier(keys);
  const cs = cases(200);
  const pending = Promise.allSettled(cs.map((c) => w.verify(c.keyId, c.msg, c.sig)));
  await w.close();
  for (const g of await pending) if (g.status === 'rejected') assert.match(String(g.reason), /closed/);
  await assert.rejects(w.verify(1, cs[0]!.msg, cs[0]!.sig), /closed/);
});

test('a dropped key: unknown at once, its unsent verifications rejected, the worker refuses it afterwards; the other key verifies', async (t) => {
  const w = new WorkerVerifier(keys);
  t.after(() => w.close());
  const inline = new SoftwareVerifier(keys, 'native');
  const m = enc('frame');
  const s1 = signatureToRaw(sm2Sign(k1, m));
  assert.equal(await w.verify(1, m, s1), true);
  const unsent = w.verify(1, m, s1); // still in the outbox: flushed on the next turn
  w.drop(1);
  inline.drop(1);
  await assert.rejects(unsent, /no longer valid/);
  assert.equal(w.knows(1, 'MU1'), false);
  assert.equal(inline.knows(1, 'MU1'), false);
  await assert.rejects(w.verify(1, m, s1), /no key 1/);
  await assert.rejects(inline.verify(1, m, s1), /no key 1/);
  assert.equal(await w.verify(2, m, signatureToRaw(sm2Sign(k2, m, 'MU2@substation'))), true);
  w.drop(1); // twice: harmless
});
