import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { EBUSY, ETIMEDOUT, Func, MutexFlag, Stage, type RawEvent } from '../core/events';
import { recorderForm, type SyntheticEvent } from './lib/synthetic';
import { join as joinEvents, type Joined } from './lib/tools';

const L = Func.PthreadMutexLock;
const U = Func.PthreadMutexUnlock;
const A = 0x1000;
const B = 0x2000;

/** Builds events in order: [ts, stage, func, tid, lock, ret?, flags?]. */
function events(rows: [number, number, number, number, number, number?, number?][]): RawEvent[] {
  return rows.map(([ts, stage, func, tid, lock, ret, flags], i) => ({ id: i + 1, ts, stage, func, pid: 1, tid, lock, ret: ret ?? 0, caller: 0, flags: flags ?? 0 }));
}

/** The flags of a lock call on a recursive / normal mutex, as the recorder reads its type. */
const RECURSIVE = MutexFlag.KindKnown | 1;
const NORMAL = MutexFlag.KindKnown;

/**
 * Joins hand-made events written with request rows, and also in the recorder's form (one acquired
 * event per call, carrying its request time: the contended flag and blocker then come from the
 * lock's past holds), and checks that both give the same acquisitions, failures and open items.
 */
function join(rows: RawEvent[]): Joined {
  const rowForm = joinEvents(rows);
  const callForm = joinEvents([...recorderForm(rows as SyntheticEvent[])].map((e, i) => ({ ...e, id: i + 1, pid: e.pid ?? 1, caller: e.caller ?? 0 })));
  const key = (x: { tid: number; requestTs?: number; ts?: number; kind?: string }): string => `${x.kind ?? ''}:${x.tid}:${x.requestTs ?? x.ts}`;
  const sorted = <T extends { tid: number }>(list: T[]): T[] => [...list].sort((a, b) => key(a).localeCompare(key(b)));
  assert.deepEqual(sorted(callForm.acquisitions), sorted(rowForm.acquisitions), "acquisitions in the recorder's form");
  assert.deepEqual(sorted(callForm.failed), sorted(rowForm.failed), "failed attempts in the recorder's form");
  assert.deepEqual(sorted(callForm.open), sorted(rowForm.open), "open items in the recorder's form");
  return rowForm;
}

const req = Stage.Request;
const acq = Stage.Acquired;
const rel = Stage.Released;

