// An emulated sysfs GPIO tree for tests of code that uses onoff, so onoff's real code path runs (export,
// direction, active_low, value file descriptors, unexport) without GPIO hardware.
//
// It must run in a private mount namespace: the test starts a script with runInGpioNamespace(), which runs
// it under `unshare -m --propagation private`; the script calls startGpioSim(), which mounts a tmpfs over
// /sys/class (visible to that process tree only), creates gpio/export and gpio/unexport as FIFOs and starts
// a worker thread that acts as the kernel: a number written to export creates gpioN/{direction,value,
// active_low,edge}, one written to unexport removes it. Every change of those files is logged with an
// absolute timestamp so the test can check the order of what was driven (never exact timings).
import { execFile, execFileSync } from 'node:child_process';
import { constants, existsSync, mkdirSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, watch, writeFileSync } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export const SYSFS_CLASS = '/sys/class';
export const GPIO_ROOT = '/sys/class/gpio';

/** One observed change: `value` is the file's new content (trimmed); for export/unexport the number. */
export interface GpioChange {
  /** ms since the Unix epoch, fractional (performance.timeOrigin + performance.now(): comparable across threads). */
  t: number;
  pin: number;
  file: 'export' | 'unexport' | 'value' | 'direction' | 'active_low' | 'edge';
  value: string;
}

/** A timestamp on the same clock as GpioChange.t, for marking phases of a scenario. */
export const simNow = (): number => performance.timeOrigin + performance.now();

export interface GpioSim {
  /** Everything observed so far, in order. */
  changes(): Promise<GpioChange[]>;
  /** Stops the emulation and unmounts the tmpfs. */
  close(): Promise<void>;
}

/** Why the emulation cannot run here, or true. */
export function gpioNamespaceSupport(): true | string {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root (mount namespace, tmpfs mount)';
  try {
    execFileSync('unshare', ['-m', '--propagation', 'private', 'true'], { stdio: 'ignore' });
  } catch {
    return 'unshare -m is not allowed here';
  }
  return true;
}

export interface NamespaceRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript/JavaScript file with this Node in a private mount namespace of its own. */
export function runInGpioNamespace(script: string, args: string[] = [], opts: { timeoutMs?: number } = {}): Promise<NamespaceRun> {
  return new Promise((resolve) => {
    execFile(
      'unshare',
      ['-m', '--propagation', 'private', process.execPath, script, ...args],
      { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20, env: { ...process.env, [PARENT_NS]: readlinkSync('/proc/self/ns/mnt') } },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

const PARENT_NS = 'SVDE_GPIO_SIM_PARENT_MNT_NS';

/** True when this process runs in a mount namespace other than the one runInGpioNamespace() was called in. */
function inPrivateMountNamespace(): boolean {
  const parent = process.env[PARENT_NS];
  try {
    return parent !== undefined && readlinkSync('/proc/self/ns/mnt') !== parent;
  } catch {
    return false;
  }
}

/**
 * Mounts the emulated tree (call inside runInGpioNamespace). `gpio: false` mounts an empty /sys/class: a
 * machine without GPIO. Refuses to run outside a private mount namespace (it would hide the real /sys/class).
 */
export async function startGpioSim(opts: { gpio?: boolean; lateFiles?: number[] } = {}): Promise<GpioSim> {
  if (!inPrivateMountNamespace())
    throw new Error('startGpioSim: not in a private mount namespace; run the script with runInGpioNamespace()');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'svde-gpio-sim', SYSFS_CLASS]);
  const unmount = (): void => {
    try {
      execFileSync('umount', ['-l', SYSFS_CLASS], { stdio: 'ignore' });
    } catch {
      // The namespace ends with the process anyway.
    }
  };
  if (opts.gpio === false) {
    return { changes: async () => [], close: async () => unmount() };
  }
  mkdirSync(GPIO_ROOT);
  execFileSync('mkfifo', [path.join(GPIO_ROOT, 'export'), path.join(GPIO_ROOT, 'unexport')]);
  const worker = new Worker(new URL(import.meta.url), { workerData: { svdeGpioSim: GPIO_ROOT, lateFiles: opts.lateFiles ?? [] } });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', (m: { ready?: boolean }) => (m.ready ? resolve() : reject(new Error('gpio sim did not start'))));
    worker.once('error', reject);
  });
  const ask = (): Promise<GpioChange[]> =>
    new Promise((resolve) => {
      worker.once('message', (m: { changes: GpioChange[] }) => resolve(m.changes));
      worker.postMessage('changes');
    });
  return {
    changes: ask,
    close: async () => {
      await worker.terminate();
      unmount();
    },
  };
}

/** Splits what was read from unexport into exported pin numbers (writes may arrive concatenated: "1727"). */
function splitPins(s: string, exported: Set<number>): number[] | null {
  if (s === '') return [];
  for (let n = Math.min(s.length, 4); n >= 1; n--) {
    const pin = Number(s.slice(0, n));
    if (!exported.has(pin)) continue;
    const rest = splitPins(s.slice(n), new Set([...exported].filter((p) => p !== pin)));
    if (rest !== null) return [pin, ...rest];
  }
  return null;
}

