import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { EBUSY, ETIMEDOUT, Func, MutexFlag, Stage, type RawEvent } from '../core/events';
import { Joiner, type CondOpen, type CondSignal, type CondWait } from '../core/join';
import type { ProbeCost } from '../core/probe_cost';
import { join } from './lib/tools';

/** The join of pthread rwlocks, spin locks and condition variables, in the recorder's form (one acquired event per call). */

const RD = Func.PthreadRwlockRdlock;
const WR = Func.PthreadRwlockWrlock;
const RWU = Func.PthreadRwlockUnlock;
const W = MutexFlag.RwlockWriter;
const RW = 0x5000;
const acq = Stage.Acquired;
const rel = Stage.Released;
const req = Stage.Request;

type Row = [ts: number, requestTs: number | null, stage: number, func: number, tid: number, lock: number, opts?: { ret?: number; flags?: number; cond?: number }];

/** Events in arrival order; each thread's call site is 0x100 * tid. */
function calls(rows: Row[]): RawEvent[] {
  return rows.map(([ts, requestTs, stage, func, tid, lock, o], i) => ({
    id: i + 1, ts, requestTs, stage, func, pid: 1, tid, lock, ret: o?.ret ?? 0, caller: 0x100 * tid, flags: o?.flags ?? 0, cond: o?.cond ?? null,
  }));
}

describe('pthread rwlocks: a writer holds it alone, readers each hold it', () => {
  // Readers 1 and 2 hold it together (2 longer); writer 3 asks while both do and gets it when 2 lets go;
  // reader 4 asks while the writer holds it.
  const j = join(calls([
    [10, 0, acq, RD, 1, RW],
    [12, 5, acq, RD, 2, RW],
    [100, null, rel, RWU, 1, RW],
    [150, null, rel, RWU, 2, RW],
    [151, 20, acq, WR, 3, RW],
    [200, null, rel, RWU, 3, RW, { flags: W }],
    [201, 160, acq, RD, 4, RW],
    [210, null, rel, RWU, 4, RW],
  ]));
  const byTid = new Map(j.acquisitions.map((a) => [a.tid, a]));

  test('each reader has its own hold, as its own kind', () => {
    assert.deepEqual([1, 2, 4].map((t) => [byTid.get(t)!.hold, byTid.get(t)!.kind]), [[90, 'pthread_rwlock:R'], [138, 'pthread_rwlock:R'], [9, 'pthread_rwlock:R']]);
    assert.deepEqual([byTid.get(3)!.hold, byTid.get(3)!.kind], [49, 'pthread_rwlock:W']);
  });

  test("readers do not contend with each other; the writer's wait on them is contended, the readers its blockers", () => {
    assert.deepEqual([byTid.get(1)!.contended, byTid.get(2)!.contended], [false, false]);
    const w = byTid.get(3)!;
    assert.deepEqual([w.contended, w.wait, w.blockerTid, w.blockerCaller, w.blockerTids?.sort()], [true, 131, 2, 0x200, [1, 2]]);
  });

  test('a reader waits for the writer', () => {
    const r = byTid.get(4)!;
    assert.deepEqual([r.contended, r.blockerTid, r.wait], [true, 3, 41]);
    assert.deepEqual(j.anomalies, []);
    assert.deepEqual(j.open, []);
  });
});

describe('pthread rwlocks: the edges', () => {
  test('a reader that takes it again nests: one hold, outer to outer', () => {
    const j = join(calls([[10, 0, acq, RD, 1, RW], [20, 15, acq, RD, 1, RW], [30, null, rel, RWU, 1, RW], [40, null, rel, RWU, 1, RW]]));
    assert.deepEqual(j.acquisitions.map((a) => [a.hold, a.recursiveEntries]), [[30, 1]]);
  });

  test('held at the start: the unlock says which (the writer flag), one item per thread and side', () => {
    const j = join(calls([[10, null, rel, RWU, 1, RW], [11, null, rel, RWU, 2, RW, { flags: W }]]));
    assert.deepEqual(j.open.map((o) => [o.kind, o.tid, o.lockKind]), [['held-at-start', 1, 'pthread_rwlock:R'], ['held-at-start', 2, 'pthread_rwlock:W']]);
  });

  test('a failed trywrlock while a reader holds it: a failure blocked by that reader; a writer that finds readers by our books cuts them', () => {
    const j = join(calls([
      [10, 0, acq, RD, 1, RW],
      [21, 20, acq, Func.PthreadRwlockTrywrlock, 2, RW, { ret: EBUSY }],
      [31, 30, acq, WR, 2, RW], // tid 1's unlock was lost
      [40, null, rel, RWU, 2, RW, { flags: W }],
    ]));
    assert.deepEqual(j.failed.map((f) => [f.ret, f.contended, f.blockerTid, f.kind]), [[EBUSY, true, 1, 'pthread_rwlock:W']]);
    assert.deepEqual(j.open.map((o) => [o.kind, o.tid, o.lockKind]), [['hold-cut', 1, 'pthread_rwlock:R']]);
    assert.deepEqual(j.acquisitions.map((a) => [a.tid, a.hold]), [[2, 9]]);
  });

  test("a read lock's preference bits are not a recursive mutex's type", () => {
    const preferWriter = MutexFlag.KindKnown | 1;
    const j = join(calls([[10, 0, acq, WR, 1, RW, { flags: preferWriter }], [20, null, rel, RWU, 1, RW, { flags: W }], [30, 25, acq, WR, 1, RW, { flags: preferWriter }], [40, null, rel, RWU, 1, RW, { flags: W }]]));
    assert.deepEqual(j.acquisitions.map((a) => a.hold), [10, 10]);
  });
});

