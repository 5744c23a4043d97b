// The LED driver through onoff's real sysfs code path, against the emulated GPIO tree in a private mount
// namespace (test/helpers/gpio-sim.ts). Asserts the order and alternation of the values driven, never timings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gpioNamespaceSupport, runInGpioNamespace } from '../helpers/gpio-sim.ts';
import type { GpioChange } from '../helpers/gpio-sim.ts';
import type { HealthView } from '../../src/model/device.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const SCENARIO = path.join(here, 'gpio-scenario.ts');
const support = gpioNamespaceSupport();
const skip = support === true ? false : support;
const GREEN = 17;
const RED = 27;
const RELAY = 22;

interface PatternRun {
  marks: Array<{ name: string; t: number }>;
  changes: GpioChange[];
  health: HealthView['led'][];
}

async function scenario<T>(name: string, ...args: string[]): Promise<T> {
  const r = await runInGpioNamespace(SCENARIO, [name, ...args]);
  assert.equal(r.code, 0, `scenario ${name} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Value changes of one pin between two marks, and the level each pin had when the phase began. */
function phase(run: PatternRun, name: string): { values: (pin: number) => string[]; end: (pin: number) => string; all: GpioChange[] } {
  const i = run.marks.findIndex((m) => m.name === name);
  assert.ok(i >= 0, `mark ${name}`);
  const from = run.marks[i]!.t;
  const to = run.marks[i + 1]?.t ?? Infinity;
  const all = run.changes.filter((c) => c.file === 'value' && c.t >= from && c.t < to);
  const before = (pin: number): string => run.changes.filter((c) => c.file === 'value' && c.pin === pin && c.t < from).at(-1)?.value ?? '0';
  return {
    all,
    values: (pin) => all.filter((c) => c.pin === pin).map((c) => c.value),
    end: (pin) => all.filter((c) => c.pin === pin).at(-1)?.value ?? before(pin),
  };
}

const alternates = (v: string[]): boolean => v.every((x, k) => k === 0 || x !== v[k - 1]);

for (const activeLow of [false, true]) {
  test(`patterns through onoff and sysfs (activeLow ${activeLow})`, { skip }, async () => {
    const run = await scenario<PatternRun>('patterns', String(activeLow));
    const { changes } = run;
    assert.deepEqual(run.health[0], { state: 'ok', pattern: 'off', detail: null });

    // Export, polarity, direction: what onoff writes for an output line.
    for (const pin of [GREEN, RED, RELAY]) {
      const mine = changes.filter((c) => c.pin === pin);
      assert.equal(mine[0]?.file, 'export', `gpio${pin} exported first`);
      assert.ok(
        mine.some((c) => c.file === 'direction' && c.value === 'out'),
        `gpio${pin} is an output`,
      );
      assert.equal(
        mine.some((c) => c.file === 'active_low' && c.value === '1'),
        activeLow,
        `gpio${pin} active_low`,
      );
      assert.equal(mine.at(-1)?.file, 'unexport', `gpio${pin} unexported last`);
    }

    // Green heartbeat: green pulses (several 0→1), red dark, relay open.
    const hb = phase(run, 'heartbeat');
    const g = hb.values(GREEN);
    assert.ok(g.filter((v) => v === '1').length >= 4, `green pulses: ${g.join('')}`);
    assert.ok(alternates(g) && g[0] === '1', `green alternates from on: ${g.join('')}`);
    assert.deepEqual(hb.values(RED), []);
    assert.deepEqual(hb.values(RELAY), []);

    // Red steady: red on at once and stays on; the relay closes; green dark (heartbeatDuringAlarm false).
    const steady = phase(run, 'red-steady');
    assert.equal(steady.all.find((c) => c.pin === RED)?.value, '1');
    assert.deepEqual(steady.values(RED), ['1']);
    assert.deepEqual(steady.values(RELAY), ['1']);
    assert.equal(steady.end(GREEN), '0');

    // Red blinking: acknowledged but active; νn is still 1 so the relay stays closed.
    const blink = phase(run, 'red-blink');
    const r = blink.values(RED);
    assert.ok(r.length >= 4 && alternates(r), `red blinks: ${r.join('')}`);
    assert.deepEqual(blink.values(RELAY), []);
    assert.deepEqual(blink.values(GREEN), []);

    // Degraded: the colours alternate in antiphase; νn = 0 opens the relay.
    const deg = phase(run, 'degraded');
    const dg = deg.values(GREEN);
    const dr = deg.values(RED);
    assert.ok(dg.length >= 4 && alternates(dg), `green alternates: ${dg.join('')}`);
    assert.ok(dr.length >= 4 && alternates(dr), `red alternates: ${dr.join('')}`);
    assert.ok(Math.abs(dg.length - dr.length) <= 1);
    assert.deepEqual(deg.values(RELAY), ['0']);
    // Replaying the phase: after each green change the red line holds the opposite level once both moved.
    let gv = blink.end(GREEN);
    let rv = blink.end(RED);
    let antiphase = 0;
    let inphase = 0;
    for (const c of deg.all) {
      if (c.pin === GREEN) gv = c.value;
      else if (c.pin === RED) rv = c.value;
      else continue;
      if (gv !== rv) antiphase++;
      else inphase++;
    }
    // Two lines cannot change at the same instant: each pair passes through one in-phase state at most.
    assert.ok(antiphase >= inphase, `antiphase ${antiphase}, in phase ${inphase}`);
    assert.notEqual(deg.end(GREEN), deg.end(RED));

    // close(): everything off, then unexported; nothing written after.
    const closing = phase(run, 'close');
    for (const pin of [GREEN, RED, RELAY]) assert.equal(closing.end(pin), '0', `gpio${pin} off after close`);
    const lastUnexport = Math.max(...changes.filter((c) => c.file === 'unexport').map((c) => c.t));
    assert.ok(!changes.some((c) => c.file === 'value' && c.t > lastUnexport));
    assert.equal(run.health[1]!.pattern, 'degraded');
    assert.equal(run.health[2]!.pattern, 'off');
  });
}

test('no GPIO on the machine: the LED is absent and the driver keeps working', { skip }, async () => {
  const r = await scenario<{ health: HealthView['led'] }>('absent');
  assert.equal(r.health.state, 'absent');
  assert.equal(r.health.pattern, 'red-steady', 'the pattern is still tracked for the panel and the API');
  assert.match(r.health.detail ?? '', /no GPIO/);
});

test('a board without LED lines: absent, nothing exported', { skip }, async () => {
  const r = await scenario<{ health: HealthView['led']; changes: GpioChange[] }>('no-pins');
  assert.equal(r.health.state, 'absent');
  assert.match(r.health.detail ?? '', /names no LED/);
  assert.deepEqual(r.changes, []);
});

test('the pattern timers do not keep the process alive', { skip }, async () => {
  const r = await scenario<{ health: HealthView['led'] }>('unref');
  assert.equal(r.health.state, 'ok');
  assert.equal(r.health.pattern, 'degraded');
});

test('lines given directly, pattern and νn pushed: relay follows νn, heartbeat continues under red', { skip }, async () => {
  const run = await scenario<PatternRun>('lines-api');
  assert.deepEqual(run.health[0], { state: 'ok', pattern: 'off', detail: null });
  const steady = phase(run, 'red-steady');
  assert.deepEqual(steady.values(RED), ['1']);
  assert.deepEqual(steady.values(RELAY), ['1']);
  assert.equal(steady.values(GREEN)[0], '1', 'heartbeatDuringAlarm defaults to true');
  const hb = phase(run, 'heartbeat');
  assert.deepEqual(hb.values(RED), ['0']);
  assert.deepEqual(hb.values(RELAY), ['0']);
  for (const pin of [GREEN, RED, RELAY]) assert.equal(phase(run, 'close').end(pin), '0');
});

test('sysfs files that appear late: onoff gives up, the driver tries again and shows the pending pattern', { skip }, async () => {
  const run = await scenario<PatternRun>('late-files');
  assert.equal(run.health[0]!.state, 'failed');
  assert.match(run.health[0]!.detail ?? '', /not ready yet.*gpio27.*trying again/);
  assert.deepEqual(run.health[1], { state: 'ok', pattern: 'red-steady', detail: null });
  // The first attempt's green line was released again, then everything opened on the retry.
  const green = run.changes.filter((c) => c.pin === GREEN && (c.file === 'export' || c.file === 'unexport')).map((c) => c.file);
  assert.deepEqual(green, ['export', 'unexport', 'export', 'unexport']);
  // The status given while waiting shows once the lines are open: red on, relay closed.
  const red = run.changes.filter((c) => c.pin === RED && c.file === 'value').map((c) => c.value);
  assert.deepEqual(red, ['1', '0']);
  const relay = run.changes.filter((c) => c.pin === RELAY && c.file === 'value').map((c) => c.value);
  assert.deepEqual(relay, ['1', '0']);
});
