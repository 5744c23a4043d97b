// svde run — the appliance's main job. At this stage of the product it is live capture and decoding with
// per-stream statistics; detection, storage, the API and the panel plug into the same loop later.
// Without --config and --iface it runs the embedded demo: a simulated bay of merging units publishing on
// one end of a veth pair in a network namespace, the appliance capturing on the other end.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LiveCapture, readCaptureFile, realtimeNs, type FrameBatch } from '../native/index.ts';
import { canCreateTestbed, createTestbed, type Testbed } from '../sim/testbed.ts';
import { StreamMonitor } from '../capture/stream-monitor.ts';

const HELP = `usage: svde run [--iface IFACE] [--config FILE] [--json] [--duration 30s]

Without --iface and --config: the embedded demo. A simulated bay (8 merging units, 9-2LE, 50 Hz, with
scripted attack scenarios one after another) publishes on a veth pair in a network namespace that svde
creates and removes; svde captures, decodes and reports every second.
  --iface IFACE     capture on this interface instead (the appliance on a real process bus)
  --mus N           merging units in the demo (default 8)
  --json            one JSON object per report instead of text
  --duration T      stop after T (e.g. 30s, 2m); default: run until SIGINT/SIGTERM
`;

// The scripted attacks of the demo, in order, each for one simulator run.
const DEMO_SCENARIOS = ['normal', 'interleaved-injection', 'replay', 'smpcnt-anomalies', 'flood', 'simulate-bit', 'real-fault', 'config-mismatch'];

function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s);
  if (m === null) throw new Error(`--duration: expected e.g. 30s, 500ms or 2m, got '${s}'`);
  const v = Number(m[1]);
  return m[2] === 'ms' ? v : m[2] === 'm' ? v * 60_000 : v * 1000;
}

