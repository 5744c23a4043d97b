// Board profiles: the shipped ones load; a bad one is refused with the JSON-pointer path of the bad field.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../helpers/repo.ts';
import { BoardError, loadBoardFile, parseBoard } from '../../src/config/board.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'svde-board-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const good = {
  name: 'test-board',
  capture: { iface: 'eth1' },
  chip: { device: '/dev/ttyS1', baud: 115200 },
  gpio: { ledGreen: 17, ledRed: 27, alarmRelay: 22, activeLow: true },
};

function rejects(value: unknown, expected: Array<{ path: string; message: RegExp }>): void {
  let err: unknown;
  try {
    parseBoard(value, 'b.json');
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof BoardError, `expected BoardError, got ${String(err)}`);
  assert.equal(err.issues.length, expected.length, err.message);
  expected.forEach((x, i) => {
    assert.equal(err.issues[i]!.path, x.path, err.message);
    assert.match(err.issues[i]!.message, x.message);
  });
  assert.ok(err.message.startsWith(`b.json: ${expected[0]!.path || '(document)'}: `), err.message);
}

test('the shipped profiles load', () => {
  const files = readdirSync(path.join(repoRoot, 'board')).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 2);
  for (const f of files) {
    const b = loadBoardFile(path.join(repoRoot, 'board', f));
    assert.equal(`${b.name}.json`, f);
  }
  const arm = loadBoardFile(path.join(repoRoot, 'board/arm64-bay-unit.json'));
  assert.deepEqual([arm.gpio.ledGreen, arm.gpio.ledRed, arm.gpio.alarmRelay], [17, 27, 22]);
  assert.equal(arm.chip.device, '/dev/ttyS1');
  assert.equal(arm.capture.iface, 'eth1');
  const x86 = loadBoardFile(path.join(repoRoot, 'board/generic-x86-demo.json'));
  assert.equal(x86.gpio.ledGreen, null);
});

test('defaults are applied', () => {
  const b = parseBoard(good);
  assert.equal(b.gpio.relayCloses, 'nu');
  assert.equal(b.gpio.heartbeatDuringAlarm, true);
  assert.equal(b.gpio.relayActiveLow, undefined);
  assert.equal(b.capture.snaplen, 1600);
  assert.equal(b.cpu.captureCore, null);
});

test('bad fields are reported with their path', () => {
  rejects({ ...good, gpio: { ...good.gpio, ledRed: -3 } }, [{ path: '/gpio/ledRed', message: /GPIO number .* \(got -3\)/ }]);
  rejects({ ...good, gpio: { ...good.gpio, ledGren: 5 } }, [{ path: '/gpio/ledGren', message: /unknown field/ }]);
  rejects({ ...good, gpio: { ...good.gpio, relayCloses: 'always' } }, [
    { path: '/gpio/relayCloses', message: /must be one of "nu", "unacknowledged", "nu-or-degraded"/ },
  ]);
  rejects({ ...good, chip: { device: 'ttyS1', baud: 115200 } }, [{ path: '/chip/device', message: /\/dev\// }]);
  rejects({ ...good, chip: { device: null, baud: 300 } }, [{ path: '/chip/baud', message: /1200/ }]);
  rejects({ ...good, capture: { iface: 'an interface name that is far too long' } }, [
    { path: '/capture/iface', message: /network interface name/ },
  ]);
  rejects({ ...good, gpio: { ...good.gpio, alarmRelay: 17 } }, [
    { path: '/gpio/alarmRelay', message: /GPIO 17 is already used by \/gpio\/ledGreen/ },
  ]);
  const { chip: _chip, ...noChip } = good;
  rejects(noChip, [{ path: '/chip', message: /required/ }]);
  rejects([1, 2], [{ path: '', message: /JSON object/ }]);
});

test('files: unreadable, not JSON, good', () => {
  assert.throws(
    () => loadBoardFile(path.join(dir, 'none.json')),
    (e: unknown) => e instanceof BoardError && /no such file/.test(e.message),
  );
  const bad = path.join(dir, 'bad.json');
  writeFileSync(bad, '{"name": ');
  assert.throws(
    () => loadBoardFile(bad),
    (e: unknown) => e instanceof BoardError && /not valid JSON/.test(e.message) && e.message.startsWith(bad),
  );
  const ok = path.join(dir, 'ok.json');
  writeFileSync(ok, JSON.stringify(good));
  assert.equal(loadBoardFile(ok).gpio.activeLow, true);
});
