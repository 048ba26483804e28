import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import Database from 'better-sqlite3';

import { buildReport, renderReport, KIND_FAMILIES, type Report } from '../analyzer/report';
import { RunFile } from '../runfile/runfile';
import { ETIMEDOUT, Func, MutexFlag, Stage, type KindFamily } from '../core/events';
import { ScratchRuns, type SyntheticEvent } from './lib/synthetic';
import { mutexAnalyze } from './lib/tools';

/** report's rows of each kind, and --kind, on a hand-made run with a mutex, an rwlock, a spin lock and a cond. */

const M = 0x1000; // mutex `g_mutex`
const RW = 0x2000; // rwlock `g_table`
const S = 0x3000; // spin lock (heap)
const C = 0x4000; // cond `g_ready`, used with M
const SPIN_SITE = 0x9010;

function events(): SyntheticEvent[] {
  const e: SyntheticEvent[] = [];
  const acq = (ts: number, requestTs: number, func: number, tid: number, lock: number, extra: Partial<SyntheticEvent> = {}): void => {
    e.push({ ts, requestTs, stage: Stage.Acquired, func, tid, lock, ret: 0, ...extra });
  };
  const rel = (ts: number, func: number, tid: number, lock: number, extra: Partial<SyntheticEvent> = {}): void => {
    e.push({ ts, stage: Stage.Released, func, tid, lock, ret: 0, ...extra });
  };
  // two readers, then a writer that waited for them
  acq(1_000, 900, Func.PthreadRwlockRdlock, 1, RW, { caller: 0x9000 });
  acq(1_100, 1_050, Func.PthreadRwlockRdlock, 2, RW, { caller: 0x9000 });
  rel(50_000, Func.PthreadRwlockUnlock, 1, RW);
  rel(60_000, Func.PthreadRwlockUnlock, 2, RW);
  acq(60_500, 2_000, Func.PthreadRwlockWrlock, 3, RW, { caller: 0x9008 });
  rel(70_500, Func.PthreadRwlockUnlock, 3, RW, { flags: MutexFlag.RwlockWriter });
  // a spin lock
  acq(80_000, 79_900, Func.PthreadSpinLock, 1, S, { caller: SPIN_SITE });
  rel(81_000, Func.PthreadSpinUnlock, 1, S);
  // a mutex and a cond wait on it that times out, another that is signalled
  acq(100_000, 99_000, Func.PthreadMutexLock, 1, M, { caller: 0x9020 });
  rel(101_000, Func.PthreadCondTimedwait, 1, M, { cond: C, caller: 0x9030 });
  acq(5_101_000, 101_000, Func.PthreadCondTimedwait, 1, M, { cond: C, ret: ETIMEDOUT, caller: 0x9030 });
  rel(5_102_000, Func.PthreadCondWait, 1, M, { cond: C, caller: 0x9040 });
  rel(5_200_000, Func.PthreadCondSignal, 2, C, { cond: C, flags: MutexFlag.KindKnown | 1, caller: 0x9050 });
  acq(5_300_000, 5_102_000, Func.PthreadCondWait, 1, M, { cond: C, caller: 0x9040 });
  rel(5_301_000, Func.PthreadMutexUnlock, 1, M);
  rel(5_400_000, Func.PthreadCondBroadcast, 2, C, { cond: C, flags: MutexFlag.KindKnown | 0, caller: 0x9058 });
  return e;
}

const runs = new ScratchRuns({
  threads: { 1: 'worker', 2: 'producer', 3: 'writer' },
  symbols: [
    { address: M, name: 'g_mutex', kind: 'data' },
    { address: RW, name: 'g_table', kind: 'data' },
    { address: C, name: 'g_ready', kind: 'data' },
    { address: SPIN_SITE, name: 'spin_user+0x10', kind: 'code' },
  ],
});

function report(path: string, kinds?: KindFamily[], extra: Partial<Parameters<typeof buildReport>[1]> = {}): Report {
  const run = RunFile.open(path);
  try {
    return buildReport(run, { by: 'lock', sort: 'cont-wait', top: 20, format: 'json', kinds: kinds ? new Set(kinds) : undefined, ...extra });
  } finally {
    run.close();
  }
}

