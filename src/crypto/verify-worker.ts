// Worker thread of WorkerVerifier: SM2 verification through the native addon, off the detection thread.
// Receives batches { items: [{ id, keyId, message, signature, deadline }] } and answers { results: [[id, verdict]] }
// with verdict 1 valid, 0 invalid, -1 not verified (its deadline passed while it waited, or an unknown key);
// { drop: keyId } forgets a key that is no longer valid.
import { parentPort, workerData } from 'node:worker_threads';
import { nativeSm2Key, type NativeSm2Key } from '../native/index.ts';

interface WireKey {
  keyId: number;
  point: Uint8Array;
  signerId: string;
}
interface Item {
  id: number;
  keyId: number;
  message: Uint8Array;
  signature: Uint8Array;
  deadline: number;
}

const keys = new Map<number, { k: NativeSm2Key; signerId: string }>();
for (const w of (workerData as { keys: WireKey[] }).keys) keys.set(w.keyId, { k: nativeSm2Key(w.point), signerId: w.signerId });

parentPort!.on('message', (m: { items: Item[] } | { drop: number }) => {
  if ('drop' in m) {
    keys.delete(m.drop);
    return;
  }
  const results: Array<[number, number]> = [];
  for (const it of m.items) {
    const key = keys.get(it.keyId);
    if (key === undefined || Date.now() > it.deadline) {
      results.push([it.id, -1]);
      continue;
    }
    let ok = false;
    try {
      ok = key.k.verify(it.message, it.signature, key.signerId);
    } catch {
      ok = false;
    }
    results.push([it.id, ok ? 1 : 0]);
  }
  parentPort!.postMessage({ results });
});