/** The worker: the "kernel" side of the emulated tree. `lateFiles`: pins whose files appear late after their
 *  export (as when udev sets permissions late) — only once something is unexported, i.e. after the writer
 *  has given up on them, which makes the late case deterministic whatever the machine's speed. */
function runKernel(root: string, lateFiles: Set<number>): void {
  const waiting: number[] = [];
  const changes: GpioChange[] = [];
  const exported = new Map<number, { watcher: FSWatcher; check: (file: string) => void }>();
  const files = ['direction', 'value', 'active_low', 'edge'] as const;
  const log = (pin: number, file: GpioChange['file'], value: string): void => {
    changes.push({ t: simNow(), pin, file, value });
  };

  const doExport = (pin: number): void => {
    log(pin, 'export', String(pin));
    if (exported.has(pin)) return;
    if (lateFiles.delete(pin)) {
      waiting.push(pin);
      return;
    }
    createFiles(pin);
  };

  const createFiles = (pin: number): void => {
    // Built under a hidden name and renamed into place, so the watch is on before onoff can see the files.
    const dir = path.join(root, `.gpio${pin}`);
    mkdirSync(dir);
    const initial: Record<(typeof files)[number], string> = { direction: 'in', value: '0', active_low: '0', edge: 'none' };
    const seen = new Map<string, string>();
    for (const f of files) {
      writeFileSync(path.join(dir, f), `${initial[f]}\n`);
      seen.set(f, initial[f]);
    }
    const check = (name: string): void => {
      let v: string;
      try {
        v = readFileSync(path.join(root, `gpio${pin}`, name), 'latin1').trim();
      } catch {
        return;
      }
      // A read between the writer's truncate and its write sees an empty file; the write's own event follows.
      if (v === '' || seen.get(name) === v) return;
      seen.set(name, v);
      log(pin, name as GpioChange['file'], v);
      // The kernel sets the value when the direction says so ("out" drives the inactive level).
      if (name === 'direction' && (v === 'out' || v === 'low' || v === 'high')) {
        const value = v === 'high' ? '1' : '0';
        if (seen.get('value') !== value) {
          seen.set('value', value);
          writeFileSync(path.join(root, `gpio${pin}`, 'value'), `${value}\n`);
          log(pin, 'value', value);
        }
      }
    };
    const watcher = watch(dir, (_event, name) => {
      if (name !== null && (files as readonly string[]).includes(name)) check(name);
    });
    renameSync(dir, path.join(root, `gpio${pin}`));
    exported.set(pin, { watcher, check });
  };

  const doUnexport = (pin: number): void => {
    const e = exported.get(pin);
    // Writes made just before the unexport whose watch events are still queued: read them now, in order.
    if (e !== undefined) for (const f of files) e.check(f);
    log(pin, 'unexport', String(pin));
    for (const p of waiting.splice(0)) createFiles(p);
    if (e === undefined) return;
    e.watcher.close();
    exported.delete(pin);
    rmSync(path.join(root, `gpio${pin}`), { recursive: true, force: true });
  };

  // The FIFOs are opened read-write and non-blocking: opens by the writer never block and a writer closing
  // them is not an end of file.
  const listen = (name: 'export' | 'unexport', onData: (s: string) => void): net.Socket => {
    const fd = openSync(path.join(root, name), constants.O_RDWR | constants.O_NONBLOCK);
    const sock = new net.Socket({ fd, readable: true, writable: false });
    sock.setEncoding('latin1');
    sock.on('data', (s: string) => onData(s.replace(/\s+/g, '')));
    // A broken FIFO ends the emulation's input; the socket owns (and closes) the descriptor.
    sock.on('error', () => sock.destroy());
    return sock;
  };
  listen('export', (s) => {
    // onoff waits for each export's files before the next one, so one read holds one number.
    const pin = Number(s);
    if (s !== '' && Number.isInteger(pin)) doExport(pin);
  });
  listen('unexport', (s) => {
    const pins = splitPins(s, new Set(exported.keys()));
    if (pins === null) log(-1, 'unexport', s);
    else for (const p of pins) doUnexport(p);
  });
  parentPort!.on('message', (m: unknown) => {
    if (m === 'changes') parentPort!.postMessage({ changes });
  });
  parentPort!.postMessage({ ready: true });
}

if (
  !isMainThread &&
  typeof (workerData as { svdeGpioSim?: unknown } | null)?.svdeGpioSim === 'string' &&
  existsSync((workerData as { svdeGpioSim: string }).svdeGpioSim)
) {
  const wd = workerData as { svdeGpioSim: string; lateFiles: number[] };
  runKernel(wd.svdeGpioSim, new Set(wd.lateFiles));
}
