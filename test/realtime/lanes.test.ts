// The real-time thread's lanes: alarms always leave; evidence leaves while credit lasts, then drops counted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lanes } from '../../src/realtime/lanes.ts';
import type { WorkerMessage } from '../../src/realtime/protocol.ts';
import type { Alarm } from '../../src/model/indicators.ts';

const alarm = (id: number): Alarm => ({
  id,
  indicator: 'mac',
  grade: 1,
  stream: 'MU1',
  reason: 'unknown-source',
  firstFrame: 1,
  firstTsNs: 1n,
  lastFrame: 1,
  lastTsNs: 1n,
  frames: 1,
});

describe('lanes', () => {
  it('posts alarms before evidence, one message per lane per flush', () => {
    const sent: WorkerMessage[] = [];
    const l = new Lanes((m) => sent.push(m), 1000);
    l.alarm('raise', alarm(1), 1n);
    const ref = l.addChunk('MU1', new Uint8Array(100), 3, 1n, 2n);
    l.linkEvidence(1, [ref], false);
    l.flush();
    l.flush();
    assert.deepEqual(
      sent.map((m) => m.t),
      ['alarms', 'evidence'],
    );
    const ev = sent[1] as Extract<WorkerMessage, { t: 'evidence' }>;
    assert.equal(ev.bytes, 100);
    assert.deepEqual(
      ev.items.map((i) => i.k),
      ['chunk', 'link'],
    );
  });

  it('drops evidence beyond the credit and resumes when credit returns; never drops an alarm', () => {
    const sent: WorkerMessage[] = [];
    const l = new Lanes((m) => sent.push(m), 250);
    for (let k = 0; k < 5; k++) {
      l.alarm('raise', alarm(k), 1n);
      l.addChunk('MU1', new Uint8Array(100), 1, 1n, 2n);
      l.flush();
    }
    assert.equal(l.counters.evidenceDropped, 3, 'only two 100-byte chunks fit 250 bytes of credit');
    assert.equal(l.counters.alarmsPosted, 5);
    l.credit(200);
    l.addChunk('MU1', new Uint8Array(100), 1, 1n, 2n);
    l.flush();
    assert.equal(l.counters.evidenceDropped, 3);
    const chunks = sent.flatMap((m) => (m.t === 'evidence' ? m.items.filter((i) => i.k === 'chunk') : []));
    assert.equal(chunks.length, 3);
  });

  it('copies chunk bytes (the ring reuses its buffers)', () => {
    const sent: WorkerMessage[] = [];
    const l = new Lanes((m) => sent.push(m));
    const buf = new Uint8Array([1, 2, 3]);
    l.addChunk('MU1', buf, 1, 1n, 2n);
    buf[0] = 9;
    l.flush();
    const c = (sent[0] as Extract<WorkerMessage, { t: 'evidence' }>).items[0] as { data: Uint8Array };
    assert.deepEqual([...c.data], [1, 2, 3]);
  });

  it('posts at most the per-flush budget of evidence, in order, transferring the chunk buffers; closing posts all', () => {
    const sent: Array<{ m: WorkerMessage; transfer: ArrayBuffer[] }> = [];
    const l = new Lanes((m, transfer) => sent.push({ m, transfer: transfer ?? [] }), 10_000, 250);
    l.alarm('raise', alarm(1), 1n);
    const refs = [1, 2, 3, 4, 5].map(() => l.addChunk('MU1', new Uint8Array(100), 1, 1n, 2n));
    l.linkEvidence(1, refs, false);
    l.flush();
    assert.equal(sent[0]!.m.t, 'alarms', 'the alarm goes whole and first');
    const first = sent[1]!.m as Extract<WorkerMessage, { t: 'evidence' }>;
    assert.equal(first.bytes, 200, 'two 100-byte chunks fit a 250-byte flush');
    assert.equal(sent[1]!.transfer.length, 2);
    assert.equal(sent[1]!.transfer[0], (first.items[0] as { data: Uint8Array }).data.buffer, "the chunk's own buffer is transferred");
    assert.equal(l.evidencePending, 4, 'three chunks and the link wait');
    l.flush(true);
    const rest = sent[2]!.m as Extract<WorkerMessage, { t: 'evidence' }>;
    assert.deepEqual(
      rest.items.map((i) => i.k),
      ['chunk', 'chunk', 'chunk', 'link'],
      'the link follows the chunks it names',
    );
    assert.equal(l.evidencePending, 0);
    const posted = sent.flatMap((x) => (x.m.t === 'evidence' ? x.m.items.flatMap((i) => (i.k === 'chunk' ? [i.ref] : [])) : []));
    assert.deepEqual(
      posted,
      refs.map((r) => r.id),
      'in order',
    );
  });

  it('a chunk larger than the budget still leaves, alone', () => {
    const sent: WorkerMessage[] = [];
    const l = new Lanes((m) => sent.push(m), 10_000, 50);
    l.addChunk('MU1', new Uint8Array(100), 1, 1n, 2n);
    l.addChunk('MU1', new Uint8Array(100), 1, 1n, 2n);
    l.flush();
    l.flush();
    assert.deepEqual(
      sent.map((m) => (m.t === 'evidence' ? m.bytes : -1)),
      [100, 100],
    );
  });
});
