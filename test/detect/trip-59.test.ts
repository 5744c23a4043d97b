// ANSI 59 overvoltage and the 50/59 definite-time delays in the trip stage: a voltage above pickup operates
// once it has held for the delay (reason trip/overvoltage); below pickup, or a swell shorter than the
// delay, never operates.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tripRig, VN } from './trip-rig.ts';

const NO_51 = { inverseTimeOf: () => undefined };

describe('trip: ANSI 59 overvoltage', () => {
  // Pickup 1.2 × Vn = 45726 V; delay 0.2 s = 10 cycles at 50 Hz.
  const rig = () => tripRig(NO_51, { overvoltageDelayS: 0.2 });

  it('above pickup: operates on the cycle that completes the delay, then every cycle while it lasts', () => {
    const r = rig();
    for (let k = 0; k < 20; k++) r.cycle(400);
    const onset = r.frame() + 80; // frame of the first swell cycle
    for (let k = 0; k < 15; k++) r.cycle(400, 1.3);
    assert.equal(r.verdicts.length, 6, 'cycles 10 … 15 of the swell');
    assert.ok(r.verdicts.every((v) => v.indicator === 'trip' && v.reason === 'overvoltage'));
    assert.equal(r.verdicts[0]!.frame, onset + 9 * 80, 'the tenth cycle (0.2 s)');
    assert.equal(r.verdicts[0]!.detail?.['voltageV'], Math.round(1.3 * VN));
    for (let k = 0; k < 20; k++) r.cycle(400);
    assert.equal(r.verdicts.length, 6, 'nothing once the voltage is back');
  });

  it('below pickup (1.19 × Vn for 10 s): never operates', () => {
    const r = rig();
    for (let k = 0; k < 500; k++) r.cycle(400, 1.19);
    assert.deepEqual(r.verdicts, []);
  });

  it('swells of 9 cycles (0.18 s, shorter than the delay) with a cycle of nominal voltage between: never operate', () => {
    const r = rig();
    for (let n = 0; n < 20; n++) {
      for (let k = 0; k < 9; k++) r.cycle(400, 1.3);
      r.cycle(400, 1);
    }
    assert.deepEqual(r.verdicts, []);
  });

  it('without a configured delay: the first cycle above pickup operates', () => {
    const r = tripRig(NO_51);
    r.cycle(400);
    r.cycle(400, 1.3);
    assert.deepEqual(
      r.verdicts.map((v) => [v.frame, v.reason]),
      [[160, 'overvoltage']],
    );
  });
});

describe('trip: ANSI 50 definite-time delay', () => {
  it('operates once the pickup has held for delayS (0.06 s = 3 cycles); a 2-cycle pulse does not', () => {
    const r = tripRig(NO_51, { overcurrentDelayS: 0.06 });
    for (let k = 0; k < 20; k++) r.cycle(400);
    r.cycle(6000, 0.5);
    r.cycle(6000, 0.5);
    for (let k = 0; k < 5; k++) r.cycle(400);
    assert.equal(r.verdicts.length, 0, 'pulse shorter than the delay');
    const onset = r.frame() + 80;
    for (let k = 0; k < 4; k++) r.cycle(6000, 0.5);
    assert.deepEqual(
      r.verdicts.map((v) => [v.frame, v.reason]),
      [
        [onset + 160, 'overcurrent'],
        [onset + 240, 'overcurrent'],
      ],
    );
  });
});
