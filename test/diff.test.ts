// tier: probes
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';

import type { Diff, DiffRow } from '../analyzer/diff';
import { mutexAnalyze, mutexRec } from './lib/tools';
import { scratchDir, workload } from './lib/workloads';

// Two threads taking turns on one lock, each holding it 800 µs (test/workloads/hold_loop.c says
// why it is built so that two identical runs look alike): every acquisition waits about one hold
// of the other thread, not just the probes' cost and the hand-off (tens of µs that vary by ~10%
// between recordings). About 1 s of work; 1,200 acquisitions make up to 30 windows of ~40 per run.
const ITERATIONS = 600;
const HOLD_US = 800;

let dir: string;
let exe: string;

async function record(name: string, holdUs: number): Promise<string> {
  const path = join(dir, `${name}.db`);
  const r = await mutexRec(['-o', path, '--', exe, String(ITERATIONS), String(holdUs)]);
  assert.equal(r.code, 0, r.stderr);
  return path;
}

async function diff(base: string, after: string): Promise<{ code: number | null; diff: Diff }> {
  const r = await mutexAnalyze(['diff', base, after, '--fail-on-regression', '--format', 'json']);
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  return { code: r.code, diff: JSON.parse(r.stdout) as Diff };
}

/** The workload's static mutex: the lock with all the acquisitions, matched by its object (its symbol). */
function workloadLock(d: Diff): DiffRow {
  const busy = d.rows.filter((r) => r.lock !== 'overall' && r.acquisitions.base >= 2 * ITERATIONS);
  assert.equal(busy.length, 1, `rows: ${d.rows.map((r) => `${r.lock} (${r.acquisitions.base})`).join(', ')}`);
  assert.equal(busy[0].match, 'object');
  return busy[0];
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
    assert.ok(lock.metrics.holdP50.test!.nBase >= 10, 'the hold was not tested on windows');
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
