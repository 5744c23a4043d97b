// The store's writer thread: commits the batches the main thread posts, in order, one transaction (and one
// WAL fsync) each, on its own connection — so the capture/detection thread never waits for the disk.
// Progress is published in shared memory (the main thread's sync() waits on it with Atomics.wait):
// [0] sequence number of the last committed batch, [1] 1 while the last commit failed, [2] 1 once closed.
// Requests (acknowledge, mark exported) share the batches' sequence, so they run after every row written
// before them; their answers go back on their own port (`replies`), readable synchronously at close.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { makeBatchCommitter, makeRequestRunner, prepareWrites, type Op, type Request } from './ops.ts';
import { Retention, type RetentionPolicy } from './retention.ts';

interface Init {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  state: SharedArrayBuffer;
  policy: RetentionPolicy;
  replies: MessagePort;
}
const init = workerData as Init;
const flags = new Int32Array(init.state);
const port = parentPort!;

const db = new Database(init.path, { timeout: 5000 });
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${init.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
// This connection's automatic checkpoints also cut the WAL back to this size (flash).
db.pragma('journal_size_limit = 8388608');
const stmts = prepareWrites(db);
const commit = makeBatchCommitter(db, stmts);
const runRequest = makeRequestRunner(db, stmts);
const retention = new Retention(db, init.policy);
const replies = init.replies;

type Item = { seq: number; ops: Op[] } | { seq: number; req: Request };
const backlog: Item[] = [];

function done(seq: number): void {
  backlog.shift();
  Atomics.store(flags, 1, 0);
  Atomics.store(flags, 0, seq);
  Atomics.notify(flags, 0);
}
let retry: NodeJS.Timeout | undefined;

function drain(): void {
  while (backlog.length > 0) {
    const b = backlog[0]!;
    if ('req' in b) {
      // A failing request is answered with its error (the operator sees it) and does not hold up the rest.
      let answer: { seq: number; result: number[] | boolean } | { seq: number; error: string };
      try {
        answer = { seq: b.seq, result: runRequest(b.req) };
      } catch (err) {
        answer = { seq: b.seq, error: (err as Error).message };
      }
      replies.postMessage(answer);
      done(b.seq);
      continue;
    }
    const t0 = performance.now();
    let dropped = 0;
    let firstError: string | null = null;
    try {
      ({ dropped, firstError } = commit(b.ops));
    } catch (err) {
      // Keep the batch and try again (the disk may be full for a moment); the main thread reports it.
      Atomics.store(flags, 1, 1);
      Atomics.notify(flags, 0);
      port.postMessage({ type: 'error', seq: b.seq, message: `commit of ${b.ops.length} rows failed: ${(err as Error).message}` });
      retry ??= setTimeout(() => {
        retry = undefined;
        drain();
      }, 1000);
      return;
    }
    done(b.seq);
    port.postMessage({ type: 'committed', seq: b.seq, rows: b.ops.length, ms: performance.now() - t0, dropped, firstError });
  }
}

type Message =
  | { type: 'batch'; seq: number; ops: Op[] }
  | { type: 'request'; seq: number; req: Request }
  | { type: 'retention'; nowNs: bigint }
  | { type: 'close' };
port.on('message', (m: Message) => {
  if (m.type === 'batch' || m.type === 'request') {
    backlog.push(m.type === 'batch' ? { seq: m.seq, ops: m.ops } : { seq: m.seq, req: m.req });
    if (retry === undefined) drain();
    return;
  }
  if (m.type === 'retention') {
    // Periodic retention runs here too, off the capture thread; only between batches.
    if (retry !== undefined) return;
    drain();
    try {
      port.postMessage({ type: 'retention', nowNs: m.nowNs, report: retention.run(m.nowNs, true) });
    } catch (err) {
      port.postMessage({ type: 'error', seq: -1, message: `retention failed: ${(err as Error).message}` });
    }
    return;
  }
  if (retry !== undefined) {
    clearTimeout(retry);
    retry = undefined;
  }
  drain();
  try {
    db.close();
  } catch {
    /* closing anyway */
  }
  replies.close();
  Atomics.store(flags, 2, 1);
  Atomics.notify(flags, 2);
  port.close();
});
