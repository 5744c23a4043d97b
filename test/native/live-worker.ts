// Worker for live.test.ts: loads the addon in a worker, starts a capture and a sender, and never
// closes them, so terminating the worker exercises the per-environment cleanup hooks.
import { parentPort, workerData } from 'node:worker_threads';
import { LiveCapture, Sender } from '../../src/native/index.ts';

const { iface, netns, hostIf } = workerData as { iface: string; netns: string; hostIf: string };
const cap = new LiveCapture({ iface, netns });
let frames = 0;
cap.start((b) => {
  frames += b.count;
  parentPort?.postMessage({ frames });
});
const sender = new Sender({ iface: hostIf });
void sender;
parentPort?.postMessage({ ready: true });
