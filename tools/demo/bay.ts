// The embedded demo of SPEC §4: a simulated bay whose merging units publish scripted attack scenarios one
// after another. Normally the simulator runs as a separate process on one end of a veth pair in a network
// namespace (like a real MU on the process bus) and the appliance captures on the other end; where
// namespaces are not allowed, a generated capture is replayed in process at its true rate (and says so).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { readCaptureFile, realtimeNs, type FrameBatch } from '../../src/native/index.ts';
import { bindConfig, parseConfig } from '../../src/config/load.ts';
import { expectedStreams } from '../../src/config/expected.ts';
import type { ExpectedStream } from '../../src/model/streams.ts';
import type { SignedStream } from '../../src/model/signature.ts';
import { KeyStore } from '../../src/crypto/keystore.ts';
import { importSclFile } from '../../src/scl/import.ts';
import type { Testbed } from '../sim/testbed.ts';
import type { GroundTruth } from '../sim/truth.ts';

/** The scripted attacks of the demo, in order, each for one simulator run. */
export const DEMO_SCENARIOS = [
  'interleaved-injection', 'unknown-source', 'normal', 'fdi-kcl', 'replay', 'flood', 'smpcnt-anomalies',
  'trip-without-fault', 'simulate-bit', 'real-fault', 'config-mismatch',
] as const;

const mainScript = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../cli/main.ts');

/** The demo's second bay (MU3, MU4) signs its frames in blocks of 80 (SPEC §5), verified by the chip emulator. */
const SIGN_ARGS = (mus: number, keysDir: string): string[] =>
  mus < 3 ? [] : ['--sign', 'block:80', '--sign-mus', mus >= 4 ? '3,4' : '3', '--sec-cnt-from-clock', '--key-seed', '61850', '--keys', keysDir];

/** The next whole second as ISO 8601: each scenario's publisher starts its clock (and secCnt) from now. */
function nextSecond(): string {
  return new Date(Math.ceil(Date.now() / 1000) * 1000).toISOString();
}

export interface DemoOptions {
  mus: number;
  /** Where the simulator writes the signing MUs' public keys (scratch). */
  keysDir: string;
  /** Seconds per scenario. */
  scenarioSeconds: number;
  onScenario: (name: string) => void;
  log: (line: string) => void;
}

/** Expected streams from an SCL file alone (every source accepted, default settings). */
export function sclStreams(file: string): ExpectedStream[] {
  const cfg = parseConfig({}, '<defaults>');
  const scl = importSclFile(file);
  return expectedStreams({ file: '<defaults>', config: cfg, sclFile: file, scl, streams: bindConfig(cfg, scl) }).streams;
}

async function quietly<T>(f: () => Promise<T>): Promise<T> {
  const write = process.stdout.write;
  process.stdout.write = () => true; // the simulator's summary line is not part of the appliance's output
  try {
    return await f();
  } finally {
    process.stdout.write = write;
  }
}

/**
 * The demo bay's configuration as commissioning would have it: the simulator describes its genuine bay in an
 * SCD (streams, datasets, addresses) and its ground truth names the merging units' source MACs.
 */
export async function demoBayStreams(mus: number, keyStoreDir?: string): Promise<{ streams: ExpectedStream[]; signed: SignedStream[] }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'svde-demo-bay-'));
  try {
    const { simulateCommand } = await import('../sim/cli.ts');
    const out = path.join(dir, 'bay.pcap');
    const keys = path.join(dir, 'keys');
    await quietly(() => simulateCommand(['--out', out, '--mus', String(mus), '--duration', '1s', ...(keyStoreDir !== undefined ? SIGN_ARGS(mus, keys) : [])]));
    const truth = JSON.parse(readFileSync(`${out}.truth.json`, 'utf8')) as GroundTruth;
    const streams = sclStreams(path.join(dir, 'bay.scd')).map((s) => ({
      ...s,
      acceptedSourceMacs: truth.config.streams.find((t) => t.svID === s.svID)?.acceptedSourceMacs ?? [],
    }));
    const signed: SignedStream[] = [];
    if (keyStoreDir !== undefined) {
      // Commissioning: the signing MUs' public keys go into the key store, bound to their streams.
      const store = new KeyStore(keyStoreDir);
      for (const t of truth.config.streams) {
        const name = streams.find((s) => s.svID === t.svID)?.name;
        if (t.signed === null || name === undefined) continue;
        store.importKey({ keyId: t.signed.keyId, pem: readFileSync(path.join(keys, `${t.signed.keyId}.pem`), 'utf8'), streams: [name] });
        signed.push({ stream: name, keyId: t.signed.keyId });
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
        [mainScript, 'simulate', '--iface', this.#bed.nsIf, '--netns', this.#bed.ns, '--mus', String(this.#o.mus),
          '--duration', `${this.#o.scenarioSeconds}s`, '--scenario', scenario, '--seed', String(k + 1), '--no-scl', '--truth', this.#truthFile,
          '--start', nextSecond(), ...SIGN_ARGS(this.#o.mus, this.#o.keysDir)],
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

/** Where namespaces are not allowed: generate the bay into a temporary capture and replay it at its rate. */
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
    const { simulateCommand } = await import('../sim/cli.ts');
    for (let k = 0; !this.#stopped; k++) {
      const scenario = DEMO_SCENARIOS[k % DEMO_SCENARIOS.length]!;
      const file = path.join(this.#dir, 'bay.pcap');
      await quietly(() => simulateCommand(['--out', file, '--mus', String(this.#o.mus), '--duration', `${this.#o.scenarioSeconds}s`, '--scenario', scenario, '--seed', String(k + 1), '--no-scl', '--start', nextSecond(), ...SIGN_ARGS(this.#o.mus, this.#o.keysDir)]));
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
