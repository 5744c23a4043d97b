#!/usr/bin/env node
// The embedded demo (SPEC §4) as its own entry: the appliance composed with the simulated bay (test bed and
// live publisher, or the in-process replay) and the chip emulator as its chip. `svde run` without --config
// and --iface hands over to runDemo here; `node tools/demo/main.ts [options]` starts it directly.
import { homedir } from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { TokenStore } from '../../src/api/tokens.ts';
import type { ApplianceOptions } from '../../src/app/appliance.ts';
import { log, parseRunArgs, runAppliance, stateFiles, type RunValues } from '../../src/cli/run.ts';
import { startPtyEmulator, type PtyEmulator } from '../chip/pty-emulator.ts';
import { demoBayStreams, demoSource } from './bay.ts';

const HELP = `usage: node tools/demo/main.ts [options]      (also: svde run without --config and --iface)

The embedded demo: a simulated bay (8 merging units, 9-2LE, 50 Hz, scripted attack scenarios one after
another) publishes on a veth pair in a network namespace that the demo creates and removes (in process where
namespaces are not allowed); the chip emulator verifies the signed second bay; the API and the panel listen
on http://127.0.0.1:8080; state under ~/.local/state/svde-demo.
  --http HOST:PORT  where the API and panel listen (default 127.0.0.1:8080; 0 = any free port)
  --state-dir DIR   database, tokens and keys (default ~/.local/state/svde-demo)
  --mus N           merging units (default 8)
  --scenario-seconds N  seconds per scenario (default 10)
  --in-process      replay the bay inside this process instead of over a veth pair; live capture is then
                    not exercised
  --json            one JSON report per second on stdout instead of text
  --duration T      stop after T (e.g. 30s, 2m); default: run until SIGINT/SIGTERM
`;

function demoStateDir(arg: string | undefined): string {
  if (arg !== undefined) return path.resolve(arg);
  const base =
    process.env['XDG_STATE_HOME'] !== undefined && process.env['XDG_STATE_HOME'] !== ''
      ? process.env['XDG_STATE_HOME']
      : path.join(homedir(), '.local', 'state');
  return path.join(base, 'svde-demo');
}

/** Runs the demo with checked `svde run` options (those of a configured appliance do not apply). */
export async function runDemo(v: RunValues): Promise<number> {
  const stateDir = demoStateDir(v.stateDir);
  const f = stateFiles(stateDir);
  let opts: ApplianceOptions;
  let token: string;
  let emu: PtyEmulator | undefined;
  try {
    const bay = await demoBayStreams(v.mus, f.keysDir);
    // The demo prints an operator token for this run (older demo tokens are revoked first).
    const tokens = TokenStore.open(f.tokensFile);
    for (const t of tokens.list()) if (t.name === 'demo-operator') tokens.revoke(t.id);
    token = tokens.add('operator', 'demo-operator').token;
    emu = await startPtyEmulator({ baud: 921600, exitOnSignal: false });
    log(`chip emulator (a separate process) on ${emu.hostPath} at ${emu.baud} baud, through the production serial driver`);
    opts = {
      mode: 'demo',
      streams: bay.streams,
      signed: bay.signed,
      source: demoSource({
        mus: v.mus,
        scenarioSeconds: v.scenarioSeconds,
        keysDir: path.join(stateDir, 'sim-keys'),
        inProcess: v.inProcess,
        log,
      }),
      // The simulated MUs are one process on a shared machine, not hardware, restarted for every scenario: its
      // start-up stalls hold all streams back together for tens of milliseconds. The arrival-timing checks
      // (made for hardware publishers, µs jitter) would report every restart, so the demo leaves them out,
      // and the burst window of the rate check allows such a hold-and-release.
      logic: { timing: false },
      rate: { burstSlackMs: 60 },
      stateDir,
      storage: { ...f.storage, limitBytes: 256 * 1024 * 1024, alarmRetentionDays: 7, eventRetentionDays: 1 },
      http: { ...(v.listen ?? { host: '127.0.0.1', port: 8080 }), tokensFile: f.tokensFile, trustLoopbackAs: 'viewer' },
      signatures: {
        keysDir: f.keysDir,
        chip: { path: emu.hostPath, baudRate: emu.baud },
        fallback: 'software',
        deviceKeyFile: f.deviceKeyFile,
      },
      log,
    };
  } catch (err) {
    await emu?.stop();
    process.stderr.write(`svde run: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    return await runAppliance(opts, v, () => {
      log(
        `demo: read-only requests from this machine need no token; to acknowledge alarms, log in on the panel with the operator token ${token}`,
      );
      log(`demo: state (SQLite database, tokens, keys) in ${stateDir}`);
    });
  } finally {
    await emu.stop();
  }
}

/** The entry's command line: the demo's options of `svde run`. */
export async function demoCommand(argv: string[]): Promise<number> {
  const v = parseRunArgs('demo', HELP, argv);
  if ('exit' in v) return v.exit;
  if (v.config !== undefined || v.iface !== undefined || v.scl !== undefined) {
    process.stderr.write('svde demo: --config, --iface and --scl run the appliance itself: use svde run\n');
    return 2;
  }
  return runDemo(v);
}

if (import.meta.main) {
  demoCommand(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`svde demo: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
