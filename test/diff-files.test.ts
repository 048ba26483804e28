import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';

import { Func, MutexFlag, Stage } from '../core/events';
import type { Diff, DiffRow } from '../analyzer/diff';
import { mutexAnalyze } from './lib/tools';
import { writeRunFile, type SyntheticEvent } from './lib/synthetic';
import { scratchDir } from './lib/workloads';

const LOCK_KEPT = 0x1000;
const LOCK_GONE = 0x2000; // only in base runs
const LOCK_NEW = 0x3000; // only in new runs

interface LockPlan {
  lock: number;
  tid: number;
  acquisitions: number;
  holdNs: number;
  waitNs: number;
}

/** One thread per lock: request, acquire after waitNs, release after holdNs (±5%, deterministic), 50 µs apart. */
function lockEvents(p: LockPlan, jitterSeed: number): SyntheticEvent[] {
  const events: SyntheticEvent[] = [];
  let t = 1000;
  for (let i = 0; i < p.acquisitions; i++) {
    const wobble = 1 + 0.05 * Math.sin(i * 1.7 + jitterSeed);
    const wait = Math.round(p.waitNs * wobble);
    const hold = Math.round(p.holdNs * wobble);
    events.push({ ts: t, stage: Stage.Request, func: Func.PthreadMutexLock, tid: p.tid, lock: p.lock, ret: 0 });
    // Each wait is contention: the thread slept in the call (as the recorder flags it).
    events.push({ ts: t + wait, stage: Stage.Acquired, func: Func.PthreadMutexLock, tid: p.tid, lock: p.lock, ret: 0, flags: MutexFlag.Blocked });
    events.push({ ts: t + wait + hold, stage: Stage.Released, func: Func.PthreadMutexUnlock, tid: p.tid, lock: p.lock, ret: 0 });
    t += wait + hold + 50_000;
  }
  return events;
}

function writeRun(path: string, plans: LockPlan[], seed: number): string {
  writeRunFile(path, plans.flatMap((p) => lockEvents(p, seed)));
  return path;
}

/** Names lock addresses as the recorder does for static mutexes (a data symbol). */
function nameLocks(path: string, names: Record<number, string>): void {
  const db = new Database(path);
  const insert = db.prepare("INSERT INTO symbols (address, name, module, kind) VALUES (?, ?, 'libx.so', 'data')");
  for (const [address, name] of Object.entries(names)) insert.run(Number(address), name);
  db.close();
}

