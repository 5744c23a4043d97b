// The sd_notify(3) datagrams reach a real AF_UNIX datagram socket (socat stands in for systemd's end).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SystemdNotifier } from '../../src/app/systemd.ts';

async function receiver(dir: string): Promise<{ sock: string; out: string; stop: () => Promise<void> }> {
  const sock = path.join(dir, 'notify.sock');
  const out = path.join(dir, 'received');
  // One datagram per line in `out` (systemd's messages contain newlines: socat writes them as they come).
  const child = spawn('socat', ['-u', `UNIX-RECV:${sock}`, `OPEN:${out},creat,append`], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(existsSync(sock), 'socat did not create the notify socket');
  return {
    sock,
    out,
    stop: async () => {
      child.kill();
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function waitFor(file: string, text: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const s = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (s.includes(text)) return s;
    await new Promise((r) => setTimeout(r, 20));
  }
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

test('READY, STATUS and STOPPING reach the notify socket', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'svde-sd-'));
  const r = await receiver(dir);
  try {
    const n = new SystemdNotifier({ NOTIFY_SOCKET: r.sock });
    assert.equal(n.enabled, true);
    n.ready('capturing on eth1');
    assert.equal(n.lastError, '');
    n.status('2 alarms');
    n.stopping();
    const got = await waitFor(r.out, 'STOPPING=1');
    assert.match(got, /READY=1\nSTATUS=capturing on eth1\nMAINPID=\d+/);
    assert.match(got, /STATUS=2 alarms/);
    assert.ok(got.indexOf('READY=1') < got.indexOf('STOPPING=1'));
  } finally {
    await r.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the watchdog pings while healthy and stops when not', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'svde-sd-'));
  const r = await receiver(dir);
  try {
    const n = new SystemdNotifier({ NOTIFY_SOCKET: r.sock, WATCHDOG_USEC: '100000', WATCHDOG_PID: String(process.pid) });
    assert.equal(n.watchdogMs, 100);
    let healthy = true;
    n.startWatchdog(() => healthy);
    await waitFor(r.out, 'WATCHDOG=1');
    healthy = false;
    await new Promise((r2) => setTimeout(r2, 150)); // a ping already in flight may still land
    const before = readFileSync(r.out, 'utf8').split('WATCHDOG=1').length;
    await new Promise((r2) => setTimeout(r2, 300));
    const after = readFileSync(r.out, 'utf8').split('WATCHDOG=1').length;
    n.stopWatchdog();
    assert.ok(before >= 2, 'at least one ping while healthy');
    assert.equal(after, before, 'no ping while unhealthy');
  } finally {
    await r.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('outside systemd nothing is sent; a watchdog meant for another pid stays off; a bad socket is reported, not thrown', () => {
  assert.equal(new SystemdNotifier({}).enabled, false);
  new SystemdNotifier({}).ready('x'); // no socket: a no-op
  assert.equal(new SystemdNotifier({ NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '1000000', WATCHDOG_PID: '1' }).watchdogMs, undefined);
  const n = new SystemdNotifier({ NOTIFY_SOCKET: '/nonexistent/dir/notify.sock' });
  n.ready('x');
  assert.match(n.lastError, /No such file/);
  const rel = new SystemdNotifier({ NOTIFY_SOCKET: 'relative.sock' });
  rel.status('x');
  assert.match(rel.lastError, /absolute path or an abstract name/);
});
