// The embedded demo's simulated bay (SPEC §4): merging units that publish scripted attack scenarios one
// after another. Normally the simulator runs as a separate process on one end of a veth pair in a network
// namespace (like a real MU on the process bus) and the appliance captures on the other end; where
// namespaces are not allowed, each scenario is generated into a capture and replayed in process at its
// true rate (and says so).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { readCaptureFile, realtimeNs, type FrameBatch } from '../../src/native/index.ts';
import type { ExpectedStream } from '../../src/model/streams.ts';
import type { SignedStream } from '../../src/model/signature.ts';
import { KeyStore } from '../../src/crypto/keystore.ts';
import { publicKeyToPem } from '../../src/crypto/sm2.ts';
import { CaptureWriter } from '../../src/sv/pcap-writer.ts';
import type { FrameSource, FrameSourceContext } from '../../src/app/appliance.ts';
import { sclStreams } from '../../src/cli/run.ts';
import { DEFAULT_OPTIONS, runSimulation, type AsyncFrameSink, type SimOptions } from '../sim/engine.ts';
import { findScenario } from '../sim/scenarios.ts';
import { writeScl } from '../sim/scl-writer.ts';
import { canCreateTestbed, createTestbed, type Testbed } from '../sim/testbed.ts';

/** The scripted attacks of the demo, in order, each for one simulator run. */
export const DEMO_SCENARIOS = [
  'interleaved-injection',
  'unknown-source',
  'normal',
  'fdi-kcl',
  'replay',
  'flood',
  'smpcnt-anomalies',
  'trip-without-fault',
  'simulate-bit',
  'real-fault',
  'config-mismatch',
] as const;

const simMain = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../svde-sim.ts');

/** The seed of the signing keys: the same keys in every scenario, as the key store was commissioned with. */
const KEY_SEED = 61850;

/** The demo's second bay (MU3, MU4) signs its frames in blocks of 80 (SPEC §5), verified by the chip emulator. */
function signing(mus: number): Partial<SimOptions> {
  return mus < 3
    ? {}
    : { sign: { kind: 'block', blockLen: 80 }, signMus: mus >= 4 ? [3, 4] : [3], secCntFromClock: true, keySeed: KEY_SEED };
}

/** The same, as the simulator's command line options (the live publisher is a separate process). */
const SIGN_ARGS = (mus: number, keysDir: string): string[] =>
  mus < 3
    ? []
    : [
        '--sign',
        'block:80',
        '--sign-mus',
        mus >= 4 ? '3,4' : '3',
        '--sec-cnt-from-clock',
        '--key-seed',
        String(KEY_SEED),
        '--keys',
        keysDir,
      ];

/** The next whole second (epoch seconds): each scenario's publisher starts its clock (and secCnt) from now. */
function nextSecond(): number {
  return Math.ceil(Date.now() / 1000);
}

/** Simulator options of one demo run (the defaults of the simulator's command line otherwise). */
function demoSimOptions(mus: number, durationS: number, seed: number, startEpochS: number): SimOptions {
  return { ...DEFAULT_OPTIONS, mus, durationS, seed, startEpochS, ...signing(mus) };
}

const discard: AsyncFrameSink = { write() {}, close() {} };

export interface DemoOptions {
  mus: number;
  /** Where the live publisher writes the signing MUs' public keys (scratch). */
  keysDir: string;
  /** Seconds per scenario. */
  scenarioSeconds: number;
  onScenario: (name: string) => void;
  log: (line: string) => void;
}

/**
 * The demo bay's configuration as commissioning would have it: the simulator describes its genuine bay in an
 * SCD (streams, datasets, addresses) and its ground truth names the merging units' source MACs; with a key
 * store, the signing MUs' public keys go into it, bound to their streams.
 */