describe('pthread spin locks', () => {
  const S = 0x6000;
  test('held and waited for as a mutex; an unlock that ends no hold (pthread_spin_init) is nothing', () => {
    const j = join(calls([
      [5, null, rel, Func.PthreadSpinUnlock, 1, S], // pthread_spin_init on zeroed memory
      [10, 9, acq, Func.PthreadSpinLock, 1, S],
      [50, null, rel, Func.PthreadSpinUnlock, 1, S],
      [51, 20, acq, Func.PthreadSpinLock, 2, S],
      [60, null, rel, Func.PthreadSpinUnlock, 2, S],
    ]));
    assert.deepEqual(j.acquisitions.map((a) => [a.tid, a.kind, a.hold, a.contended, a.blockerTid]), [[1, 'pthread_spin', 40, false, null], [2, 'pthread_spin', 9, true, 1]]);
    assert.deepEqual(j.open, []);
    assert.deepEqual(j.anomalies, []);
  });
});

describe('condition variables', () => {
  const M = 0x7000;
  const C = 0x7100;
  const CW = Func.PthreadCondTimedwait;
  const joinCond = (events: RawEvent[], probeCost: ProbeCost | null = null) => {
    const out = { ...join(events), waits: [] as CondWait[], signals: [] as CondSignal[], condOpen: [] as CondOpen[] };
    const joiner = new Joiner({ condWait: (w) => out.waits.push(w), condSignal: (s) => out.signals.push(s), condOpen: (o) => out.condOpen.push(o) }, { probeCost });
    for (const e of events) joiner.push(e);
    joiner.finish();
    return out;
  };
  const script = calls([
    [1, 0, acq, Func.PthreadMutexLock, 1, M],
    [10, null, rel, CW, 1, M, { cond: C }], // timedwait entry: releases the mutex
    [60, 10, acq, CW, 1, M, { cond: C, ret: ETIMEDOUT, flags: MutexFlag.Blocked }], // returns after 50 with the mutex
    [70, null, rel, Func.PthreadMutexUnlock, 1, M],
    [80, null, rel, Func.PthreadCondSignal, 2, C, { cond: C, flags: MutexFlag.KindKnown | 0 }],
    [90, null, rel, Func.PthreadCondBroadcast, 2, C, { cond: C, flags: MutexFlag.KindKnown | 3 }],
    [100, 0, acq, Func.PthreadMutexLock, 3, M],
    [110, null, rel, Func.PthreadCondWait, 3, M, { cond: C }],
    [110, null, req, Func.PthreadCondWait, 3, M, { cond: C }], // still waiting at the stop
  ]);

  test("a cond wait is the cond's wait, from its entry to its return, with its mutex and result", () => {
    const j = joinCond(script);
    assert.deepEqual(j.waits.map((w) => [w.tid, w.cond, w.mutex, w.wait, w.ret, w.slept, w.caller]), [[1, C, M, 50, ETIMEDOUT, true, 0x100]]);
  });

  test("the mutex's holds exclude the cond wait, as before", () => {
    const j = joinCond(script);
    assert.deepEqual(j.acquisitions.map((a) => [a.tid, a.hold, a.wait]), [[1, 9, 1], [1, 10, null], [3, 10, 100]]);
    assert.deepEqual(j.anomalies, []);
  });

  test('signals and broadcasts, with the waiters they found', () => {
    assert.deepEqual(joinCond(script).signals.map((s) => [s.broadcast, s.waiters, s.cond]), [[false, 0, C], [true, 3, C]]);
  });

  test("a cond wait still in progress at the stop is the cond's, not a wait for its mutex", () => {
    const j = joinCond(script);
    assert.deepEqual(j.condOpen.map((o) => [o.tid, o.cond, o.mutex, o.ts]), [[3, C, M, 110]]);
    assert.deepEqual(j.open.map((o) => o.kind), []);
  });

  test('the cond probes\' own cost comes off the cond waits; a family the run did not calibrate stays raw', () => {
    const cost: ProbeCost = { waitNs: 5, holdNs: 3, pairs: 1, waitIqrNs: [5, 5], holdIqrNs: [3, 3], bareNsPerPair: 0, families: { cond: { waitNs: 7, holdNs: 0, pairs: 1, waitIqrNs: [7, 7], holdIqrNs: [0, 0] } } };
    assert.deepEqual(joinCond(script, cost).waits.map((w) => w.wait), [43]);
    const rw = calls([[10, 0, acq, RD, 1, RW], [20, null, rel, RWU, 1, RW]]);
    const acquisitions: number[] = [];
    const joiner = new Joiner({ acquisition: (a) => acquisitions.push(a.wait!, a.hold!) }, { probeCost: cost });
    for (const e of rw) joiner.push(e);
    assert.deepEqual(acquisitions, [10, 10], 'rwlock:R not calibrated: raw');
  });

  test('a file from before the cond column (schema 4): no cond waits, the mutex as before', () => {
    const old = script.filter((e) => e.stage !== req && e.func !== Func.PthreadCondSignal && e.func !== Func.PthreadCondBroadcast).map((e) => ({ ...e, cond: null, requestTs: e.func === CW && e.stage === acq ? e.ts : e.requestTs }));
    const j = joinCond(old);
    assert.deepEqual(j.waits, []);
    assert.deepEqual(j.acquisitions.map((a) => [a.tid, a.hold]), [[1, 9], [1, 10], [3, 10]]);
  });
});
