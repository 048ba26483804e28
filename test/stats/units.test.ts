import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatChange,
  formatCount,
  formatDuration,
  formatPercent,
  renderTable,
} from '../../analyzer/stats/units';

test('formatDuration picks the largest unit with value ≥ 1, 3 significant digits', () => {
  assert.equal(formatDuration(0), '0 ns');
  assert.equal(formatDuration(850), '850 ns');
  assert.equal(formatDuration(12_345), '12.3 µs');
  assert.equal(formatDuration(4_560_000), '4.56 ms');
  assert.equal(formatDuration(3_072_000_000), '3.07 s');
  assert.equal(formatDuration(1_000), '1.00 µs');
  assert.equal(formatDuration(12_000), '12.0 µs');
  assert.equal(formatDuration(999_999), '1.00 ms');
  assert.equal(formatDuration(999.7), '1.00 µs');
  assert.equal(formatDuration(999.4), '999 ns');
  assert.equal(formatDuration(9_996), '10.0 µs');
  assert.equal(formatDuration(0.5), '0.500 ns');
  assert.equal(formatDuration(12_345e9), '12345 s');
  assert.equal(formatDuration(-4_560_000), '-4.56 ms');
});

test('formatDuration with other significant digits; integer digits are kept', () => {
  assert.equal(formatDuration(3_072_000_000, 4), '3.072 s');
  assert.equal(formatDuration(1_234_567, 2), '1.2 ms');
  assert.equal(formatDuration(850, 1), '850 ns');
  assert.throws(() => formatDuration(NaN), RangeError);
});

test('formatPercent', () => {
  assert.equal(formatPercent(12.345), '12.3%');
  assert.equal(formatPercent(100), '100.0%');
  assert.equal(formatPercent(0.04567, 2), '0.05%');
});

test('formatChange shows the sign and collapses tiny changes', () => {
  assert.equal(formatChange(20.1), '+20.1%');
  assert.equal(formatChange(-3), '-3.0%');
  assert.equal(formatChange(0.04), '~0%');
  assert.equal(formatChange(-0.049), '~0%');
  assert.equal(formatChange(0), '~0%');
  assert.equal(formatChange(0.06), '+0.1%');
  assert.equal(formatChange(250), '+250.0%');
  assert.equal(formatChange(Infinity), 'n/a');
  assert.equal(formatChange(NaN), 'n/a');
});

test('formatCount groups thousands', () => {
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(1000), '1,000');
  assert.equal(formatCount(1_234_567), '1,234,567');
  assert.equal(formatCount(-1_234_567), '-1,234,567');
  assert.equal(formatCount(1234.6), '1,235');
});

test('renderTable sizes columns to content and aligns them', () => {
  const lines = renderTable(
    ['lock', 'waits', 'p99'],
    [
      ['big_lock', '1,234', '12.3 µs'],
      ['m', '5', '850 ns'],
    ],
    ['l', 'r', 'r'],
  );
  assert.deepEqual(lines, [
    'lock      waits      p99',
    '--------  -----  -------',
    'big_lock  1,234  12.3 µs',
    'm             5   850 ns',
  ]);
});

test('renderTable trims trailing padding and checks the shape', () => {
  assert.deepEqual(renderTable(['a', 'name'], [['1', 'x']], ['r', 'l']), ['a  name', '-  ----', '1  x']);
  assert.deepEqual(renderTable(['a'], [], ['l']), ['a', '-']);
  assert.throws(() => renderTable(['a', 'b'], [['1']], ['l', 'l']), RangeError);
  assert.throws(() => renderTable(['a', 'b'], [], ['l']), RangeError);
});
