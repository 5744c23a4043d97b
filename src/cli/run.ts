// svde run — the appliance. With --config it runs as configured (capture interface, SCL, storage, API with
// TLS and tokens, chip, LED). Without --config and --iface it runs the embedded demo of SPEC §4: a simulated
// bay with scripted attacks, SQLite under a local state directory, the API and the panel on
// http://127.0.0.1:8080 (read-only requests without a token from this machine; an operator token is printed).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { commandArgs } from './args.ts';
import { StreamMonitor } from '../capture/stream-monitor.ts';
import { ConfigError, loadConfigFile } from '../config/load.ts';
import { expectedStreams } from '../config/expected.ts';
import { loadBoardProfile } from '../config/board.ts';
import type { ExpectedStream } from '../model/streams.ts';
import { epochString } from '../sv/asdu-record.ts';
import { demoBayStreams, sclStreams } from '../../tools/demo/bay.ts';
import { startAppliance, type ApplianceOptions } from '../app/appliance.ts';
import { TokenStore } from '../api/tokens.ts';

const HELP = `usage: svde run [--config FILE] [options]

The appliance: capture, decoding, detection, signature verification, evidence store, REST API, local panel
and LED. Stop with SIGINT/SIGTERM (graceful: open alarms are closed and committed).

Without --config and --iface: the embedded demo. A simulated bay (8 merging units, 9-2LE, 50 Hz, scripted
attack scenarios one after another) publishes on a veth pair in a network namespace that svde creates and
removes; the API and the panel listen on http://127.0.0.1:8080; state under ~/.local/state/svde-demo.
  --config FILE     the appliance's configuration (docs/configuration.md)
  --iface IFACE     capture on this interface (overrides the configuration; without --config: no API tokens
                    exist yet, so create some with svde tokens add)
  --scl FILE        with --iface and no --config: the expected streams
  --http HOST:PORT  where the API and panel listen (demo default 127.0.0.1:8080; 0 = any free port)
  --state-dir DIR   database, tokens and keys (demo default ~/.local/state/svde-demo)
  --mus N           merging units in the demo (default 8)
  --scenario-seconds N  seconds per demo scenario (default 10)
  --in-process      demo: replay the bay inside this process instead of over a veth pair (what the demo does
                    by itself where network namespaces are not allowed); live capture is then not exercised
  --json            one JSON report per second on stdout instead of text
  --duration T      stop after T (e.g. 30s, 2m); default: run until SIGINT/SIGTERM
`;

function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s);
  if (m === null) throw new Error(`--duration: expected e.g. 30s, 500ms or 2m, got '${s}'`);
  const v = Number(m[1]);
  return m[2] === 'ms' ? v : m[2] === 'm' ? v * 60_000 : v * 1000;
}

function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) throw new Error(`--http: expected HOST:PORT such as 127.0.0.1:8080, got '${s}'`);
  return { host: m[1] ?? m[2]!, port };
}

class UsageError extends Error {}

