import { test } from 'node:test';
import assert from 'node:assert/strict';
import { log2Bucket, log2HistogramCounts, renderLog2Histogram } from '../../analyzer/stats/histogram';

test('bucket edges: [2^k, 2^(k+1)), everything below 2 in bucket 0', () => {
  const cases: [value: number, bucket: number][] = [
    [0, 0], [0.3, 0], [1, 0], [1.999, 0],
    [2, 1], [3, 1], [3.99, 1],
    [4, 2], [7, 2], [8, 3],
    [255, 7], [256, 8], [511, 8], [511.9, 8], [512, 9],
    [2 ** 40 - 1, 39], [2 ** 40, 40],
    [2 ** 53, 53], [2 ** 60 * (1 - Number.EPSILON), 59],
  ];
  for (const [value, bucket] of cases) assert.equal(log2Bucket(value), bucket, `value ${value}`);
});

test('rejects negative, NaN and infinite values', () => {
  assert.throws(() => log2Bucket(-1), RangeError);
  assert.throws(() => log2Bucket(NaN), RangeError);
  assert.throws(() => log2Bucket(Infinity), RangeError);
});

test('counts per bucket from a Float64Array', () => {
  const values = Float64Array.of(0, 1, 2, 3, 300, 260, 511, 1000);
  assert.deepEqual(log2HistogramCounts(values), [2, 2, 0, 0, 0, 0, 0, 0, 3, 1]);
  assert.deepEqual(log2HistogramCounts(new Float64Array(0)), []);
});

test('renders bcc-style rows, trimming empty buckets at both ends', () => {
  const counts = [0, 0, 3, 0, 80, 12, 0, 0];
  assert.deepEqual(renderLog2Histogram(counts, 'usecs'), [
    '     usecs               : count     distribution',
    '         4 -> 7          : 3        |*                                       |',
    '         8 -> 15         : 0        |                                        |',
    '        16 -> 31         : 80       |****************************************|',
    '        32 -> 63         : 12       |******                                  |',
  ]);
});

test('first bucket is labelled 0 -> 1; bars are floor(40·count/max) stars', () => {
  const lines = renderLog2Histogram([7, 100, 99], 'nsecs');
  assert.equal(lines[1], '         0 -> 1          : 7        |**                                      |');
  assert.equal(lines[2], '         2 -> 3          : 100      |****************************************|');
  assert.equal(lines[3], '         4 -> 7          : 99       |*************************************** |');
});

test('widens the label and count columns when needed', () => {
  const counts = new Array<number>(41).fill(0);
  counts[40] = 123456789;
  const [header, row] = renderLog2Histogram(counts, 'nsecs');
  assert.equal(row, `1099511627776 -> 2199023255551 : 123456789 |${'*'.repeat(40)}|`);
  assert.equal(header.indexOf(':'), row.indexOf(':'));
  assert.equal(header.indexOf('distribution'), row.indexOf('|') + 1);
});

test('an empty histogram renders nothing', () => {
  assert.deepEqual(renderLog2Histogram([], 'usecs'), []);
  assert.deepEqual(renderLog2Histogram([0, 0], 'usecs'), []);
});