async function diffJson(args: string[]): Promise<Diff> {
  const r = await mutexAnalyze(['diff', ...args, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Diff;
}

function row(diff: Diff, lock: string): DiffRow {
  const found = diff.rows.find((r) => r.lock === lock);
  assert.ok(found, `no row ${lock} in ${diff.rows.map((r) => r.lock).join(', ')}`);
  return found;
}

let dir: string;
before(() => {
  dir = scratchDir();
});

describe('5 vs 5 runs: one value per run', () => {
  let base: string[];
  let after: string[];
  before(() => {
    const kept = { lock: LOCK_KEPT, tid: 1, acquisitions: 200, waitNs: 10_000 };
    base = [0, 1, 2, 3, 4].map((i) =>
      writeRun(join(dir, `base${i}.db`), [{ ...kept, holdNs: 100_000 }, { lock: LOCK_GONE, tid: 2, acquisitions: 50, holdNs: 5000, waitNs: 1000 }], i),
    );
    after = [0, 1, 2, 3, 4].map((i) =>
      writeRun(join(dir, `new${i}.db`), [{ ...kept, holdNs: 130_000 }, { lock: LOCK_NEW, tid: 3, acquisitions: 50, holdNs: 5000, waitNs: 1000 }], i + 10),
    );
  });

  test('a 30% longer hold in every new run is a regression, judged on runs; exit 1 under --fail-on-regression', async () => {
    const diff = await diffJson([...base, '--vs', ...after]);
    assert.equal(diff.schema, 'mutex-analyze.diff/2');
    assert.equal(diff.method.unit, 'runs');
    assert.equal(diff.method.tests, 6); // (overall + one matched lock) × 3 judged metrics
    const kept = row(diff, '0x1000');
    assert.equal(kept.match, 'address');
    assert.deepEqual(kept.runs, { base: 5, new: 5 });
    assert.ok(Math.abs(kept.metrics.holdP50.changePct! - 30) < 1, `change ${kept.metrics.holdP50.changePct}`);
    assert.deepEqual(kept.metrics.holdP50.test && [kept.metrics.holdP50.test.nBase, kept.metrics.holdP50.test.nNew], [5, 5]);
    assert.equal(kept.metrics.holdP50.verdict, 'regressed');
    assert.equal(kept.metrics.waitP50.verdict, '~');
    assert.equal(kept.verdict, 'regressed');
    assert.equal(kept.metrics.holdP99.verdict, null); // shown, not judged
    assert.equal(diff.summary.regressed, 2); // the lock and overall

    const gate = await mutexAnalyze(['diff', ...base, '--vs', ...after, '--fail-on-regression']);
    assert.equal(gate.code, 1, gate.stderr);
    assert.match(gate.stdout, /regressed: hold p50/);
    const noGate = await mutexAnalyze(['diff', ...base, '--vs', ...after]);
    assert.equal(noGate.code, 0);
  });

  test('locks on one side only are listed as new and gone, without a verdict', async () => {
    const diff = await diffJson([...base, '--vs', ...after]);
    const gone = row(diff, '0x2000');
    const added = row(diff, '0x3000');
    assert.equal(gone.status, 'gone');
    assert.equal(added.status, 'new');
    assert.deepEqual([gone.verdict, added.verdict], [null, null]);
    assert.deepEqual(gone.runs, { base: 5, new: 0 });
    assert.equal(added.metrics.holdP50.base, null);
    assert.ok(added.metrics.holdP50.new! > 4000);
    assert.deepEqual([diff.summary.new, diff.summary.gone], [1, 1]);
  });

  test('matching by address is said to be weak', async () => {
    const r = await mutexAnalyze(['diff', ...base, '--vs', ...after]);
    assert.match(r.stdout, /WARNING: 3 locks were matched by address only .*weak/);
    assert.match(r.stdout, /0x1000 \(by address\)/);
  });

  test('3 vs 3 runs cannot reach p < 0.05 on runs: windows are the unit', async () => {
    const diff = await diffJson([...base.slice(0, 3), '--vs', ...after.slice(0, 3)]);
    assert.equal(diff.method.unit, 'windows');
    assert.ok(Math.abs(diff.method.smallestPerRunP - 0.1) < 1e-12);
    assert.equal(row(diff, '0x1000').metrics.holdP50.test?.nBase, 60); // 3 runs × 20 windows (200 holds / 10)
  });

  test('CSV: one line per row and metric', async () => {
    const r = await mutexAnalyze(['diff', ...base, '--vs', ...after, '--format', 'csv']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^lock,match,status,runs_base,runs_new,acquisitions_base,acquisitions_new,metric,base,new,change_pct,/);
    assert.equal(lines.length, 1 + 4 * 7); // overall, kept, new, gone × 7 metrics
    assert.ok(lines.some((l) => l.startsWith('0x1000,address,matched,5,5,1000,1000,holdP50,') && l.endsWith(',regressed,regressed')));
  });
});

describe('one run per side: per-window values', () => {
  const kept = { lock: LOCK_KEPT, tid: 1, acquisitions: 600, waitNs: 10_000 };

  test('the same lock pattern twice: ~ everywhere, exit 0 under --fail-on-regression', async () => {
    const a = writeRun(join(dir, 'same-a.db'), [{ ...kept, holdNs: 100_000 }], 1);
    const b = writeRun(join(dir, 'same-b.db'), [{ ...kept, holdNs: 100_000 }], 2);
    const r = await mutexAnalyze(['diff', a, b, '--fail-on-regression', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const diff = JSON.parse(r.stdout) as Diff;
    assert.equal(diff.method.unit, 'windows');
    assert.deepEqual(diff.rows.map((x) => x.verdict), ['~', '~']);
    assert.equal(row(diff, '0x1000').metrics.holdP50.test?.nBase, 30);
  });

  test('holds 20% longer: regressed', async () => {
    const a = writeRun(join(dir, 'short.db'), [{ ...kept, holdNs: 100_000 }], 1);
    const b = writeRun(join(dir, 'long.db'), [{ ...kept, holdNs: 120_000 }], 2);
    const diff = await diffJson([a, b]);
    assert.equal(row(diff, '0x1000').metrics.holdP50.verdict, 'regressed');
    // The run got longer, with the same contended waits: less of them per second.
    assert.equal(row(diff, '0x1000').metrics.contendedWaitPerSecond.verdict, 'improved');
  });

  test('a short run of ~120 acquisitions is still judged: 12 windows of 10', async () => {
    const a = writeRun(join(dir, 'short-a.db'), [{ ...kept, acquisitions: 120, holdNs: 100_000 }], 1);
    const b = writeRun(join(dir, 'short-b.db'), [{ ...kept, acquisitions: 120, holdNs: 140_000 }], 2);
    const r = await mutexAnalyze(['diff', a, b, '--fail-on-regression', '--format', 'json']);
    assert.equal(r.code, 1, r.stderr);
    const lock = row(JSON.parse(r.stdout) as Diff, '0x1000');
    assert.deepEqual([lock.metrics.holdP50.test?.nBase, lock.metrics.holdP50.test?.nNew], [12, 12]);
    assert.equal(lock.metrics.holdP50.verdict, 'regressed');
  });

  test('too few acquisitions to test: ?, not ~, one line says why, exit 3 under --fail-on-regression', async () => {
    const a = writeRun(join(dir, 'few-a.db'), [{ ...kept, acquisitions: 20, holdNs: 100_000 }], 1);
    const b = writeRun(join(dir, 'few-b.db'), [{ ...kept, acquisitions: 20, holdNs: 200_000 }], 2);
    const diff = await diffJson([a, b]);
    const lock = row(diff, '0x1000');
    assert.ok(lock.metrics.holdP50.changePct! > 90);
    assert.equal(lock.metrics.holdP50.test, null);
    assert.equal(lock.metrics.holdP50.verdict, '?');
    assert.equal(lock.verdict, '?');
    assert.equal(diff.method.tests, 0);
    assert.deepEqual([diff.summary.untested, diff.summary.inconclusive], [2, 2]); // the lock and overall
    const text = await mutexAnalyze(['diff', a, b, '--fail-on-regression']);
    assert.equal(text.code, 3, text.stderr);
    assert.match(text.stdout, /\?: 6 judged metrics of 2 rows could not be tested, too few samples: 20 acquisitions in [\d.]+ ms .*inconclusive \(exit 3/);
    assert.match(text.stdout, /\?: hold p50/);
    assert.equal((await mutexAnalyze(['diff', a, b])).code, 0, 'without --fail-on-regression: 0');
  });

  test('a rarely taken lock that cannot be tested does not make the diff inconclusive', async () => {
    // A lock taken a few times (the dynamic loader's) beside one that is tested and unchanged.
    const rare = { lock: LOCK_GONE, tid: 2, acquisitions: 3, waitNs: 1000 };
    const a = writeRun(join(dir, 'rare-a.db'), [{ ...kept, holdNs: 100_000 }, { ...rare, holdNs: 2000 }], 1);
    const b = writeRun(join(dir, 'rare-b.db'), [{ ...kept, holdNs: 100_000 }, { ...rare, holdNs: 4000 }], 2);
    const r = await mutexAnalyze(['diff', a, b, '--fail-on-regression', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const diff = JSON.parse(r.stdout) as Diff;
    assert.equal(row(diff, '0x2000').verdict, '?');
    assert.equal(row(diff, '0x2000').matters, false);
    assert.equal(row(diff, '0x1000').verdict, '~');
    assert.deepEqual([diff.summary.untested, diff.summary.inconclusive], [1, 0]);
  });
});

test('two locks of a run with the same name (statics of two objects) stay two rows', async () => {
  const plans = [
    { lock: LOCK_KEPT, tid: 1, acquisitions: 300, holdNs: 100_000, waitNs: 10_000 },
    { lock: LOCK_NEW, tid: 2, acquisitions: 300, holdNs: 50_000, waitNs: 10_000 },
  ];
  const [a, b] = ['named-a.db', 'named-b.db'].map((name, i) => writeRun(join(dir, name), plans, i));
  for (const path of [a, b]) nameLocks(path, { [LOCK_KEPT]: 'lock', [LOCK_NEW]: 'lock' });
  const diff = await diffJson([a, b]);
  assert.deepEqual(diff.rows.map((r) => [r.lock, r.match, r.status, r.acquisitions.base]), [
    ['overall', 'overall', 'matched', 600],
    ['lock', 'object', 'matched', 300],
    ['lock#2', 'object', 'matched', 300],
  ]);
});

describe('bad input: one line, exit code 2', () => {
  const oneLine = (stderr: string): void => assert.equal(stderr.trim().split('\n').length, 1, stderr);
  let good: string;
  before(() => {
    good = writeRun(join(dir, 'good.db'), [{ lock: LOCK_KEPT, tid: 1, acquisitions: 10, holdNs: 1000, waitNs: 1000 }], 0);
  });

  test('a missing run file', async () => {
    const r = await mutexAnalyze(['diff', good, join(dir, 'missing.db')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /missing\.db: no such file/);
    oneLine(r.stderr);
  });

  test('a file that is not a run file', async () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a database');
    const r = await mutexAnalyze(['diff', good, '--vs', good, text]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /notes\.txt is not a SQLite file/);
    oneLine(r.stderr);
  });

  test('a run file from before mutex types were recorded (schema 2): refused, record it again', async () => {
    const old = join(dir, 'schema2.db');
    copyFileSync(good, old);
    const db = new Database(old);
    db.pragma('user_version = 2');
    db.close();
    const r = await mutexAnalyze(['diff', good, old]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /schema2\.db has run-file schema 2, from an older mutex-rec .*record it again/);
    oneLine(r.stderr);
  });

  test("each run's own probe cost differs by a few %: one shared cost is subtracted, so identical holds stay identical", async () => {
    // Holds of 7 µs recorded, about what the probes add: net of 6.9 µs and 6.5 µs they would differ fivefold.
    const plan = { lock: LOCK_KEPT, tid: 1, acquisitions: 600, holdNs: 7_000, waitNs: 8_000 };
    const withCost = (name: string, holdCostNs: number): string => {
      const path = writeRun(join(dir, name), [plan], 1);
      const db = new Database(path);
      const cost = { waitNs: 7_000, holdNs: holdCostNs, pairs: 2000, waitIqrNs: [6_900, 7_100], holdIqrNs: [holdCostNs - 100, holdCostNs + 100], bareNsPerPair: 15 };
      db.prepare('UPDATE run SET probe_cost = ?').run(JSON.stringify(cost));
      db.close();
      return path;
    };
    const r = await mutexAnalyze(['diff', withCost('cost-a.db', 6_900), withCost('cost-b.db', 6_500), '--format', 'json', '--fail-on-regression']);
    assert.equal(r.code, 0, r.stderr);
    const hold = (JSON.parse(r.stdout) as Diff).rows.find((x) => x.lock !== 'overall')!.metrics.holdP50;
    assert.equal(hold.changePct, 0);
    assert.ok(hold.base! > 0 && hold.base! < 1000, `net hold ${hold.base} ns: the shared cost (6.7 µs) was subtracted`);
  });

  test('a net hold change smaller than the spread of the calibrated probe cost is never a verdict', async () => {
    const plan = { lock: LOCK_KEPT, tid: 1, acquisitions: 600, waitNs: 8_000 };
    const withCost = (name: string, holdNs: number): string => {
      const path = writeRun(join(dir, name), [{ ...plan, holdNs }], 1);
      const db = new Database(path);
      const cost = { waitNs: 7_000, holdNs: 7_000, pairs: 2000, waitIqrNs: [6_800, 7_200], holdIqrNs: [6_700, 7_300], bareNsPerPair: 15 };
      db.prepare('UPDATE run SET probe_cost = ?').run(JSON.stringify(cost));
      db.close();
      return path;
    };
    const base = withCost('res-base.db', 7_200);
    // Net 200 ns -> 500 ns: +150 %, and the test is sure of it, but 300 ns is within the probes' 700 ns.
    const small = await diffJson([base, withCost('res-small.db', 7_500)]);
    const hold = small.rows.find((x) => x.lock !== 'overall')!.metrics.holdP50;
    assert.ok(hold.changePct! > 100 && hold.test!.pAdjusted < 0.001, JSON.stringify(hold));
    assert.equal(hold.verdict, '~');
    assert.deepEqual(small.method.resolution, { waitNs: 700, holdNs: 700 }); // 10 % of 7 µs is wider than either quartile range
    // Net 200 ns -> 2 µs: beyond it.
    const large = await diffJson([base, withCost('res-large.db', 9_000)]);
    assert.equal(large.rows.find((x) => x.lock !== 'overall')!.metrics.holdP50.verdict, 'regressed');
    const text = await mutexAnalyze(['diff', base, withCost('res-small2.db', 7_500)]);
    assert.match(text.stdout, /probe resolution: a wait p50 change under 700 ns or a hold p50 change under 700 ns/);
  });

  test('three run files without --vs', async () => {
    const r = await mutexAnalyze(['diff', good, good, good]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /two run files .* or the base runs, --vs and the new runs/);
    oneLine(r.stderr);
  });

  test('an alpha that is not a probability', async () => {
    const r = await mutexAnalyze(['diff', good, good, '--alpha', '5']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--alpha must be a probability/);
    oneLine(r.stderr);
  });
});