export async function runCommand(argv: string[]): Promise<number> {
  const parsed = commandArgs('run', HELP, argv, {
    config: { type: 'string' },
    iface: { type: 'string' },
    scl: { type: 'string' },
    http: { type: 'string' },
    'state-dir': { type: 'string' },
    mus: { type: 'string', default: '8' },
    'scenario-seconds': { type: 'string', default: '10' },
    json: { type: 'boolean', default: false },
    duration: { type: 'string' },
    'in-process': { type: 'boolean', default: false },
  });
  if ('exit' in parsed) return parsed.exit;
  const values = parsed.values;
  const log = (line: string): void => void process.stderr.write(`svde: ${line}\n`);
  let opts: ApplianceOptions;
  let durationMs: number | undefined;
  let demoToken: string | undefined;
  try {
    const mus = Number(values.mus);
    if (!Number.isInteger(mus) || mus < 1 || mus > 64) throw new UsageError(`--mus must be an integer 1..64, got '${values.mus}'`);
    const scenarioSeconds = Number(values['scenario-seconds']);
    if (!Number.isFinite(scenarioSeconds) || scenarioSeconds < 2 || scenarioSeconds > 3600) throw new UsageError(`--scenario-seconds must be 2..3600, got '${values['scenario-seconds']}'`);
    try {
      durationMs = values.duration === undefined ? undefined : parseDuration(values.duration);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    let listen: { host: string; port: number } | undefined;
    try {
      listen = values.http === undefined ? undefined : parseListen(values.http);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (values.config !== undefined) opts = configuredOptions(values.config, values.iface, listen, values['state-dir'], log);
    else if (values.iface !== undefined) opts = bareLiveOptions(values.iface, values.scl, listen, values['state-dir'], log);
    else {
      opts = await demoOptions(mus, scenarioSeconds, values['in-process'], listen, values['state-dir'], log);
      // The demo prints an operator token for this run (older demo tokens are revoked first).
      const tokens = TokenStore.open(opts.http.tokensFile);
      for (const t of tokens.list()) if (t.name === 'demo-operator') tokens.revoke(t.id);
      demoToken = tokens.add('operator', 'demo-operator').token;
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`svde run: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`svde run: ${(err as Error).message}\n`);
    return 1;
  }

  const json = values.json === true;
  opts.onAlarm = (a, id) => {
    if (!json) process.stdout.write(`ALARM #${id} ${epochString(a.firstTsNs)} grade ${a.grade} ${a.indicator}/${a.reason} stream ${a.stream} (frame ${a.firstFrame})\n`);
  };
  let appliance: Awaited<ReturnType<typeof startAppliance>> | undefined;
  opts.onReport = (r, nu) => {
    const d = appliance?.detection.report();
    if (json) process.stdout.write(`${JSON.stringify(d === undefined ? r : { ...r, detection: d })}\n`);
    else {
      process.stdout.write(`${StreamMonitor.format(r)}\n`);
      if (d !== undefined) {
        const raised = Object.entries(d.indicators).filter(([, s]) => s.count > 0).map(([k, s]) => `${k} ${s.count}${s.latched ? '*' : ''}`);
        process.stdout.write(`  νn = ${nu}${raised.length > 0 ? ` | alarms: ${raised.join(', ')} (* latched)` : ''}\n`);
      }
    }
  };

  let stop: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    stop = resolve;
  });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    appliance = await startAppliance(opts);
  } catch (err) {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.stderr.write(`svde run: ${(err as Error).message}\n`);
    return 1;
  }
  log(`API and panel on ${appliance.url}/ (OpenAPI: ${appliance.url}/api/v1/openapi.json)`);
  if (opts.mode === 'demo') {
    log(`demo: read-only requests from this machine need no token; to acknowledge alarms, log in on the panel with the operator token ${demoToken}`);
    log(`demo: state (SQLite database, tokens, keys) in ${opts.stateDir}`);
  }
  if (durationMs !== undefined) setTimeout(stop, durationMs).unref();
  await finished;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  await appliance.close();
  return 0;
}

function demoStateDir(arg: string | undefined): string {
  if (arg !== undefined) return path.resolve(arg);
  const base = process.env['XDG_STATE_HOME'] !== undefined && process.env['XDG_STATE_HOME'] !== '' ? process.env['XDG_STATE_HOME'] : path.join(homedir(), '.local', 'state');
  return path.join(base, 'svde-demo');
}

function stateFiles(stateDir: string): Pick<ApplianceOptions, 'storage'> & { tokensFile: string; keysDir: string; deviceKeyFile: string } {
  return {
    storage: { path: path.join(stateDir, 'svde.db'), limitBytes: 512 * 1024 * 1024, alarmRetentionDays: 365, eventRetentionDays: 30 },
    tokensFile: path.join(stateDir, 'tokens.json'),
    keysDir: path.join(stateDir, 'keys'),
    deviceKeyFile: path.join(stateDir, 'device-key.pem'),
  };
}

async function demoOptions(mus: number, scenarioSeconds: number, inProcess: boolean, listen: { host: string; port: number } | undefined, stateArg: string | undefined, log: (l: string) => void): Promise<ApplianceOptions> {
  const stateDir = demoStateDir(stateArg);
  const f = stateFiles(stateDir);
  const bay = await demoBayStreams(mus, f.keysDir);
  return {
    mode: 'demo',
    streams: bay.streams,
    signed: bay.signed,
    demo: { mus, scenarioSeconds, keysDir: path.join(stateDir, 'sim-keys'), inProcess },
    // The simulated MUs are one process on a shared machine, not hardware, restarted for every scenario: its
    // start-up stalls hold all streams back together for tens of milliseconds. The arrival-timing checks
    // (made for hardware publishers, µs jitter) would report every restart, so the demo leaves them out,
    // and the burst window of the rate check allows such a hold-and-release.
    logic: { timing: false },
    rate: { burstSlackMs: 60 },
    stateDir,
    storage: { ...f.storage, limitBytes: 256 * 1024 * 1024, alarmRetentionDays: 7, eventRetentionDays: 1 },
    http: { ...(listen ?? { host: '127.0.0.1', port: 8080 }), tokensFile: f.tokensFile, trustLoopbackAs: 'viewer' },
    signatures: { keysDir: f.keysDir, emulateChip: true, fallback: 'software', deviceKeyFile: f.deviceKeyFile },
    log,
  };
}

