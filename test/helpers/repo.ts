// Paths and process helpers shared by tests.
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The public captures beside the repository (used in place, never copied). */
export const capturesDir = process.env['SVDE_CAPTURES'] ?? path.resolve(repoRoot, '../shared/captures');
export const sclDir = process.env['SVDE_SCL'] ?? path.resolve(repoRoot, '../shared/scl');

export function listCaptures(dir = capturesDir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listCaptures(p));
    else if (/\.(pcap|pcapng)$/.test(name)) out.push(p);
  }
  return out;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `svde` command line (src/cli/main.ts) with the current Node. */
export function svde(args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return runScript('src/cli/main.ts', args, opts);
}

/** Runs the simulator's command line (tools/svde-sim.ts) with the current Node. */
export function svdeSim(args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return runScript('tools/svde-sim.ts', args, opts);
}

function runScript(script: string, args: string[], opts: { timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot, script), ...args],
      { maxBuffer: 1 << 30, timeout: opts.timeoutMs ?? 300_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