describe('the join of request, acquired and released', () => {
  test('a plain acquisition: wait = acquired - request, hold = released - acquired', () => {
    const j = join(events([[10, req, L, 1, A], [15, acq, L, 1, A], [40, rel, U, 1, A]]));
    assert.equal(j.acquisitions.length, 1);
    assert.equal(j.acquisitions[0].wait, 5);
    assert.equal(j.acquisitions[0].hold, 25);
    assert.equal(j.acquisitions[0].contended, false);
  });

  test('nested locks are held independently', () => {
    const j = join(events([
      [0, req, L, 1, A], [1, acq, L, 1, A],
      [2, req, L, 1, B], [3, acq, L, 1, B],
      [10, rel, U, 1, B],
      [20, rel, U, 1, A],
    ]));
    const byLock = new Map(j.acquisitions.map((a) => [a.lock, a]));
    assert.equal(byLock.get(A)!.hold, 19);
    assert.equal(byLock.get(B)!.hold, 7);
  });

  test('a recursive mutex: one hold from the outermost lock to the last unlock', () => {
    const j = join(events([
      [0, req, L, 1, A, 0, RECURSIVE], [1, acq, L, 1, A, 0, RECURSIVE],
      [2, req, L, 1, A, 0, RECURSIVE], [3, acq, L, 1, A, 0, RECURSIVE],
      [4, rel, U, 1, A],
      [9, rel, U, 1, A],
    ]));
    assert.equal(j.acquisitions.length, 1);
    assert.equal(j.acquisitions[0].hold, 8);
    assert.equal(j.acquisitions[0].recursiveEntries, 1);
    assert.equal(j.acquisitions[0].kind, 'pthread_mutex:recursive');
    assert.deepEqual(j.open, []);
  });

  for (const [type, flags] of [['normal', NORMAL], ['unknown', 0]] as const) {
    test(`a ${type}-type mutex taken again by its holder: the release was lost, the old hold is cut, never extended`, () => {
      const j = join(events([
        [0, req, L, 1, A, 0, flags], [1, acq, L, 1, A, 0, flags],
        // the release of the first hold was lost
        [10, req, L, 1, A, 0, flags], [11, acq, L, 1, A, 0, flags],
        [15, rel, U, 1, A],
      ]));
      assert.deepEqual(j.acquisitions.map((a) => [a.acquiredTs, a.hold, a.recursiveEntries]), [[11, 4, 0]]);
      assert.deepEqual(j.open.map((o) => [o.kind, o.ts]), [['hold-cut', 1]]);
      assert.deepEqual(j.anomalies.map((a) => a.split(' ')[0]), ['hold-cut']);
    });
  }

  test('locks held when the recording started: one held-at-start item per thread and lock, whatever the depth', () => {
    const j = join(events([
      [0, rel, U, 1, A], // a recursive mutex held twice before the start
      [1, rel, U, 1, A],
      [2, rel, U, 2, B],
      [3, req, L, 1, A, 0, RECURSIVE], [4, acq, L, 1, A, 0, RECURSIVE],
      [5, rel, U, 1, A],
    ]));
    assert.deepEqual(j.open.map((o) => [o.kind, o.tid, o.lock]), [['held-at-start', 1, A], ['held-at-start', 2, B]]);
    assert.deepEqual(j.acquisitions.map((a) => a.hold), [1]);
    assert.deepEqual(j.anomalies, []);
  });

  test('a release with no hold by a thread that did acquire the lock in the run lost its acquire event', () => {
    const j = join(events([[0, req, L, 1, A], [1, acq, L, 1, A], [2, rel, U, 1, A], [8, rel, U, 1, A]]));
    assert.deepEqual(j.open, []);
    assert.deepEqual(j.anomalies.map((a) => a.split(' ')[0]), ['release-without-hold']);
  });

  test('contended when the probes saw the call wait, even with no recorded holder', () => {
    const j = join(events([
      [0, req, L, 1, A, 0, NORMAL | MutexFlag.HeldAtRequest], [5, acq, L, 1, A, 0, NORMAL | MutexFlag.HeldAtRequest], [6, rel, U, 1, A],
      [7, req, L, 1, A, 0, NORMAL | MutexFlag.Blocked], [20, acq, L, 1, A, 0, NORMAL | MutexFlag.Blocked], [21, rel, U, 1, A],
      [22, req, L, 1, A, 0, NORMAL], [23, acq, L, 1, A, 0, NORMAL], [24, rel, U, 1, A],
    ]));
    assert.deepEqual(j.acquisitions.map((a) => [a.contended, a.blockerTid]), [[true, null], [true, null], [false, null]]);
  });

  test('a release by another thread ends the holder\'s hold', () => {
    const j = join(events([[0, req, L, 1, A], [1, acq, L, 1, A], [7, rel, U, 2, A]]));
    assert.equal(j.acquisitions[0].tid, 1);
    assert.equal(j.acquisitions[0].releasedByTid, 2);
    assert.equal(j.acquisitions[0].hold, 6);
  });

  test('contention: the waiter is contended, blocked by the holder, and waits until the release', () => {
    const j = join(events([
      [0, req, L, 1, A], [1, acq, L, 1, A],
      [2, req, L, 2, A],
      [50, rel, U, 1, A],
      [52, acq, L, 2, A],
      [60, rel, U, 2, A],
    ]));
    const waiter = j.acquisitions.find((a) => a.tid === 2)!;
    assert.equal(waiter.contended, true);
    assert.equal(waiter.blockerTid, 1);
    assert.equal(waiter.wait, 50);
  });

  test('a cond wait releases the mutex and re-acquires it: the wait on the condition is not hold', () => {
    const C = Func.PthreadCondWait;
    const j = join(events([
      [0, req, L, 1, A], [1, acq, L, 1, A],
      [5, rel, C, 1, A], // cond_wait entry
      [100, req, C, 1, A], [100, acq, C, 1, A], // cond_wait return
      [103, rel, U, 1, A],
    ]));
    assert.deepEqual(j.acquisitions.map((a) => a.hold), [4, 3]);
    assert.equal(j.acquisitions[1].wait, null);
  });

  test('a cond wait on a recursive mutex restores its depth', () => {
    const C = Func.PthreadCondWait;
    const j = join(events([
      [0, req, L, 1, A], [1, acq, L, 1, A],
      [2, req, L, 1, A, 0, RECURSIVE], [3, acq, L, 1, A, 0, RECURSIVE],
      [5, rel, C, 1, A],
      [50, req, C, 1, A], [50, acq, C, 1, A],
      [51, rel, U, 1, A],
      [60, rel, U, 1, A],
    ]));
    assert.deepEqual(j.acquisitions.map((a) => a.hold), [4, 10]);
    assert.deepEqual(j.open, []);
  });

  test('failed trylock and timedlock are failures, never acquisitions', () => {
    const T = Func.PthreadMutexTrylock;
    const TL = Func.PthreadMutexTimedlock;
    const j = join(events([
      [0, req, L, 1, A], [1, acq, L, 1, A],
      [2, req, T, 2, A], [3, acq, T, 2, A, EBUSY],
      [4, req, TL, 2, A], [34, acq, TL, 2, A, ETIMEDOUT],
      [40, rel, U, 1, A],
    ]));
    assert.equal(j.acquisitions.length, 1);
    assert.deepEqual(j.failed.map((f) => [f.ret, f.returnTs - f.requestTs, f.contended]), [[EBUSY, 1, true], [ETIMEDOUT, 30, true]]);
  });

  test("the run's edges: held at the end, waiting at the end, held at the start", () => {
    const j = join(events([
      [0, rel, U, 3, B], // acquired before the recording started
      [1, req, L, 1, A], [2, acq, L, 1, A], // never released
      [3, req, L, 2, A], // still waiting
    ]));
    assert.equal(j.acquisitions.length, 0);
    assert.deepEqual(j.open.map((o) => o.kind).sort(), ['held-at-end', 'held-at-start', 'waiting-at-end']);
  });

  test('contention-tracepoint waits nest per thread and lock, and have no hold', () => {
    const K = Func.KernelContention;
    const j = join(events([
      [0, req, K, 1, A], // waiting for mutex A
      [3, req, K, 1, B], // its wait_lock B contended inside A's slow path
      [5, acq, K, 1, B],
      [9, acq, K, 1, A],
    ]));
    assert.deepEqual(j.acquisitions.map((a) => [a.lock, a.wait, a.hold]).sort(), [[A, 9, null], [B, 2, null]]);
    assert.deepEqual(j.anomalies, []);
  });

  test('dropped events show up as anomalies and cut holds, not as wrong holds', () => {
    // tid 1's release of A was dropped: tid 2's acquisition contradicts the books.
    const j = join(events([
      [0, req, L, 1, A], [1, acq, L, 1, A],
      [5, req, L, 2, A], [6, acq, L, 2, A],
      [9, rel, U, 2, A],
      [10, acq, L, 3, B], // a return whose request was dropped
    ]));
    assert.deepEqual(j.anomalies.map((a) => a.split(' ')[0]).sort(), ['hold-cut', 'return-without-request']);
    assert.deepEqual(j.open.map((o) => [o.kind, o.tid]), [['hold-cut', 1]]);
    assert.equal(j.acquisitions.length, 1);
    assert.equal(j.acquisitions[0].tid, 2);
  });
});

