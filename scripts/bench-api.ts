// API latency under load: 50 concurrent pollers (autocannon) for 10 s on GET /api/v1/status and then on
// GET /api/v1/alarms, against a server in a child process whose device reads a real SQLite evidence store
// holding ~10k alarms, authenticated with a bearer token as the control centre would be.
// Prints one JSON object: per endpoint p50/p99/mean latency (ms), requests/s, non-2xx and errors.
//
//   node scripts/bench-api.ts [--connections 50] [--seconds 10] [--alarms 10000]
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { StatusView } from '../src/model/device.ts';

const require = createRequire(import.meta.url);

interface AutocannonResult {
  latency: { p50: number; p99: number; average: number; max: number };
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

const { values } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: { connections: { type: 'string' }, seconds: { type: 'string' }, alarms: { type: 'string' }, serve: { type: 'boolean' } },
});
const connections = Number(values.connections ?? 50);
const seconds = Number(values.seconds ?? 10);
const alarmCount = Number(values.alarms ?? 10_000);

async function serve(): Promise<void> {
  const { EvidenceStore } = await import('../src/store/store.ts');
  const { buildApi } = await import('../src/api/server.ts');
  const { TokenStore } = await import('../src/api/tokens.ts');
  const { FakeDevice, FakeEvidence } = await import('../test/api/fixtures/device.ts');
  const { gradeOf, INDICATORS } = await import('../src/model/indicators.ts');
  const dir = mkdtempSync(path.join(tmpdir(), 'svde-bench-api-'));
  const store = new EvidenceStore({ path: path.join(dir, 'svde.db'), retentionEveryMs: 0, limitBytes: 1 << 30 });
  const t0 = BigInt(Date.now()) * 1_000_000n - BigInt(alarmCount) * 1_000_000_000n;
  for (let i = 0; i < alarmCount; i++) {
    const indicator = INDICATORS[i % INDICATORS.length]!;
    const ts = t0 + BigInt(i) * 1_000_000_000n;
    store.alarmRaised({
      id: i + 1,
      indicator,
      grade: gradeOf(indicator),
      stream: `MU0${(i % 8) + 1}`,
      reason: 'bench',
      firstFrame: i * 100,
      firstTsNs: ts,
      lastFrame: i * 100 + 9,
      lastTsNs: ts + 2_500_000n,
      frames: 10,
    });
  }
  store.flush();
  const tokens = TokenStore.inMemory();
  const { token } = tokens.add('master', 'control-centre');
  // Like the appliance's read model, status is refreshed once a second, not computed per request.
  class CachedDevice extends FakeDevice<InstanceType<typeof EvidenceStore>> {
    #cached: { at: number; view: StatusView } | undefined;
    override status(): StatusView {
      const now = Date.now();
      if (this.#cached === undefined || now - this.#cached.at > 1000) this.#cached = { at: now, view: super.status() };
      return this.#cached.view;
    }
  }
  const app = await buildApi({
    device: new CachedDevice(store),
    tokens,
    evidence: new FakeEvidence(),
    rateLimit: { max: 1_000_000_000, windowMs: 60_000 },
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.send?.({ url, token });
  process.on('message', async () => {
    await app.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}

async function main(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', ...process.argv.slice(2)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const { url, token } = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string; token: string }));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const headers = { authorization: `Bearer ${token}` };
  const out: Record<string, unknown> = { connections, seconds, alarmsInStore: alarmCount, node: process.version };
  for (const [name, p] of [
    ['status', '/api/v1/status'],
    ['alarms', '/api/v1/alarms?limit=50'],
    ['alarmsFiltered', '/api/v1/alarms?indicator=mac&minGrade=1&limit=50'],
  ] as const) {
    // A short warm-up so JIT and SQLite statement caches are hot before measuring.
    await autocannon({ url: `${url}${p}`, connections: 4, duration: 1, headers });
    const r = await autocannon({ url: `${url}${p}`, connections, duration: seconds, headers });
    out[name] = {
      path: p,
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      meanMs: r.latency.average,
      maxMs: r.latency.max,
      requestsPerSecond: r.requests.average,
      total: r.requests.total,
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
    };
  }
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
}

if (process.argv.includes('--serve')) await serve();
else await main();
