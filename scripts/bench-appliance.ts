// The whole appliance under load: `svde run --config` capturing N merging units × R frames/s (simulator in a
// network namespace, live over a veth pair), first with the API idle, then with C concurrent pollers
// (autocannon) on GET /api/v1/status and /api/v1/alarms, then with the main thread stalled for 100 ms once a
// second (SIGUSR2 test hook). Prints one JSON object: per phase arrival→verdict over EVERY frame of the phase
// (`verdictLatencyUs`, from the real-time thread's histogram, reset at the phase start with SIGUSR1), the
// frames lost, the appliance's per-second reports (arrival→JS latency, drops, frames/s) and, for the loaded
// phase, the API's latency p50/p99 and requests/s.
//
//   node scripts/bench-appliance.ts [--mus 8] [--rate 4800] [--phase 20] [--connections 50]
// Needs root (network namespace). Uses a temporary state directory.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { createTestbed } from '../tools/sim/testbed.ts';
import type { GroundTruth } from '../tools/sim/truth.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = path.join(repoRoot, 'src/cli/main.ts');
const simMain = path.join(repoRoot, 'tools/svde-sim.ts');
const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as (
  opts: Record<string, unknown>,
) => Promise<{ latency: { p50: number; p99: number; average: number }; requests: { average: number }; non2xx: number; errors: number }>;

const { values: a } = parseArgs({
  options: {
    mus: { type: 'string', default: '8' },
    // Where to keep the appliance's stderr (its log), for a look after the run.
    'app-log': { type: 'string' },
    rate: { type: 'string', default: '4800' },
    phase: { type: 'string', default: '20' },
    connections: { type: 'string', default: '50' },
  },
});
const mus = Number(a.mus);
const rate = Number(a.rate);
const phaseS = Number(a.phase);
const connections = Number(a.connections);

interface Report {
  framesPerS: number;
  capture?: { kernelDrops: number; queueDrops: number; ifDrops: number };
  latencyMs?: { p50: number; p99: number; max: number };
}