describe("the recorder's form: a lock call is one acquired event with its request time", () => {
  /** [ts, requestTs | null, stage, func, tid, lock] in arrival order. */
  const calls = (rows: [number, number | null, number, number, number, number][]): RawEvent[] =>
    rows.map(([ts, requestTs, stage, func, tid, lock], i) => ({ id: i + 1, ts, requestTs, stage, func, pid: 1, tid, lock, ret: 0, caller: 0x100 * tid }));

  test('the blocker is the thread that held the lock at the request time, not the last one before the acquisition', () => {
    const j = joinEvents(calls([
      [1, 0, acq, L, 1, A],
      [10, null, rel, U, 1, A], // tid 2 asked at 5, while tid 1 held A
      [11, 8, acq, L, 3, A], // tid 3 asked at 8, while tid 1 held A, and got it first
      [15, null, rel, U, 3, A],
      [16, 5, acq, L, 2, A],
      [20, null, rel, U, 2, A],
    ]));
    const byTid = new Map(j.acquisitions.map((a) => [a.tid, a]));
    assert.deepEqual([byTid.get(2)!.contended, byTid.get(2)!.blockerTid, byTid.get(2)!.blockerCaller, byTid.get(2)!.wait], [true, 1, 0x100, 11]);
    assert.deepEqual([byTid.get(3)!.contended, byTid.get(3)!.blockerTid], [true, 1]);
    assert.equal(byTid.get(1)!.contended, false);
    assert.deepEqual(j.anomalies, []);
  });

  test('a request after the last release is uncontended, whatever came before', () => {
    const j = joinEvents(calls([[1, 0, acq, L, 1, A], [4, null, rel, U, 1, A], [6, 5, acq, L, 2, A], [9, null, rel, U, 2, A]]));
    assert.deepEqual(j.acquisitions.map((a) => [a.tid, a.contended, a.blockerTid]), [[1, false, null], [2, false, null]]);
  });

  test('a long wait through many handovers still finds the holder at its request time', () => {
    const rows: [number, number | null, number, number, number, number][] = [];
    for (let k = 0; k < 2000; k++) rows.push([1000 * k + 1, 1000 * k, acq, L, 100 + (k % 7), A], [1000 * k + 500, null, rel, U, 100 + (k % 7), A]);
    rows.push([2_000_100, 2_003, acq, L, 1, A], [2_000_200, null, rel, U, 1, A]); // asked at 2,003 ns, during the third hold (tid 102), 2,000 handovers before it returns
    const waiter = joinEvents(calls(rows)).acquisitions.find((a) => a.tid === 1)!;
    assert.deepEqual([waiter.contended, waiter.blockerTid, waiter.blockerCaller, waiter.wait], [true, 102, 0x100 * 102, 1_998_097]);
  });

  test('a wait reaching back past the holds kept is contended, its blocker unknown', () => {
    // holds 10 ms apart for 400 ms: the first ones are forgotten (kept: twice the longest wait seen, at least 50 ms)
    const rows: [number, number | null, number, number, number, number][] = [];
    for (let k = 0; k < 40; k++) rows.push([10e6 * k + 1, 10e6 * k, acq, L, 100 + k, A], [10e6 * k + 5e6, null, rel, U, 100 + k, A]);
    rows.push([500e6, 2, acq, L, 1, A], [510e6, null, rel, U, 1, A]); // asked at 2 ns, during the first hold
    const waiter = joinEvents(calls(rows)).acquisitions.find((a) => a.tid === 1)!;
    assert.deepEqual([waiter.contended, waiter.blockerTid, waiter.wait], [true, null, 500e6 - 2]);
  });

  test('a call that never returned is a request row at the end: waiting at the end', () => {
    const j = joinEvents(calls([[1, 0, acq, L, 1, A], [3, null, req, L, 2, A]]));
    assert.deepEqual(j.open.map((o) => [o.kind, o.tid, o.ts]).sort(), [['held-at-end', 1, 1], ['waiting-at-end', 2, 3]]);
  });
});