function bareLiveOptions(iface: string, scl: string | undefined, listen: { host: string; port: number } | undefined, stateArg: string | undefined, log: (l: string) => void): ApplianceOptions {
  const stateDir = stateArg !== undefined ? path.resolve(stateArg) : '/var/lib/svde';
  const f = stateFiles(stateDir);
  if (scl === undefined) log('no --scl: every stream is unknown to detection (statistics and unknown-source alarms only)');
  return {
    mode: 'live',
    iface,
    streams: scl === undefined ? [] : sclStreams(scl),
    stateDir,
    storage: f.storage,
    // Plain HTTP without a configuration: loopback only, and every request needs a token.
    http: { ...(listen ?? { host: '127.0.0.1', port: 8443 }), tokensFile: f.tokensFile },
    signatures: { keysDir: f.keysDir, fallback: 'software', deviceKeyFile: f.deviceKeyFile },
    log,
  };
}

function configuredOptions(file: string, ifaceArg: string | undefined, listen: { host: string; port: number } | undefined, stateArg: string | undefined, log: (l: string) => void): ApplianceOptions {
  const loaded = loadConfigFile(file);
  const a = loaded.config.appliance;
  const rel = (p: string): string => path.resolve(path.dirname(file), p);
  const board = a.board !== undefined ? loadBoardProfile(rel(a.board)) : undefined;
  const iface = ifaceArg ?? a.iface ?? board?.capture.iface;
  if (iface === undefined) throw new ConfigError(file, [{ path: '/appliance/iface', message: 'no capture interface: set appliance.iface or a board profile' }]);
  const stateDir = stateArg !== undefined ? path.resolve(stateArg) : rel(a.stateDir);
  const f = stateFiles(stateDir);
  const streams: ExpectedStream[] = loaded.scl === null ? [] : expectedStreams(loaded).streams;
  const tls = a.http.tls === undefined ? undefined : {
    certPem: readFileSync(rel(a.http.tls.cert), 'utf8'),
    keyPem: readFileSync(rel(a.http.tls.key), 'utf8'),
    ...(a.http.tls.clientCa !== undefined ? { clientCaPem: readFileSync(rel(a.http.tls.clientCa), 'utf8') } : {}),
  };
  const host = listen?.host ?? (tls === undefined ? '127.0.0.1' : a.http.host);
  if (tls === undefined && host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') {
    throw new ConfigError(file, [{ path: '/appliance/http/tls', message: `the API would listen on ${host} without TLS: configure appliance.http.tls (device certificate) or listen on 127.0.0.1` }]);
  }
  const chipPath = a.signatures.chipDevice ?? board?.chip.device ?? undefined;
  const chipBaud = a.signatures.chipBaud ?? board?.chip.baud ?? 921600;
  const opts: ApplianceOptions = {
    mode: 'live',
    configFile: path.resolve(file),
    iface,
    streams,
    signed: loaded.streams.filter((b) => b.signed !== null && b.signed !== undefined).map((b) => ({ stream: b.scl.key, keyId: b.signed!.keyId })),
    stateDir,
    storage: {
      path: a.storage.path !== undefined ? rel(a.storage.path) : f.storage.path,
      limitBytes: a.storage.limitMB * 1024 * 1024,
      alarmRetentionDays: a.storage.alarmRetentionDays,
      eventRetentionDays: a.storage.eventRetentionDays,
    },
    http: {
      host,
      port: listen?.port ?? a.http.port,
      tokensFile: a.http.tokens !== undefined ? rel(a.http.tokens) : f.tokensFile,
      rateLimit: { max: a.http.rateLimit.max, windowMs: a.http.rateLimit.windowS * 1000 },
      ...(tls !== undefined ? { tls } : {}),
    },
    signatures: {
      keysDir: a.signatures.keys !== undefined ? rel(a.signatures.keys) : f.keysDir,
      fallback: a.signatures.fallback,
      deviceKeyFile: a.signatures.deviceKey !== undefined ? rel(a.signatures.deviceKey) : f.deviceKeyFile,
      ...(chipPath !== undefined && chipPath !== null ? { chip: { path: chipPath, baudRate: chipBaud } } : {}),
    },
    log,
  };
  if (board !== undefined) opts.board = board;
  if (a.syslog !== undefined) opts.syslog = a.syslog;
  return opts;
}
