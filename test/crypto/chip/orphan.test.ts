// A host program killed with SIGKILL cannot stop its chip emulator: the emulator notices it was re-parented
// and leaves, taking its socat pty pair with it (no orphans piling up after crashes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const fixture = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/emulator-owner.ts');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('the emulator and socat go when their owner is killed with SIGKILL', async () => {
  const owner = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pids = await new Promise<{ emulator: number; socat: number }>((resolve, reject) => {
    let out = '';
    owner.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line) as { emulator: number; socat: number });
    });
    owner.once('exit', (c) => reject(new Error(`owner exited early (${c})`)));
  });
  assert.ok(alive(pids.emulator) && alive(pids.socat));
  owner.kill('SIGKILL');
  let gone = false;
  for (let i = 0; i < 100 && !gone; i++) {
    await new Promise((r) => setTimeout(r, 100));
    gone = !alive(pids.emulator) && !alive(pids.socat);
  }
  if (!gone) {
    for (const p of [pids.emulator, pids.socat]) if (alive(p)) process.kill(p, 'SIGKILL');
  }
  assert.ok(gone, 'emulator and socat exited after their owner died');
});
