// Starts the real appliance (`svde run …` as a child process) and finds what it announces on stderr: the
// URL of the API and panel, and the demo's operator token.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './repo.ts';

export interface RunningAppliance {
  proc: ChildProcess;
  url: string;
  /** The demo's operator token (demo only). */
  token: string | undefined;
  stdout: () => string;
  stderr: () => string;
  /** Sends the signal and waits for the exit code (or the signal name). */
  stop: (signal?: NodeJS.Signals) => Promise<number | string>;
}

export async function startRun(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunningAppliance> {
  const proc = spawn(process.execPath, [path.join(repoRoot, 'src/cli/main.ts'), 'run', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (out.length > 4_000_000) out = out.slice(-2_000_000); // bounded: the demo prints a report every second
  });
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, sig) => resolve(code ?? sig ?? 'unknown')));
  const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
  let url: string | undefined;
  while (url === undefined) {
    const m = /API and panel on (https?:\/\/[^\s/]+)\//.exec(err);
    if (m !== null) url = m[1];
    else if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`svde run exited early (${proc.exitCode ?? proc.signalCode}):\n${err}`);
    else if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`svde run did not announce its API in time:\n${err}`);
    } else await new Promise((r) => setTimeout(r, 50));
  }
  const token = /operator token (\S+)/.exec(err)?.[1];
  return {
    proc,
    url,
    token,
    stdout: () => out,
    stderr: () => err,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Polls `f` until it returns a value other than undefined. */
export async function eventually<T>(f: () => Promise<T | undefined>, what: string, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${lastErr !== undefined ? `: ${(lastErr as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
