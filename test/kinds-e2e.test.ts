// tier: probes
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { before, describe, test } from 'node:test';

import type { Report } from '../analyzer/report';
import { EBUSY, ETIMEDOUT, Func, Stage } from '../core/events';
import { address, join, mutexAnalyze, mutexRec, openRun, type Joined } from './lib/tools';
import { parseLines, scratchDir, workload } from './lib/workloads';

/**
 * pthread rwlocks, spin locks and condition variables recorded from workloads that measure their
 * own waits and holds (test/workloads/rwlock.c, condvar.c, shared_mutex.cc), and CPython's GIL.
 */

const HOLD_MS = 100;
const TOLERANCE = 0.005; // 0.5%, as for mutexes (test/recorder.test.ts)

let dir: string;
before(() => {
  dir = scratchDir();
});

/** Records `args` and joins the run as recorded (raw: the workload's own clock readings bracket the probes). */
async function record(name: string, args: string[]): Promise<{ out: string; path: string; joined: Joined; run: Record<string, unknown> }> {
  const path = joinPath(dir, `${name}.db`);
  const r = await mutexRec(['-o', path, '--', ...args]);
  assert.equal(r.code, 0, r.stderr);
  const runFile = openRun(path);
  const joined = join(runFile.events);
  const run = runFile.run;
  runFile.db.close();
  return { out: r.stdout, path, joined, run };
}

function near(recorded: number, truth: number, what: string): void {
  assert.ok(Math.abs(recorded - truth) <= TOLERANCE * truth, `${what}: recorded ${recorded} ns, measured ${truth} ns`);
}

