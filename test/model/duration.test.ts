// The one duration grammar of the command lines.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseDuration } from '../../src/model/duration.ts';

it('parses ms, s (default), m and h, with decimals and surrounding space', () => {
  assert.equal(parseDuration('500ms'), 0.5);
  assert.equal(parseDuration('10'), 10);
  assert.equal(parseDuration('10s'), 10);
  assert.equal(parseDuration(' 2m '), 120);
  assert.equal(parseDuration('1.5h'), 5400);
});

it('refuses what is not a duration', () => {
  for (const s of ['', 's', '-1s', '10 s', '1e3', '10d', '0x10', '1.s']) assert.equal(parseDuration(s), undefined, s);
});