describe('report --kind', () => {
  const path = runs.write(events());

  test('every kind by default: an rwlock as two rows (read and write sides), a spin lock, the mutex, and the cond as a row of its own', () => {
    const r = report(path);
    assert.deepEqual(r.kinds, KIND_FAMILIES);
    assert.deepEqual(
      r.rows.map((row) => [row.key, row.name, row.kind]).sort(),
      [
        ['0x1000', 'g_mutex', 'pthread_mutex'],
        ['0x2000:R', 'g_table:R', 'pthread_rwlock:R'],
        ['0x2000:W', 'g_table:W', 'pthread_rwlock:W'],
        ['0x3000', 'spin@spin_user+0x10', 'pthread_spin'],
      ],
    );
    const w = r.rows.find((row) => row.key === '0x2000:W')!;
    assert.deepEqual([w.contended, w.contendedWaitNs, w.hold!.total], [1, 58_500, 10_000]);
    const read = r.rows.find((row) => row.key === '0x2000:R')!;
    assert.deepEqual([read.acquisitions, read.contended, read.hold!.total], [2, 0, 49_000 + 58_900]);
    assert.deepEqual(r.conds!.groups, 1);
    const [cond] = r.conds!.rows;
    assert.deepEqual(
      [cond.key, cond.name, cond.kind, cond.waits, cond.timeouts, cond.signals, cond.broadcasts, cond.wakesWithoutWaiters, cond.wait!.total, cond.mutexes],
      ['0x4000', 'g_ready', 'pthread_cond', 2, 1, 1, 1, 1, 5_000_000 + 198_000, [{ lock: '0x1000', name: 'g_mutex', waits: 2 }]],
    );
    // the mutex's holds exclude the cond waits
    const mutex = r.rows.find((row) => row.key === '0x1000')!;
    assert.deepEqual([mutex.acquisitions, mutex.condReacquisitions, mutex.hold!.total], [3, 2, 1_000 + 1_000 + 1_000]);
  });

  test('--kind keeps the kinds asked for', () => {
    assert.deepEqual(report(path, ['rwlock']).rows.map((row) => row.kind).sort(), ['pthread_rwlock:R', 'pthread_rwlock:W']);
    assert.equal(report(path, ['rwlock']).conds, null);
    assert.deepEqual(report(path, ['spin', 'mutex']).rows.map((row) => row.kind).sort(), ['pthread_mutex', 'pthread_spin']);
    const conds = report(path, ['cond']);
    assert.deepEqual([conds.rows, conds.conds!.rows.map((c) => c.name)], [[], ['g_ready']]);
  });

  test('conds by thread and by call site', () => {
    const byThread = report(path, ['cond'], { by: 'thread' });
    assert.deepEqual(byThread.conds!.rows.map((c) => [c.key, c.name, c.waits, c.signals + c.broadcasts]).sort(), [['1', 'worker', 2, 0], ['2', 'producer', 0, 2]]);
    const bySite = report(path, ['cond'], { by: 'callsite' });
    assert.deepEqual(bySite.conds!.rows.map((c) => [c.key, c.waits]).sort(), [['0x9030', 1], ['0x9040', 1], ['0x9050', 0], ['0x9058', 0]]);
  });

  test('the table and CSV outputs', () => {
    const r = report(path);
    const text = renderReport(r, 'table');
    assert.match(text, /^Top 4 of 4 locks by contended wait:$/m);
    assert.match(text, /^Top 1 of 1 condition variables by total wait:$/m);
    assert.match(text, /^COND +NAME +WAITS +TIMEOUTS +FAILED +SIGNALS +BROADCASTS +NO WAITER +WAIT:total .* MUTEX$/m);
    assert.match(text, /^0x4000 +g_ready +2 +1 +0 +1 +1 +1 +5\.20 ms .* g_mutex$/m);
    const csv = renderReport(r, 'csv').trim().split('\n');
    assert.match(csv[0], /,timeouts,signals,broadcasts,wakes_without_waiters,top_mutex,mutexes$/);
    assert.equal(csv.length, 1 + 4 + 1);
    assert.match(csv[5], /^0x4000,g_ready,pthread_cond,.*,1,1,1,1,0x1000,1$/);
    assert.ok(csv.every((line) => line.split(',').length === csv[0].split(',').length), 'every row has every column');
  });

  test('the command line: --kind takes a comma-separated list; a wrong one is one line, exit code 2', async () => {
    const ok = await mutexAnalyze(['report', path, '--kind', 'cond,spin']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^Top 1 of 1 locks \(--kind spin,cond\) by contended wait:$/m);
    const bad = await mutexAnalyze(['report', path, '--kind', 'semaphore']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--kind takes mutex, rwlock, spin, cond or all/);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    const one = await mutexAnalyze(['report', path, '--lock', '0x4000']);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^Threads waiting on cond 0x4000:$/m);
    assert.doesNotMatch(one.stdout, /locks by contended wait/);
  });
});

describe('a run recorded before conds, rwlocks and spin locks were (schema 4)', () => {
  test('opens, and says that it has no condition variables', () => {
    const path = runs.write(events().filter((e) => e.cond == null && e.func < 32));
    const db = new Database(path);
    db.exec('ALTER TABLE events DROP COLUMN cond');
    db.pragma('user_version = 4');
    db.close();
    const r = report(path);
    assert.equal(r.conds, null);
    assert.match(renderReport(r, 'table'), /^Condition variables: not recorded in this run/m);
    assert.match(renderReport(report(path, ['rwlock']), 'table'), /^No locks \(--kind rwlock\) in this run\.$/m);
  });
});