async function reportJson(path: string, args: string[] = []): Promise<Report> {
  const r = await mutexAnalyze(['report', path, '--format', 'json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

describe('pthread rwlocks (test/workloads/rwlock.c rw)', () => {
  let rec: Awaited<ReturnType<typeof record>>;
  let lock: number;
  before(async () => {
    rec = await record('rwlock', [workload('rwlock'), 'rw', String(HOLD_MS)]);
    lock = address(parseLines(rec.out, 'calls')[0].lock);
  });

  test('two readers hold it at once, each its own hold, as the workload measured them', () => {
    const measured = parseLines(rec.out, 'rhold');
    assert.equal(measured.length, 2);
    for (const m of measured) {
      const [a] = rec.joined.acquisitions.filter((x) => x.tid === Number(m.tid) && x.lock === lock);
      assert.equal(a.kind, 'pthread_rwlock:R');
      near(a.hold!, Number(m.released_ns) - Number(m.acquired_ns), `read hold of tid ${m.tid}`);
    }
    assert.equal(rec.run.drop_count, 0);
  });

  test("the writer's wait for both readers is contended, the readers its blockers (the last to let go first)", () => {
    const [m] = parseLines(rec.out, 'wwait');
    const [h] = parseLines(rec.out, 'whold');
    const readers = parseLines(rec.out, 'rhold').sort((a, b) => Number(b.released_ns) - Number(a.released_ns));
    const [w] = rec.joined.acquisitions.filter((x) => x.tid === Number(m.tid) && x.lock === lock);
    assert.equal(w.kind, 'pthread_rwlock:W');
    near(w.wait!, Number(m.acquired_ns) - Number(m.request_ns), "writer's wait");
    near(w.hold!, Number(h.released_ns) - Number(h.acquired_ns), "writer's hold");
    assert.equal(w.contended, true);
    assert.equal(w.blockerTid, Number(readers[0].tid));
    assert.deepEqual(w.blockerTids?.sort(), readers.map((r) => Number(r.tid)).sort());
  });

  test('a reader waits for the writer', () => {
    const [m] = parseLines(rec.out, 'rwait');
    const [w] = parseLines(rec.out, 'whold');
    const [r] = rec.joined.acquisitions.filter((x) => x.tid === Number(m.tid) && x.lock === lock);
    near(r.wait!, Number(m.acquired_ns) - Number(m.request_ns), "reader's wait");
    assert.deepEqual([r.contended, r.blockerTid], [true, Number(w.tid)]);
  });

  test('a reader taking it twice holds it once, from the outer lock to the outer unlock', () => {
    const [m] = parseLines(rec.out, 'recursive');
    const holds = rec.joined.acquisitions.filter((x) => x.tid === Number(m.tid) && x.lock === lock && x.recursiveEntries > 0);
    assert.equal(holds.length, 1);
    near(holds[0].hold!, Number(m.released_ns) - Number(m.acquired_ns), 'nested read hold');
  });

  test('every rdlock, wrlock, try, timed and clock call and unlock once, failures apart', () => {
    const [c] = parseLines(rec.out, 'calls');
    const runFile = openRun(rec.path);
    const ev = runFile.events.filter((e) => e.lock === lock);
    runFile.db.close();
    const count = (func: number, ret?: number): number => ev.filter((e) => e.stage === Stage.Acquired && e.func === func && (ret === undefined || e.ret === ret)).length;
    // the threaded part adds three rdlocks (two readers, the late one), one wrlock and the blocking reader's and writer's own
    assert.equal(count(Func.PthreadRwlockRdlock, 0), Number(c.rdlock) + Number(c.recursive_rdlock) + 3 + 1);
    assert.equal(count(Func.PthreadRwlockWrlock, 0), Number(c.wrlock) + 1 + 1);
    assert.equal(count(Func.PthreadRwlockTryrdlock, 0), Number(c.tryrdlock_ok));
    assert.equal(count(Func.PthreadRwlockTimedrdlock, 0), Number(c.timedrdlock_ok));
    assert.equal(count(Func.PthreadRwlockClockrdlock, 0), Number(c.clockrdlock_ok));
    assert.equal(count(Func.PthreadRwlockTrywrlock, 0), Number(c.trywrlock_ok));
    assert.equal(count(Func.PthreadRwlockTimedwrlock, 0), Number(c.timedwrlock_ok));
    assert.equal(count(Func.PthreadRwlockClockwrlock, 0), Number(c.clockwrlock_ok));
    assert.equal(count(Func.PthreadRwlockTrywrlock, EBUSY), Number(c.trywrlock_busy));
    assert.equal(count(Func.PthreadRwlockTimedwrlock, ETIMEDOUT), Number(c.timedwrlock_timeout));
    assert.equal(count(Func.PthreadRwlockTryrdlock, EBUSY), Number(c.tryrdlock_busy));
    assert.equal(ev.filter((e) => e.stage === Stage.Released && e.func === Func.PthreadRwlockUnlock).length, Number(c.unlock) + 3 + 1 + 2);
    // the failed write attempts ran into the blocking reader
    const failed = rec.joined.failed.filter((f) => f.lock === lock && f.kind === 'pthread_rwlock:W');
    assert.equal(failed.length, Number(c.trywrlock_busy) + Number(c.timedwrlock_timeout));
    assert.ok(failed.every((f) => f.contended && f.blockerTid !== null), JSON.stringify(failed));
    assert.deepEqual(rec.joined.anomalies, []);
    assert.deepEqual(rec.joined.open.filter((o) => o.lock === lock), []);
  });

  test('report: the read and write sides are rows of their own, named as the lock; --kind picks them', async () => {
    const key = `0x${lock.toString(16)}`;
    const all = await reportJson(rec.path);
    const sides = all.rows.filter((r) => r.key.startsWith(`${key}:`));
    assert.deepEqual(sides.map((r) => [r.key, r.kind, r.name]).sort(), [[`${key}:R`, 'pthread_rwlock:R', 'rw:R'], [`${key}:W`, 'pthread_rwlock:W', 'rw:W']]);
    const w = sides.find((r) => r.kind === 'pthread_rwlock:W')!;
    assert.equal(w.contended, 1); // the writer's wait on the readers; the failed attempts are not acquisitions, they are listed apart
    assert.deepEqual(w.failed, { EBUSY: 1, ETIMEDOUT: 1 });
    // uncontended write locks, net of the calibrated probes: the goal for an uncontended lock (wait p50 <= 2 µs)
    assert.ok(w.wait!.p50 <= 2000, `write-lock wait p50 ${w.wait!.p50} ns`);
    const rwOnly = await reportJson(rec.path, ['--kind', 'rwlock']);
    assert.ok(rwOnly.rows.length >= 2 && rwOnly.rows.every((r) => r.kind.startsWith('pthread_rwlock')), JSON.stringify(rwOnly.rows.map((r) => r.kind)));
    assert.equal(rwOnly.conds, null);
    const mutexOnly = await reportJson(rec.path, ['--kind', 'mutex']);
    assert.ok(mutexOnly.rows.every((r) => !r.kind.startsWith('pthread_rwlock')));
    const text = await mutexAnalyze(['report', rec.path, '--lock', `${key}:R`]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^Threads on lock ${key}:$`, 'm'));
  });
});

describe('pthread spin locks (test/workloads/rwlock.c spin)', () => {
  let rec: Awaited<ReturnType<typeof record>>;
  before(async () => {
    rec = await record('spin', [workload('rwlock'), 'spin', String(HOLD_MS)]);
  });

  test('the hold and the spinning wait, as the workload measured them; trylock EBUSY; no lock held at the start for pthread_spin_init', () => {
    const [h] = parseLines(rec.out, 'shold');
    const [w] = parseLines(rec.out, 'swait');
    const [c] = parseLines(rec.out, 'spincalls');
    const lock = address(h.lock);
    const [held] = rec.joined.acquisitions.filter((a) => a.tid === Number(h.tid) && a.lock === lock);
    assert.equal(held.kind, 'pthread_spin');
    near(held.hold!, Number(h.released_ns) - Number(h.acquired_ns), 'spin hold');
    const [waited] = rec.joined.acquisitions.filter((a) => a.tid === Number(w.tid) && a.lock === lock);
    near(waited.wait!, Number(w.acquired_ns) - Number(w.request_ns), 'spin wait');
    assert.deepEqual([waited.contended, waited.blockerTid], [true, Number(h.tid)]);
    assert.deepEqual(rec.joined.failed.filter((f) => f.lock === lock).map((f) => [f.ret, f.tid]), [[EBUSY, Number(w.tid)]]);
    assert.equal(rec.joined.acquisitions.filter((a) => a.lock === lock).length, Number(c.lock_calls) + Number(c.trylock_ok) + 2);
    assert.deepEqual(rec.joined.open.filter((o) => o.lock === lock), []);
    assert.deepEqual(rec.joined.anomalies, []);
  });
});

describe('condition variables (test/workloads/condvar.c)', () => {
  const WAIT_MS = 40;
  let rec: Awaited<ReturnType<typeof record>>;
  let conds: Record<string, string>;
  before(async () => {
    rec = await record('condvar', [workload('condvar'), String(WAIT_MS)]);
    conds = parseLines(rec.out, 'conds')[0];
  });

  test('each cond wait, entry to return, as the workload measured it, with its mutex and result', () => {
    const measured = parseLines(rec.out, 'condwait');
    assert.equal(rec.joined.condWaits.length, measured.length);
    for (const m of measured) {
      const candidates = rec.joined.condWaits.filter((w) => w.tid === Number(m.tid) && w.cond === address(m.cond));
      const truth = Number(m.end_ns) - Number(m.begin_ns);
      const w = candidates.find((c) => Math.abs(c.wait - truth) <= TOLERANCE * truth);
      assert.ok(w, `no recorded wait of tid ${m.tid} within 0.5% of ${truth} ns: ${candidates.map((c) => c.wait).join(', ')}`);
      assert.deepEqual([w.mutex, w.ret], [address(m.mutex), Number(m.rc)]);
    }
  });

  test('report: timeouts, signals, broadcasts, signals that found no waiter, and the mutex of each cond', async () => {
    const report = await reportJson(rec.path);
    const quiet = report.conds!.rows.find((c) => c.key === conds.quiet)!;
    const ready = report.conds!.rows.find((c) => c.key === conds.ready)!;
    assert.deepEqual(
      [quiet.name, quiet.kind, quiet.waits, quiet.timeouts, quiet.signals, quiet.wakesWithoutWaiters, quiet.mutexes.map((m) => m.name)],
      ['quiet', 'pthread_cond', Number(conds.timeouts) + Number(conds.clockwait_timeouts), Number(conds.timeouts) + Number(conds.clockwait_timeouts), Number(conds.idle_signals), Number(conds.idle_signals), ['quiet_lock']],
    );
    const readyWaits = parseLines(rec.out, 'condwait').filter((m) => m.cond === conds.ready);
    assert.deepEqual(
      [ready.name, ready.waits, ready.timeouts, ready.signals, ready.broadcasts, ready.wakesWithoutWaiters, ready.mutexes.map((m) => m.name)],
      ['ready', readyWaits.length, 0, Number(conds.signals), Number(conds.broadcasts), 0, ['ready_lock']],
    );
    const truth = readyWaits.reduce((n, m) => n + Number(m.end_ns) - Number(m.begin_ns), 0);
    assert.ok(Math.abs(ready.wait!.total - truth) <= TOLERANCE * truth, `total wait ${ready.wait!.total} vs ${truth}`);
    const text = await mutexAnalyze(['report', rec.path, '--kind', 'cond']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Top 2 of 2 condition variables \(--kind cond\) by total wait:$/m);
    assert.doesNotMatch(text.stdout, /locks by contended wait/);
    const one = await mutexAnalyze(['report', rec.path, '--lock', conds.ready]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, new RegExp(`^Threads waiting on cond ${conds.ready}:$`, 'm'));
  });
});

describe('C++ std::shared_mutex (a pthread rwlock; test/workloads/shared_mutex.cc)', () => {
  test("the writer's hold, the reader's wait for it, and two readers sharing it", async () => {
    const rec = await record('shared_mutex', [workload('shared_mutex'), String(HOLD_MS)]);
    const [h] = parseLines(rec.out, 'whold');
    const [w] = parseLines(rec.out, 'rwait');
    const shared = parseLines(rec.out, 'rhold');
    const lock = address(h.lock);
    const [writer] = rec.joined.acquisitions.filter((a) => a.tid === Number(h.tid) && a.lock === lock);
    assert.equal(writer.kind, 'pthread_rwlock:W');
    near(writer.hold!, Number(h.released_ns) - Number(h.acquired_ns), 'unique_lock hold');
    const [reader] = rec.joined.acquisitions.filter((a) => a.tid === Number(w.tid) && a.lock === lock);
    near(reader.wait!, Number(w.acquired_ns) - Number(w.request_ns), 'shared_lock wait');
    assert.deepEqual([reader.kind, reader.contended, reader.blockerTid], ['pthread_rwlock:R', true, Number(h.tid)]);
    for (const m of shared) {
      const [a] = rec.joined.acquisitions.filter((x) => x.tid === Number(m.tid) && x.lock === lock);
      near(a.hold!, Number(m.released_ns) - Number(m.acquired_ns), `shared hold of tid ${m.tid}`);
    }
    const report = await reportJson(rec.path);
    const key = `0x${lock.toString(16)}`;
    assert.deepEqual(report.rows.filter((r) => r.key.startsWith(key)).map((r) => r.name).sort(), ['table:R', 'table:W']);
  });
});

describe("CPython's GIL: a mutex and a condition variable", () => {
  const PYTHON = '/usr/bin/python3';
  const THREADS = 4;
  const SECONDS = 2;
  const SCRIPT = [
    'import threading, time',
    'def work(end):',
    '    while time.monotonic() < end: pass',
    `end = time.monotonic() + ${SECONDS}`,
    `ts = [threading.Thread(target=work, args=(end,)) for _ in range(${THREADS})]`,
    'start = time.monotonic_ns()',
    '[t.start() for t in ts]; [t.join() for t in ts]',
    'print(f"work start_ns={start} end_ns={time.monotonic_ns()}")',
  ].join('\n');

  test(`${THREADS} threads of pure Python: the GIL's condition shows about ${THREADS - 1} threads x the run of waiting, most of it timed out`, { skip: !existsSync(PYTHON) && `no ${PYTHON}` }, async () => {
    const path = joinPath(dir, 'python.db');
    const r = await mutexRec(['-o', path, '--', PYTHON, '-c', SCRIPT]);
    assert.equal(r.code, 0, r.stderr);
    const [work] = parseLines(r.stdout, 'work');
    const runNs = Number(work.end_ns) - Number(work.start_ns);
    const report = await reportJson(path, ['--kind', 'cond']);
    const [gil] = report.conds!.rows; // the most waited on
    const expected = (THREADS - 1) * runNs;
    assert.ok(gil.wait!.total >= 0.7 * expected && gil.wait!.total <= 1.02 * expected, `GIL cond waited ${gil.wait!.total} ns in all, ${THREADS - 1} x the run is ${expected} ns`);
    assert.ok(gil.timeouts > gil.waits / 2, `${gil.timeouts} of ${gil.waits} waits timed out (the 5 ms switch interval)`);
    assert.match(gil.name, /^_PyRuntime\+0x[0-9a-f]+$/);
    assert.match(gil.mutexes[0].name, /^_PyRuntime\+0x[0-9a-f]+$/);
    // and each worker waited for a good part of the run
    const perThread = await reportJson(path, ['--kind', 'cond', '--by', 'thread']);
    const workers = perThread.conds!.rows.filter((t) => t.wait && t.wait.total > 0.3 * runNs);
    assert.equal(workers.length, THREADS, JSON.stringify(perThread.conds!.rows.map((t) => [t.key, t.wait?.total])));
  });
});
