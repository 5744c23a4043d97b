// svde run — the appliance. With --config it runs as configured (capture interface, SCL, storage, API with
// TLS and tokens, chip, LED). Without --config and --iface it hands over to the embedded demo of SPEC §4
// (tools/demo/main.ts: a simulated bay with scripted attacks), which lives with the simulator in tools/ and
// runs the appliance through runAppliance below.
import { parseDuration } from '../model/duration.ts';
import { SvdeError } from '../model/errors.ts';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { commandArgs } from './args.ts';
import { StreamMonitor } from '../capture/stream-monitor.ts';
import { bindConfig, ConfigError, loadConfigFile, parseConfig } from '../config/load.ts';
import { expectedStreams } from '../config/expected.ts';
import { importSclFile } from '../scl/import.ts';
import { loadBoardProfile } from '../config/board.ts';
import type { ExpectedStream } from '../model/streams.ts';
import { epochString } from '../sv/asdu-record.ts';
import { startAppliance, type Appliance, type ApplianceOptions } from '../app/appliance.ts';

const HELP = `usage: svde run [--config FILE] [options]

The appliance: capture, decoding, detection, signature verification, evidence store, REST API, local panel
and LED. Stop with SIGINT/SIGTERM (graceful: open alarms are closed and committed).

Without --config and --iface: the embedded demo (development checkouts: tools/demo/main.ts). A simulated
bay (8 merging units, 9-2LE, 50 Hz, scripted attack scenarios one after another) publishes on a veth pair in
a network namespace that svde creates and removes; the API and the panel listen on http://127.0.0.1:8080;
state under ~/.local/state/svde-demo.
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

function parseDurationMs(s: string): number {
  const v = parseDuration(s);
  if (v === undefined) throw new Error(`--duration: expected e.g. 30s, 500ms or 2m, got '${s}'`);
  return v * 1000;
}

function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) throw new Error(`--http: expected HOST:PORT such as 127.0.0.1:8080, got '${s}'`);
  return { host: m[1] ?? m[2]!, port };
}

class UsageError extends SvdeError {
  readonly code = 'USAGE';
}

/** The options of `svde run`, checked (the demo entry takes the same ones). */
export interface RunValues {
  config?: string;
  iface?: string;
  scl?: string;
  listen?: { host: string; port: number };
  stateDir?: string;
  mus: number;
  scenarioSeconds: number;
  inProcess: boolean;
  json: boolean;
  durationMs?: number;
}

/** Parses and checks the options; { exit } when it printed the usage or an error (as `svde COMMAND`). */
export function parseRunArgs(command: string, help: string, argv: string[]): RunValues | { exit: number } {
  const parsed = commandArgs(command, help, argv, {
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
  if ('exit' in parsed) return parsed;
  const values = parsed.values;
  try {
    const mus = Number(values.mus);
    if (!Number.isInteger(mus) || mus < 1 || mus > 64) throw new UsageError(`--mus must be an integer 1..64, got '${values.mus}'`);
    const scenarioSeconds = Number(values['scenario-seconds']);
    if (!Number.isFinite(scenarioSeconds) || scenarioSeconds < 2 || scenarioSeconds > 3600)
      throw new UsageError(`--scenario-seconds must be 2..3600, got '${values['scenario-seconds']}'`);
    let durationMs: number | undefined;
    try {
      durationMs = values.duration === undefined ? undefined : parseDurationMs(values.duration);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    let listen: { host: string; port: number } | undefined;
    try {
      listen = values.http === undefined ? undefined : parseListen(values.http);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const r: RunValues = { mus, scenarioSeconds, inProcess: values['in-process'], json: values.json === true };
    if (values.config !== undefined) r.config = values.config;
    if (values.iface !== undefined) r.iface = values.iface;
    if (values.scl !== undefined) r.scl = values.scl;
    if (listen !== undefined) r.listen = listen;
    if (values['state-dir'] !== undefined) r.stateDir = values['state-dir'];
    if (durationMs !== undefined) r.durationMs = durationMs;
    return r;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`svde ${command}: ${err.message}\n`);
    return { exit: 2 };
  }
}

export const log = (line: string): void => void process.stderr.write(`svde: ${line}\n`);

export async function runCommand(argv: string[]): Promise<number> {
  const v = parseRunArgs('run', HELP, argv);
  if ('exit' in v) return v.exit;
  if (v.config === undefined && v.iface === undefined) return runEmbeddedDemo(v);
  let opts: ApplianceOptions;
  try {
    opts =
      v.config !== undefined
        ? configuredOptions(v.config, v.iface, v.listen, v.stateDir, log)
        : bareLiveOptions(v.iface!, v.scl, v.listen, v.stateDir, log);
  } catch (err) {
    process.stderr.write(`svde run: ${(err as Error).message}\n`);
    return err instanceof ConfigError ? 2 : 1;
  }
  return runAppliance(opts, v);
}

// DEV-ONLY: the one import of tools/ from src/. The embedded demo (simulator, test bed, chip emulator) is a
// development checkout's, absent from an installed package; `node tools/demo/main.ts` starts it directly.
const DEMO_ENTRY = fileURLToPath(new URL('../../tools/demo/main.ts', import.meta.url));
async function runEmbeddedDemo(v: RunValues): Promise<number> {
  if (!existsSync(DEMO_ENTRY)) {
    process.stderr.write(
      `svde run: the embedded demo is not part of this installation (${DEMO_ENTRY} is missing: it comes with the development tools); run the appliance with --config FILE or --iface IFACE\n`,
    );
    return 2;
  }
  const demo = await import('../../tools/demo/main.ts'); // dev-only demo delegation
  return demo.runDemo(v);
}

/**
 * Runs the appliance until SIGINT/SIGTERM or --duration: prints alarms and the report of every second
 * (text or JSON), announces the API; `announce` adds lines once it listens (the demo's token).
 */
export async function runAppliance(
  opts: ApplianceOptions,
  v: Pick<RunValues, 'json' | 'durationMs'>,
  announce?: (a: Appliance) => void,
): Promise<number> {
  const json = v.json;
  const durationMs = v.durationMs;
  opts.onAlarm = (a, id) => {
    if (!json)
      process.stdout.write(
        `ALARM #${id} ${epochString(a.firstTsNs)} grade ${a.grade} ${a.indicator}/${a.reason} stream ${a.stream} (frame ${a.firstFrame})\n`,
      );
  };
  let appliance: Appliance | undefined;
  opts.onReport = (r, nu) => {
    const d = appliance?.report();
    if (json) process.stdout.write(`${JSON.stringify(d === undefined ? r : { ...r, detection: d })}\n`);
    else {
      process.stdout.write(`${StreamMonitor.format(r)}\n`);
      if (d !== undefined) {
        const raised = Object.entries(d.indicators)
          .filter(([, s]) => s.count > 0)
          .map(([k, s]) => `${k} ${s.count}${s.latched ? '*' : ''}`);
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
  announce?.(appliance);
  if (durationMs !== undefined) setTimeout(stop, durationMs).unref();
  await finished;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  await appliance.close();
  return 0;
}

export function stateFiles(
  stateDir: string,
): Pick<ApplianceOptions, 'storage'> & { tokensFile: string; keysDir: string; deviceKeyFile: string } {
  return {
    storage: { path: path.join(stateDir, 'svde.db'), limitBytes: 512 * 1024 * 1024, alarmRetentionDays: 365, eventRetentionDays: 30 },
    tokensFile: path.join(stateDir, 'tokens.json'),
    keysDir: path.join(stateDir, 'keys'),
    deviceKeyFile: path.join(stateDir, 'device-key.pem'),
  };
}

/** Expected streams from an SCL file alone (every source accepted, default settings). */
export function sclStreams(file: string): ExpectedStream[] {
  const cfg = parseConfig({}, '<defaults>');
  const scl = importSclFile(file);
  return expectedStreams({ file: '<defaults>', config: cfg, sclFile: file, scl, streams: bindConfig(cfg, scl) }).streams;
}

function bareLiveOptions(
  iface: string,
  scl: string | undefined,
  listen: { host: string; port: number } | undefined,
  stateArg: string | undefined,
  log: (l: string) => void,
): ApplianceOptions {
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

function configuredOptions(
  file: string,
  ifaceArg: string | undefined,
  listen: { host: string; port: number } | undefined,
  stateArg: string | undefined,
  log: (l: string) => void,
): ApplianceOptions {
  const loaded = loadConfigFile(file);
  const a = loaded.config.appliance;
  const rel = (p: string): string => path.resolve(path.dirname(file), p);
  const board = a.board !== undefined ? loadBoardProfile(rel(a.board)) : undefined;
  const iface = ifaceArg ?? a.iface ?? board?.capture.iface;
  if (iface === undefined)
    throw new ConfigError(file, [{ path: '/appliance/iface', message: 'no capture interface: set appliance.iface or a board profile' }]);
  const stateDir = stateArg !== undefined ? path.resolve(stateArg) : rel(a.stateDir);
  const f = stateFiles(stateDir);
  const streams: ExpectedStream[] = loaded.scl === null ? [] : expectedStreams(loaded).streams;
  const tls =
    a.http.tls === undefined
      ? undefined
      : {
          certPem: readFileSync(rel(a.http.tls.cert), 'utf8'),
          keyPem: readFileSync(rel(a.http.tls.key), 'utf8'),
          ...(a.http.tls.clientCa !== undefined ? { clientCaPem: readFileSync(rel(a.http.tls.clientCa), 'utf8') } : {}),
        };
  const host = listen?.host ?? (tls === undefined ? '127.0.0.1' : a.http.host);
  if (tls === undefined && host !== '127.0.0.1' && host !== '::1' && host !== 'localhost') {
    throw new ConfigError(file, [
      {
        path: '/appliance/http/tls',
        message: `the API would listen on ${host} without TLS: configure appliance.http.tls (device certificate) or listen on 127.0.0.1`,
      },
    ]);
  }
  const chipPath = a.signatures.chipDevice ?? board?.chip.device ?? undefined;
  const chipBaud = a.signatures.chipBaud ?? board?.chip.baud ?? 921600;
  const opts: ApplianceOptions = {
    mode: 'live',
    configFile: path.resolve(file),
    iface,
    streams,
    signed: loaded.streams
      .filter((b) => b.signed !== null && b.signed !== undefined)
      .map((b) => ({ stream: b.scl.key, keyId: b.signed!.keyId })),
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