function run(args: string[], script = main): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(script)} ${args[0]} exited with ${code}`))));
  });
}

function median(v: number[]): number {
  const s = [...v].sort((x, y) => x - y);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}

function summarise(reports: Report[]): Record<string, number> {
  const steady = reports.slice(2); // the first seconds include start-up
  const drops = (r: Report | undefined): number =>
    (r?.capture?.kernelDrops ?? 0) + (r?.capture?.queueDrops ?? 0) + (r?.capture?.ifDrops ?? 0);
  return {
    seconds: steady.length,
    framesPerSecondMedian: median(steady.map((r) => r.framesPerS)),
    latencyP50MsMedian: median(steady.map((r) => r.latencyMs?.p50 ?? NaN)),
    latencyP99MsMedian: median(steady.map((r) => r.latencyMs?.p99 ?? NaN)),
    latencyP99MsWorst: Math.max(...steady.map((r) => r.latencyMs?.p99 ?? 0)),
    latencyMaxMs: Math.max(...steady.map((r) => r.latencyMs?.max ?? 0)),
    lostFrames: drops(steady[steady.length - 1]) - drops(reports[1]),
  };
}

const dir = mkdtempSync(path.join(tmpdir(), 'svde-bench-app-'));
const bed = createTestbed('bench');
let app: ReturnType<typeof spawn> | undefined;
try {
  await run(['--out', path.join(dir, 'bay.pcap'), '--mus', String(mus), '--rate', String(rate), '--duration', '1s'], simMain);
  const truth = JSON.parse(readFileSync(path.join(dir, 'bay.pcap.truth.json'), 'utf8')) as GroundTruth;
  writeFileSync(
    path.join(dir, 'svde.json'),
    JSON.stringify({
      version: 1,
      scl: 'bay.scd',
      streams: truth.config.streams.map((s) => ({ svID: s.svID, acceptedSourceMacs: s.acceptedSourceMacs })),
      appliance: {
        iface: bed.hostIf,
        stateDir: 'state',
        http: { host: '127.0.0.1', port: 0, tokens: 'tokens.json', rateLimit: { max: 1_000_000, windowS: 1 } },
      },
    }),
  );
  const tokenOut = await run(['tokens', 'add', '--file', path.join(dir, 'tokens.json'), '--role', 'viewer', '--name', 'bench']);
  const token = (JSON.parse(tokenOut) as { token: string }).token;

  const reports: Array<{ t: number; r: Report }> = [];
  app = spawn(process.execPath, [main, 'run', '--config', path.join(dir, 'svde.json'), '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SVDE_TEST_HOOKS: '1', SVDE_TEST_STALL_MS: '100' },
  });
  let err = '';
  app.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  // A failed run says why: the appliance's own last words.
  process.on('exit', (code) => {
    if (a['app-log'] !== undefined) writeFileSync(a['app-log'], err);
    if (code !== 0) process.stderr.write(`--- svde run stderr (last 4 kB) ---\n${err.slice(-4096)}\n`);
  });
  app.on('exit', (code, signal) => {
    if (code !== 0 && code !== null) err += `\n[svde run exited with ${code}]`;
    else if (signal !== null) err += `\n[svde run ended by ${signal}]`;
  });
  let buf = '';
  app.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let k;
    while ((k = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, k);
      buf = buf.slice(k + 1);
      try {
        reports.push({ t: Date.now(), r: JSON.parse(line) as Report });
      } catch {
        /* not a report */
      }
    }
  });
  let url: string | undefined;
  for (let i = 0; i < 600 && url === undefined; i++) {
    url = /API and panel on (https?:\/\/[^\s/]+)\//.exec(err)?.[1];
    await new Promise((r) => setTimeout(r, 100));
  }
  if (url === undefined) throw new Error(`svde run did not start:\n${err}`);

  const sim = run(
    [
      '--iface',
      bed.nsIf,
      '--netns',
      bed.ns,
      '--mus',
      String(mus),
      '--rate',
      String(rate),
      '--duration',
      `${3 * phaseS + 5}s`,
      '--no-scl',
      '--truth',
      path.join(dir, 'live.truth.json'),
    ],
    simMain,
  );
  const headers = { authorization: `Bearer ${token}` };
  const child = app;
  const verdicts = async (): Promise<unknown> => {
    const r = await fetch(`${url}/api/v1/status`, { headers });
    const st = (await r.json()) as {
      realtime?: { verdictLatencyUs: { p50: number; p99: number; p999: number; max: number; count: number } } | null;
    };
    return st.realtime?.verdictLatencyUs ?? null;
  };
  await new Promise((r) => setTimeout(r, 2000));
  child.kill('SIGUSR1');
  const idleFrom = Date.now();
  await new Promise((r) => setTimeout(r, phaseS * 1000));
  const idleVerdicts = await verdicts();
  child.kill('SIGUSR1');
  const loadFrom = Date.now();
  const half = Math.max(1, Math.floor(connections / 2));
  const [status, alarms] = await Promise.all([
    autocannon({ url: `${url}/api/v1/status`, connections: half, duration: phaseS, headers }),
    autocannon({ url: `${url}/api/v1/alarms?limit=50`, connections: connections - half, duration: phaseS, headers }),
  ]);
  const loadTo = Date.now();
  const loadedVerdicts = await verdicts();
  child.kill('SIGUSR1');
  const stall = setInterval(() => child.kill('SIGUSR2'), 1000);
  await new Promise((r) => setTimeout(r, phaseS * 1000));
  clearInterval(stall);
  const stallTo = Date.now();
  const stalledVerdicts = await verdicts();
  await sim;
  const phase = (from: number, to: number): Report[] => reports.filter((x) => x.t > from && x.t <= to).map((x) => x.r);
  const api = (r: Awaited<ReturnType<typeof autocannon>>): Record<string, number> => ({
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requestsPerS: r.requests.average,
    non2xx: r.non2xx,
    errors: r.errors,
  });
  process.stdout.write(
    `${JSON.stringify(
      {
        mus,
        rate,
        framesPerSecond: mus * rate,
        connections,
        apiIdle: { verdictLatencyUs: idleVerdicts, ...summarise(phase(idleFrom, loadFrom)) },
        apiLoaded: { verdictLatencyUs: loadedVerdicts, ...summarise(phase(loadFrom, loadTo)) },
        mainStalled100msPerS: { verdictLatencyUs: stalledVerdicts, ...summarise(phase(loadTo, stallTo)) },
        api: { status: api(status), alarms: api(alarms) },
      },
      null,
      1,
    )}\n`,
  );
} finally {
  app?.kill('SIGTERM');
  if (app !== undefined && app.exitCode === null) await new Promise((r) => app!.once('exit', r));
  bed.cleanup();
  rmSync(dir, { recursive: true, force: true });
}
