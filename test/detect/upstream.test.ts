// Upstream check (grade 4): local estimates per window from the badData stage's WLS, compared with what the
// master station sends back — a genuine echo and values within noise match, made-up windows are forgery,
// altered values are tampering, and the verdicts raise the indicators through the alarm manager.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AlarmManager } from '../../src/detect/alarms.ts';
import { PhasorStage } from '../../src/detect/cycles.ts';
import { IndicatorBoard } from '../../src/detect/indicators.ts';
import { BadDataStage } from '../../src/detect/stages/bad-data.ts';
import { LogicStage } from '../../src/detect/stages/logic.ts';
import { checkMasterEstimate, LocalEstimateLog, UpstreamInputError } from '../../src/detect/upstream.ts';
import type { EstimateView, MasterEstimateInput } from '../../src/model/estimates.ts';
import { runPipeline, simulate } from './helpers.ts';

const echo = (
  v: EstimateView,
  tweak: (x: { name: string; re: number; im: number; sigma: number }) => { re: number; im: number } = (x) => x,
): MasterEstimateInput => ({
  bus: v.bus,
  windowStartNs: v.windowStartNs,
  windowEndNs: v.windowEndNs,
  values: v.values.map((x) => ({ name: x.name, ...tweak(x) })),
});

describe('upstream check', () => {
  let dir = '';
  let log: LocalEstimateLog;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'svde-upstream-'));
    const { file, truth } = await simulate(dir, 'normal', ['--mus', '2', '--duration', '3s']);
    log = new LocalEstimateLog({ windowMs: 500, secret: 'test-secret' });
    runPipeline(file, truth, (r) => [
      new LogicStage(r),
      new PhasorStage(r, [new BadDataStage(r, { onEstimate: (e) => log.onEstimate(e) })]),
    ]);
    log.flush();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps one record per bus and window with stable ids, states and covariance sigmas', () => {
    const list = log.list();
    assert.ok(list.length >= 5, `${list.length} windows`);
    const v = list[1]!;
    assert.equal(v.bus, 'BAY1');
    assert.equal(BigInt(v.windowEndNs) - BigInt(v.windowStartNs), 500_000_000n);
    assert.equal(v.id, log.idOf(v.bus, BigInt(v.windowStartNs)));
    assert.match(v.id, /^[0-9a-f]{16}$/);
    assert.notEqual(new LocalEstimateLog({ secret: 'other' }).idOf(v.bus, BigInt(v.windowStartNs)), v.id, 'ids depend on the secret');
    const names = v.values.map((x) => x.name);
    assert.deepEqual(names.sort(), ['IA@BAY1', 'IB@BAY1', 'IC@BAY1', 'VA@BAY1', 'VB@BAY1', 'VC@BAY1']);
    const ia = v.values.find((x) => x.name === 'IA@BAY1')!;
    assert.ok(Math.hypot(ia.re, ia.im) > 200, 'a load current');
    assert.ok(ia.sigma > 0 && ia.sigma < 10, `sigma ${ia.sigma}`);
    assert.equal(log.get(v.id), v);
    assert.ok(log.list(BigInt(v.windowStartNs)).every((x) => BigInt(x.windowStartNs) >= BigInt(v.windowStartNs)));
  });

  it('a genuine echo matches, by window and by id', () => {
    const v = log.list()[2]!;
    assert.deepEqual(checkMasterEstimate(log, echo(v)), {
      result: { outcome: 'match', reason: 'within-tolerance', localId: v.id, alarmId: null },
    });
    assert.equal(checkMasterEstimate(log, { ...echo(v), id: v.id }).result.outcome, 'match');
  });

  it('values within noise (2 σ on every value) match', () => {
    const v = log.list()[2]!;
    const r = checkMasterEstimate(
      log,
      echo(v, (x) => ({ re: x.re + 1.5 * x.sigma, im: x.im - 1.2 * x.sigma })),
    );
    assert.equal(r.result.outcome, 'match');
    assert.equal(r.verdict, undefined);
  });

  it('altered values are tampering (IA × 1.1), naming the worst value', () => {
    const v = log.list()[2]!;
    const r = checkMasterEstimate(
      log,
      echo(v, (x) => (x.name === 'IA@BAY1' ? { re: x.re * 1.1, im: x.im * 1.1 } : x)),
    );
    assert.equal(r.result.outcome, 'tamper');
    assert.equal(r.result.reason, 'value-differs');
    assert.equal(r.verdict?.indicator, 'upstreamTamper');
    assert.equal(r.verdict?.detail?.['name'], 'IA@BAY1');
    assert.ok(Number(r.verdict?.detail?.['difference']) > Number(r.verdict?.detail?.['tolerance']));
  });

  it('made-up windows and quantities are forgery', () => {
    const v = log.list()[2]!;
    const made = { ...echo(v), windowStartNs: String(BigInt(v.windowStartNs) + 123n) };
    assert.deepEqual(checkMasterEstimate(log, made).result, {
      outcome: 'forgery',
      reason: 'no-local-record',
      localId: null,
      alarmId: null,
    });
    assert.equal(checkMasterEstimate(log, { ...echo(v), bus: 'BAY9' }).result.reason, 'no-local-record');
    assert.equal(checkMasterEstimate(log, { ...echo(v), id: '0123456789abcdef' }).result.reason, 'no-local-record', 'a guessed id');
    const other = log.list()[3]!;
    assert.equal(checkMasterEstimate(log, { ...echo(v), id: other.id }).result.reason, 'window-mismatch');
    const extra = echo(v);
    extra.values.push({ name: 'IA@BAY7', re: 1, im: 0 });
    const r = checkMasterEstimate(log, extra);
    assert.deepEqual([r.result.outcome, r.result.reason, r.verdict?.indicator], ['forgery', 'unknown-quantity', 'upstreamForgery']);
  });

  it('malformed input is refused with the bad field, not judged', () => {
    const v = log.list()[2]!;
    assert.throws(
      () => checkMasterEstimate(log, { ...echo(v), windowStartNs: '-5' }),
      (e: Error) => e instanceof UpstreamInputError && /windowStartNs/.test(e.message),
    );
    assert.throws(() => checkMasterEstimate(log, { ...echo(v), values: [{ name: 'IA@BAY1', re: NaN, im: 0 }] }), /values\[0\]\.re/);
    assert.throws(() => checkMasterEstimate(log, null as unknown as MasterEstimateInput), /object/);
  });

  it('verdicts raise the grade-4 indicators through the alarm manager', () => {
    const v = log.list()[2]!;
    const board = new IndicatorBoard();
    const am = new AlarmManager(board);
    am.onVerdict(checkMasterEstimate(log, { ...echo(v), bus: 'BAY9' }).verdict!);
    am.onVerdict(
      checkMasterEstimate(
        log,
        echo(v, (x) => ({ re: x.re + 100, im: x.im })),
      ).verdict!,
    );
    const s = board.snapshot();
    assert.equal(s.upstreamForgery.count, 1);
    assert.equal(s.upstreamForgery.grade, 4);
    assert.equal(s.upstreamTamper.count, 1);
    assert.equal(board.nu, 1);
  });

  it('bounded: the oldest windows go first', () => {
    const small = new LocalEstimateLog({ windowMs: 10, maxWindows: 3 });
    const e = {
      bus: 'B',
      tsNs: 0n,
      names: ['IA@B'],
      re: new Float64Array([1]),
      im: new Float64Array([0]),
      sigma: new Float64Array([0.1]),
      badData: false,
    };
    for (let k = 0; k < 10; k++) small.onEstimate({ ...e, tsNs: BigInt(k) * 10_000_000n });
    small.flush();
    assert.equal(small.size, 3);
    assert.deepEqual(
      small.list().map((x) => x.windowStartNs),
      ['70000000', '80000000', '90000000'],
    );
    assert.equal(small.find('B', '0'), undefined);
  });
});
