// Starts the chip emulator as a separate process behind a socat pseudo-terminal pair and returns the host end.
// Used by the tests, the benchmark and scripts/chip-emulator.sh's TypeScript twin. Every process it starts is
// stopped by stop(), and also on process exit if the caller never got that far.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PtyEmulatorOptions {
  baud?: number;
  /** Extra emulator CLI arguments (faults, latency, seed). */
  args?: string[];
  testControl?: boolean;
  /** Key file; default a fresh one in the temporary directory. */
  keyFile?: string;
  /** Kill the emulator and exit on SIGTERM/SIGINT (default true; the first call decides). */
  exitOnSignal?: boolean;
}

export interface PtyEmulator {
  hostPath: string;
  chipPath: string;
  keyFile: string;
  baud: number;
  emulator: ChildProcess;
  socat: ChildProcess;
  stderr: () => string;
  /** Kills only the emulator process (SIGKILL): socat and the host end stay, as with a chip that died on its board. */
  kill: () => Promise<void>;
  /** Starts a new emulator process on the same pty and key file (a power cycle: new boot id, empty slots, BOOT sent). */
  restart: () => Promise<void>;
  stop: () => Promise<void>;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHook = false;

function killNow(p: ChildProcess): void {
  if (p.exitCode === null && p.signalCode === null) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function stopProcess(p: ChildProcess, graceMs = 1000): Promise<void> {
  return new Promise((res) => {
    if (p.exitCode !== null || p.signalCode !== null) {
      live.delete(p);
      res();
      return;
    }
    const t = setTimeout(() => killNow(p), graceMs);
    p.once('exit', () => {
      clearTimeout(t);
      live.delete(p);
      res();
    });
    try {
      p.kill('SIGTERM');
    } catch {
      clearTimeout(t);
      live.delete(p);
      res();
    }
  });
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function startPtyEmulator(opts: PtyEmulatorOptions = {}): Promise<PtyEmulator> {
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const p of live) killNow(p);
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
    // A test runner's timeout kill must not orphan socat and the emulator ('exit' does not run on signals).
    // A program with its own graceful shutdown (the appliance) stops the emulator itself and opts out.
    if (opts.exitOnSignal !== false) {
      for (const sig of ['SIGTERM', 'SIGINT'] as const) {
        process.once(sig, () => {
          for (const p of live) killNow(p);
          process.exit(sig === 'SIGINT' ? 130 : 143);
        });
      }
    }
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'svde-chip-'));
  dirs.add(dir);
  const hostPath = path.join(dir, 'host');
  const chipPath = path.join(dir, 'chip');
  const keyFile = opts.keyFile ?? path.join(dir, 'device-key.hex');
  const baud = opts.baud ?? 115200;
  let errText = '';
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${chipPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(socat);
  socat.stderr!.on('data', (d: Buffer) => {
    errText += d.toString();
  });
  let emulator: ChildProcess | null = null;
  const stop = async (): Promise<void> => {
    if (emulator) await stopProcess(emulator);
    await stopProcess(socat);
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
  const spawnEmulator = async (): Promise<ChildProcess> => {
    const args = [
      path.join(here, 'emulator-main.ts'),
      '--port',
      chipPath,
      '--key-file',
      keyFile,
      '--baud',
      String(baud),
      ...(socat.pid !== undefined ? ['--linked-pid', String(socat.pid)] : []),
      ...(opts.args ?? []),
    ];
    if (opts.testControl) args.push('--test-control');
    const emu = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    emulator = emu;
    live.add(emu);
    let out = '';
    emu.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    emu.stderr!.on('data', (d: Buffer) => {
      errText += d.toString();
    });
    await waitFor(() => out.includes('chip-emulator ready') || emu.exitCode !== null, 10000, 'emulator start');
    if (emu.exitCode !== null) throw new Error(`emulator exited ${emu.exitCode}: ${errText}`);
    return emu;
  };
  const kill = async (): Promise<void> => {
    const emu = emulator;
    if (emu === null || emu.exitCode !== null || emu.signalCode !== null) return;
    await new Promise<void>((res) => {
      emu.once('exit', () => res());
      killNow(emu);
    });
    live.delete(emu);
  };
  try {
    await waitFor(() => existsSync(hostPath) && existsSync(chipPath), 5000, 'socat pty pair');
    const emu = await spawnEmulator();
    const handle: PtyEmulator = {
      hostPath,
      chipPath,
      keyFile,
      baud,
      emulator: emu,
      socat,
      stderr: () => errText,
      stop,
      kill,
      restart: async () => {
        await kill();
        handle.emulator = await spawnEmulator();
      },
    };
    return handle;
  } catch (e) {
    await stop();
    throw e;
  }
}