export async function runCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        iface: { type: 'string' },
        config: { type: 'string' },
        mus: { type: 'string', default: '8' },
        json: { type: 'boolean', default: false },
        duration: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`svde run: ${(err as Error).message}\n${HELP}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.config !== undefined) {
    process.stderr.write('svde run: configuration files come with the detection engine and are not supported by this build yet\n');
    return 2;
  }
  const mus = Number(values.mus);
  if (!Number.isInteger(mus) || mus < 1 || mus > 64) {
    process.stderr.write(`svde run: --mus must be an integer 1..64, got '${values.mus}'\n`);
    return 2;
  }
  let durationMs: number | undefined;
  try {
    durationMs = values.duration === undefined ? undefined : parseDuration(values.duration);
  } catch (err) {
    process.stderr.write(`svde run: ${(err as Error).message}\n`);
    return 2;
  }

  const monitor = new StreamMonitor();
  const report = (): void => {
    const r = monitor.report();
    process.stdout.write(values.json === true ? `${JSON.stringify(r)}\n` : `${StreamMonitor.format(r)}\n`);
  };

  const stoppers: Array<() => Promise<void> | void> = [];
  let stopping = false;
  const finished = new Promise<void>((resolve) => {
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (durationMs !== undefined) setTimeout(stop, durationMs).unref();
    stoppers.push(() => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    });
  });

  try {
    if (values.iface !== undefined) {
      const cap = startCapture(values.iface, undefined, monitor);
      stoppers.push(() => cap.close());
      process.stderr.write(`svde: capturing Sampled Values on ${values.iface}\n`);
    } else if (canCreateTestbed()) {
      const bed = createTestbed('demo');
      stoppers.push(() => bed.cleanup());
      const cap = startCapture(bed.hostIf, bed, monitor);
      stoppers.push(() => cap.close());
      process.stderr.write(
        `svde: embedded demo — ${mus} simulated merging units in network namespace ${bed.ns} publish on veth ${bed.nsIf}; ` +
          `capturing on ${bed.hostIf}. Stop with Ctrl-C.\n`,
      );
      const sim = new DemoPublisher(bed, mus, (s) => monitor.setScenario(s));
      stoppers.push(() => sim.stop());
      sim.start();
    } else {
      process.stderr.write(
        'svde: embedded demo — this process may not create network namespaces (not root, or no iproute2), so the ' +
          'simulated bay is replayed IN-PROCESS from a generated capture at its true rate; live capture is not exercised.\n',
      );
      const replay = new InProcessReplay(mus, monitor);
      stoppers.push(() => replay.stop());
      void replay.run();
    }
    const timer = setInterval(report, 1000);
    stoppers.push(() => clearInterval(timer));
    await finished;
  } finally {
    for (const s of stoppers.reverse()) {
      try {
        await s();
      } catch (err) {
        process.stderr.write(`svde: while stopping: ${(err as Error).message}\n`);
      }
    }
  }
  report();
  return 0;
}

function startCapture(iface: string, bed: Testbed | undefined, monitor: StreamMonitor): LiveCapture {
  const cap = new LiveCapture({ iface });
  cap.start(
    (b: FrameBatch) => monitor.onBatch(b, realtimeNs()),
    (err) => process.stderr.write(`svde: capture on ${iface} stopped: ${err.message}\n`),
  );
  monitor.attachCapture(() => cap.stats());
  void bed;
  return cap;
}

const mainScript = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'main.ts');

/** Runs the simulator as a separate process (like a real merging unit), one scenario after another. */
class DemoPublisher {
  #child: ChildProcess | undefined;
  #stopped = false;
  #bed: Testbed;
  #mus: number;
  #onScenario: (name: string) => void;

  constructor(bed: Testbed, mus: number, onScenario: (name: string) => void) {
    this.#bed = bed;
    this.#mus = mus;
    this.#onScenario = onScenario;
  }

  start(): void {
    void this.#loop();
  }

  async #loop(): Promise<void> {
    for (let k = 0; !this.#stopped; k++) {
      const scenario = DEMO_SCENARIOS[k % DEMO_SCENARIOS.length]!;
      this.#onScenario(scenario);
      const child = spawn(
        process.execPath,
        [mainScript, 'simulate', '--iface', this.#bed.nsIf, '--netns', this.#bed.ns, '--mus', String(this.#mus),
          '--duration', '20s', '--scenario', scenario, '--seed', String(k + 1), '--truth', path.join(tmpdir(), `svde-demo-${process.pid}.truth.json`)],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      this.#child = child;
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      this.#child = undefined;
      if (!this.#stopped && code !== 0) {
        process.stderr.write(`svde: demo publisher exited with ${code}; restarting in 2 s\n`);
        await new Promise((r) => setTimeout(r, 2000));
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const child = this.#child;
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

/** Where namespaces are not allowed: generate the bay into a temporary capture and replay it at its rate. */
class InProcessReplay {
  #stopped = false;
  #mus: number;
  #monitor: StreamMonitor;
  #dir = mkdtempSync(path.join(tmpdir(), 'svde-demo-'));

  constructor(mus: number, monitor: StreamMonitor) {
    this.#mus = mus;
    this.#monitor = monitor;
  }

  async run(): Promise<void> {
    const { simulateCommand } = await import('./simulate.ts');
    for (let k = 0; !this.#stopped; k++) {
      const scenario = DEMO_SCENARIOS[k % DEMO_SCENARIOS.length]!;
      const file = path.join(this.#dir, 'bay.pcap');
      const quiet = process.stdout.write;
      process.stdout.write = () => true; // the simulator's own summary line is not part of the demo output
      try {
        await simulateCommand(['--out', file, '--mus', String(this.#mus), '--duration', '20s', '--scenario', scenario, '--seed', String(k + 1)]);
      } finally {
        process.stdout.write = quiet;
      }
      this.#monitor.setScenario(scenario);
      const t0 = realtimeNs();
      let first: bigint | undefined;
      for (const b of readCaptureFile(file, { batchFrames: 64 })) {
        if (this.#stopped) return;
        if (b.count === 0) continue;
        first ??= b.tsNs(0);
        const due = Number(b.tsNs(b.count - 1) - first - (realtimeNs() - t0)) / 1e6;
        if (due > 0) await new Promise((r) => setTimeout(r, due));
        this.#monitor.onBatch(b, undefined);
      }
    }
  }

  stop(): void {
    this.#stopped = true;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