export async function demoBayStreams(mus: number, keyStoreDir?: string): Promise<{ streams: ExpectedStream[]; signed: SignedStream[] }> {
  const opts: SimOptions = { ...DEFAULT_OPTIONS, mus, durationS: 1, ...(keyStoreDir !== undefined ? signing(mus) : {}) };
  const res = await runSimulation(opts, findScenario('normal')!, discard);
  const dir = mkdtempSync(path.join(tmpdir(), 'svde-demo-bay-'));
  let sclFile: string;
  try {
    sclFile = path.join(dir, 'bay.scd');
    writeFileSync(sclFile, writeScl(res.truth.config, { refreshTime: opts.refrTm }));
    const streams = sclStreams(sclFile).map((s) => ({
      ...s,
      acceptedSourceMacs: res.truth.config.streams.find((t) => t.svID === s.svID)?.acceptedSourceMacs ?? [],
    }));
    const signed: SignedStream[] = [];
    if (keyStoreDir !== undefined) {
      const store = new KeyStore(keyStoreDir);
      for (const t of res.truth.config.streams) {
        const name = streams.find((s) => s.svID === t.svID)?.name;
        const key = t.signed === null ? undefined : res.keys.find((k) => k.keyId === t.signed!.keyId);
        if (key === undefined || name === undefined) continue;
        store.importKey({ keyId: key.keyId, pem: publicKeyToPem(key.key.pub), streams: [name] });
        signed.push({ stream: name, keyId: key.keyId });
      }
    }
    return { streams, signed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the simulator as a separate process in the testbed's namespace, one scenario after another. */
export class DemoPublisher {
  #child: ChildProcess | undefined;
  #stopped = false;
  readonly #bed: Testbed;
  readonly #o: DemoOptions;
  readonly #truthFile = path.join(tmpdir(), `svde-demo-${process.pid}.truth.json`);

  constructor(bed: Testbed, o: DemoOptions) {
    this.#bed = bed;
    this.#o = o;
  }

  start(): void {
    void this.#loop();
  }

  async #loop(): Promise<void> {
    for (let k = 0; !this.#stopped; k++) {
      const scenario = DEMO_SCENARIOS[k % DEMO_SCENARIOS.length]!;
      this.#o.onScenario(scenario);
      const child = spawn(
        process.execPath,
        [
          simMain,
          '--iface',
          this.#bed.nsIf,
          '--netns',
          this.#bed.ns,
          '--mus',
          String(this.#o.mus),
          '--duration',
          `${this.#o.scenarioSeconds}s`,
          '--scenario',
          scenario,
          '--seed',
          String(k + 1),
          '--no-scl',
          '--truth',
          this.#truthFile,
          '--start',
          new Date(nextSecond() * 1000).toISOString(),
          ...SIGN_ARGS(this.#o.mus, this.#o.keysDir),
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      this.#child = child;
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      this.#child = undefined;
      if (!this.#stopped && code !== 0) {
        this.#o.log(`demo publisher exited with ${code}; restarting in 2 s`);
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
    rmSync(this.#truthFile, { force: true });
  }
}

/** Where namespaces are not allowed: generate each scenario into a temporary capture and replay it at its rate. */
export class InProcessReplay {
  #stopped = false;
  readonly #o: DemoOptions;
  readonly #sink: (b: FrameBatch) => void;
  readonly #dir = mkdtempSync(path.join(tmpdir(), 'svde-demo-'));

  constructor(o: DemoOptions, sink: (b: FrameBatch) => void) {
    this.#o = o;
    this.#sink = sink;
  }

  start(): void {
    void this.#run();
  }

  async #run(): Promise<void> {
    for (let k = 0; !this.#stopped; k++) {
      const scenario = DEMO_SCENARIOS[k % DEMO_SCENARIOS.length]!;
      const file = path.join(this.#dir, 'bay.pcap');
      const writer = new CaptureWriter(file, { format: 'pcap', resolution: 'ns' });
      await runSimulation(demoSimOptions(this.#o.mus, this.#o.scenarioSeconds, k + 1, nextSecond()), findScenario(scenario)!, writer);
      writer.close();
      this.#o.onScenario(scenario);
      const t0 = realtimeNs();
      let first: bigint | undefined;
      for (const b of readCaptureFile(file, { batchFrames: 64 })) {
        if (this.#stopped) return;
        if (b.count === 0) continue;
        first ??= b.tsNs(0);
        const due = Number(b.tsNs(b.count - 1) - first - (realtimeNs() - t0)) / 1e6;
        if (due > 0) await new Promise((r) => setTimeout(r, due));
        this.#sink(b);
      }
    }
  }

  stop(): void {
    this.#stopped = true;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/**
 * The appliance's frame source for the demo: the test bed with a live publisher where this process may
 * create network namespaces (and `inProcess` is not asked for), the in-process replay otherwise.
 */
export function demoSource(o: {
  mus: number;
  scenarioSeconds: number;
  keysDir: string;
  inProcess: boolean;
  log: (line: string) => void;
}): (ctx: FrameSourceContext) => FrameSource {
  return (ctx) => {
    const demo: DemoOptions = {
      mus: o.mus,
      keysDir: o.keysDir,
      scenarioSeconds: o.scenarioSeconds,
      log: o.log,
      onScenario: ctx.onScenario,
    };
    if (!o.inProcess && canCreateTestbed()) {
      const bed = createTestbed('demo');
      const pub = new DemoPublisher(bed, demo);
      return {
        iface: bed.hostIf,
        label: bed.hostIf,
        start: () => {
          pub.start();
          o.log(
            `embedded demo: ${o.mus} simulated merging units in network namespace ${bed.ns} publish on veth ${bed.nsIf}; capturing on ${bed.hostIf}`,
          );
        },
        stop: () => pub.stop(),
        close: () => bed.cleanup(),
      };
    }
    const replay = new InProcessReplay(demo, ctx.feed);
    return {
      label: '(in-process replay)',
      start: () => {
        replay.start();
        o.log(
          o.inProcess
            ? 'embedded demo: --in-process, so the simulated bay is replayed IN-PROCESS at its true rate; live capture is not exercised'
            : 'embedded demo: this process may not create network namespaces (not root, or no iproute2), so the simulated bay is replayed IN-PROCESS at its true rate; live capture is not exercised',
        );
      },
      stop: () => replay.stop(),
    };
  };
}
