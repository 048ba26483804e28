import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';

import type { Diff, DiffRow } from '../analyzer/diff';
import { mutexAnalyze, mutexRec } from './lib/tools';
import { scratchDir, workload } from './lib/workloads';

// Two threads on one lock, each holding it 400 µs and thinking 100 µs: the lock is nearly always
// wanted, so waits are made of the other thread's hold rather than of the probes' own cost (which
// varies by ~10% between recordings). About 1 s of work, 2,000 acquisitions: 30 windows of ~65.
const THREADS = 2;
const ITERATIONS = 1000;
const HOLD_US = 400;
const THINK_US = 100;

let dir: string;
let exe: string;

async function record(name: string, holdUs: number): Promise<string> {
  const path = join(dir, `${name}.db`);
  const r = await mutexRec(['-o', path, '--', exe, String(THREADS), String(ITERATIONS), String(holdUs), String(THINK_US)]);
  assert.equal(r.code, 0, r.stderr);
  return path;
}

async function diff(base: string, after: string): Promise<{ code: number | null; diff: Diff }> {
  const r = await mutexAnalyze(['diff', base, after, '--fail-on-regression', '--format', 'json']);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return { code: r.code, diff: JSON.parse(r.stdout) as Diff };
}

function workloadLock(d: Diff): DiffRow {
  const row = d.rows.find((r) => r.lock.startsWith('hold_loop+0x'));
  assert.ok(row, `the workload's static mutex is not matched by object+offset: ${d.rows.map((r) => r.lock).join(', ')}`);
  assert.equal(row.match, 'object');
  return row;
}

const changes = (row: DiffRow): string =>
  Object.entries(row.metrics)
    .map(([metric, c]) => `${metric} ${c.changePct?.toFixed(1)}% p=${c.test?.pAdjusted.toPrecision(2)} ${c.verdict}`)
    .join('; ');

describe('diff of real recordings of hold_loop', () => {
  let base: string;
  let same: string;
  let longer: string;
  before(async () => {
    dir = scratchDir();
    exe = workload('hold_loop');
    base = await record('base', HOLD_US);
    same = await record('same', HOLD_US);
    longer = await record('longer', Math.round(HOLD_US * 1.2));
  });

  test('the same parameters twice: no regression, exit 0 under --fail-on-regression', async () => {
    const { code, diff: d } = await diff(base, same);
    const lock = workloadLock(d);
    assert.equal(d.method.unit, 'windows');
    assert.equal(lock.metrics.holdP50.test?.nBase, 30);
    assert.deepEqual(
      d.rows.filter((r) => r.verdict === 'regressed').map((r) => r.lock),
      [],
      `${changes(lock)}`,
    );
    assert.equal(code, 0);
  });

  test('holds 20% longer: the hold p50 regressed, exit 1 under --fail-on-regression', async () => {
    const { code, diff: d } = await diff(base, longer);
    const lock = workloadLock(d);
    const hold = lock.metrics.holdP50;
    assert.ok(hold.changePct! > 15 && hold.changePct! < 25, changes(lock));
    assert.equal(hold.verdict, 'regressed', changes(lock));
    assert.equal(lock.verdict, 'regressed');
    assert.equal(d.rows[0].lock, 'overall');
    assert.equal(d.rows[0].metrics.holdP50.verdict, 'regressed');
    assert.equal(code, 1);
  });
});
