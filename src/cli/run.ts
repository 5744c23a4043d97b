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
import { LiveDetection } from '../capture/live-detection.ts';
import { bindConfig, parseConfig } from '../config/load.ts';
import { expectedStreams } from '../config/expected.ts';
import type { ExpectedStream } from '../detect/streams.ts';
import type { Alarm } from '../detect/types.ts';
import { importSclFile } from '../scl/import.ts';
import type { GroundTruth } from '../sim/truth.ts';
import { readFileSync } from 'node:fs';
import { epochString } from '../sv/asdu-record.ts';

const HELP = `usage: svde run [--iface IFACE [--scl FILE.scd]] [--json] [--duration 30s]

Without --iface and --config: the embedded demo. A simulated bay (8 merging units, 9-2LE, 50 Hz, with
scripted attack scenarios one after another) publishes on a veth pair in a network namespace that svde
creates and removes; svde captures, decodes, detects (rate, MAC, protocol logic, trip-level values) and
reports every second; alarms are printed as they are raised.
  --iface IFACE     capture on this interface instead (the appliance on a real process bus)
  --scl FILE        with --iface: the expected streams (detection runs only when it is given)
  --mus N           merging units in the demo (default 8)
  --json            one JSON object per report instead of text
  --duration T      stop after T (e.g. 30s, 2m); default: run until SIGINT/SIGTERM
`;

// The scripted attacks of the demo, in order, each for one simulator run.
const DEMO_SCENARIOS = ['interleaved-injection', 'unknown-source', 'normal', 'fdi-kcl', 'replay', 'flood', 'smpcnt-anomalies', 'trip-without-fault', 'simulate-bit', 'real-fault', 'config-mismatch'];

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
        scl: { type: 'string' },
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
  let detection: LiveDetection | undefined;
  const json = values.json === true;
  const onAlarm = (a: Alarm): void => {
    if (!json) process.stdout.write(`ALARM ${epochString(a.firstTsNs)} grade ${a.grade} ${a.indicator}/${a.reason} stream ${a.stream} (frame ${a.firstFrame})\n`);
  };
  const report = (): void => {
    const r = monitor.report();
    const d = detection?.report();
    if (json) process.stdout.write(`${JSON.stringify(d === undefined ? r : { ...r, detection: d })}\n`);
    else {
      process.stdout.write(`${StreamMonitor.format(r)}\n`);
      if (d !== undefined) {
        const raised = Object.entries(d.indicators).filter(([, s]) => s.count > 0).map(([k, s]) => `${k} ${s.count}${s.latched ? '*' : ''}`);
        process.stdout.write(`  νn = ${d.nu}${raised.length > 0 ? ` | alarms: ${raised.join(', ')} (* latched)` : ''}\n`);
      }
    }
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
      if (values.scl !== undefined) detection = new LiveDetection(sclStreams(values.scl), onAlarm);
      const cap = startCapture(values.iface, monitor, detection);
      stoppers.push(() => cap.close());
      process.stderr.write(`svde: capturing Sampled Values on ${values.iface}${detection === undefined ? ' (no --scl: statistics only, no detection)' : ''}\n`);
    } else if (canCreateTestbed()) {
      detection = new LiveDetection(await demoBayStreams(mus), onAlarm);
      const bed = createTestbed('demo');
      stoppers.push(() => bed.cleanup());
      const cap = startCapture(bed.hostIf, monitor, detection);
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
      detection = new LiveDetection(await demoBayStreams(mus), onAlarm);
      const replay = new InProcessReplay(mus, monitor, detection);
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

function startCapture(iface: string, monitor: StreamMonitor, detection: LiveDetection | undefined): LiveCapture {
  const cap = new LiveCapture({ iface });
  cap.start(
    (b: FrameBatch) => {
      monitor.onBatch(b, realtimeNs());
      detection?.onBatch(b);
    },
    (err) => process.stderr.write(`svde: capture on ${iface} stopped: ${err.message}\n`),
  );
  monitor.attachCapture(() => cap.stats());
  return cap;
}

/** Expected streams from an SCL file alone (every source accepted, default settings). */
function sclStreams(file: string): ExpectedStream[] {
  const cfg = parseConfig({}, '<defaults>');
  const scl = importSclFile(file);
  return expectedStreams({ file: '<defaults>', config: cfg, sclFile: file, scl, streams: bindConfig(cfg, scl) }).streams;
}

/**
 * The demo bay's configuration as commissioning would have it: the simulator describes its genuine bay in an
 * SCD (streams, datasets, addresses) and its ground truth names the merging units' source MACs.
 */
async function demoBayStreams(mus: number): Promise<ExpectedStream[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'svde-demo-bay-'));
  try {
    const { simulateCommand } = await import('./simulate.ts');
    const out = path.join(dir, 'bay.pcap');
    const write = process.stdout.write;
    process.stdout.write = () => true;
    try {
      await simulateCommand(['--out', out, '--mus', String(mus), '--duration', '1s']);
    } finally {
      process.stdout.write = write;
    }
    const truth = JSON.parse(readFileSync(`${out}.truth.json`, 'utf8')) as GroundTruth;
    return sclStreams(path.join(dir, 'bay.scd')).map((s) => ({
      ...s,
      acceptedSourceMacs: truth.config.streams.find((t) => t.svID === s.svID)?.acceptedSourceMacs ?? [],
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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
          '--duration', '10s', '--scenario', scenario, '--seed', String(k + 1), '--no-scl', '--truth', path.join(tmpdir(), `svde-demo-${process.pid}.truth.json`)],
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
  #detection: LiveDetection;
  #dir = mkdtempSync(path.join(tmpdir(), 'svde-demo-'));

  constructor(mus: number, monitor: StreamMonitor, detection: LiveDetection) {
    this.#mus = mus;
    this.#monitor = monitor;
    this.#detection = detection;
  }

  async run(): Promise<void> {
    const { simulateCommand } = await import('./simulate.ts');
    for (let k = 0; !this.#stopped; k++) {
      const scenario = DEMO_SCENARIOS[k % DEMO_SCENARIOS.length]!;
      const file = path.join(this.#dir, 'bay.pcap');
      const quiet = process.stdout.write;
      process.stdout.write = () => true; // the simulator's own summary line is not part of the demo output
      try {
        await simulateCommand(['--out', file, '--mus', String(this.#mus), '--duration', '10s', '--scenario', scenario, '--seed', String(k + 1), '--no-scl']);
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
        this.#detection.onBatch(b);
      }
    }
  }

  stop(): void {
    this.#stopped = true;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
