// tier: probes
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join as joinPath } from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { Diff } from '../analyzer/diff';
import type { LockOrderReport } from '../analyzer/lockorder';
import { EDEADLK, Func, MutexFlag, Stage } from '../core/events';
import type { OpenItem } from '../core/join';
import { parseLines, scratchDir, workload } from './lib/workloads';
import { MUTEX_REC, address, collect, join, mutexAnalyze, mutexRec, openRun, waitFor, type RunFile } from './lib/tools';

/**
 * `mutex-rec --pid` on a target that is already busy when the probes are attached (issue 10):
 * the recording window, held-at-start edges, mutex types read from the mutexes, and an A/A diff.
 */

const DURATION_S = 2;
const WINDOW_TOLERANCE_NS = 50e6;
const WORKERS = 4;

let dir: string;
let target: ChildProcess;
let targetOut: Promise<{ stdout: string }>;
let ready: { pid: number; locks: Record<string, number> };
let first: RunFile;
let firstPath: string;
let secondPath: string;
let report: { workers: Record<string, string>[]; maxHold: Map<number, number>; holder: Record<string, string> };

before(async () => {
  dir = scratchDir();
  const exe = workload('busy_server');
  target = spawn(exe, ['nested', String(WORKERS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  targetOut = collect(target, 180_000);
  const m = await waitFor(target.stdout!, /locks shared=(\S+) shared2=(\S+) rec=(\S+) err=(\S+)\nready pid=(\d+)/);
  ready = {
    pid: Number(m[5]),
    locks: { shared: address(m[1]), shared2: address(m[2]), rec: address(m[3]), err: address(m[4]) },
  };
  await sleep(400); // busy before the probes come: every lock is being taken and released
  firstPath = joinPath(dir, 'busy-a.db');
  secondPath = joinPath(dir, 'busy-b.db');
  // The holder keeps its recursive and error-checking mutexes until the recording has started.
  const recorder = spawn(process.execPath, [MUTEX_REC, '--pid', String(ready.pid), '-d', String(DURATION_S), '-o', firstPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const recorded = collect(recorder, 60_000);
  await waitFor(recorder.stderr!, /recording/);
  await sleep(200);
  process.kill(ready.pid, 'SIGUSR1');
  const a = await recorded;
  assert.equal(a.code, 0, a.stderr);
  const b = await mutexRec(['--pid', String(ready.pid), '-d', String(DURATION_S), '-o', secondPath]);
  assert.equal(b.code, 0, b.stderr);
  target.kill('SIGTERM');
  const { stdout } = await targetOut;
  report = {
    workers: parseLines(stdout, 'worker'),
    maxHold: new Map(parseLines(stdout, 'maxhold').map((l) => [address(l.lock), Number(l.ns)])),
    holder: parseLines(stdout, 'holder')[0],
  };
  first = openRun(firstPath);
});

after(() => {
  first?.db.close();
  target?.kill('SIGKILL');
});

describe('--pid on a target that is busy when the probes are attached', () => {
  test(`the run is the window: ${DURATION_S} s kept (±50 ms), no event before its start or after its end`, () => {
    const endTs = Number(first.run.end_ts);
    assert.ok(Math.abs(endTs - DURATION_S * 1e9) <= WINDOW_TOLERANCE_NS, `end_ts ${endTs} ns`);
    let earliest = Infinity;
    let latest = -Infinity;
    for (const e of first.events) {
      earliest = Math.min(earliest, e.requestTs ?? e.ts, e.ts);
      latest = Math.max(latest, e.ts);
    }
    assert.ok(earliest >= 0, `an event at ${earliest} ns, before the start`);
    assert.ok(latest <= endTs, `an event at ${latest} ns, after the end (${endTs})`);
    assert.ok(latest >= endTs - WINDOW_TOLERANCE_NS, `the busy target's last event is ${(endTs - latest) / 1e6} ms before the end`);
    assert.equal(first.run.drop_count, 0);
  });

  test("every worker's three locks are taken about equally often, each acquisition released, nothing cut", () => {
    const joined = join(first.events);
    assert.deepEqual(joined.anomalies, []);
    assert.ok(joined.open.every((o) => o.kind !== 'hold-cut'));
    for (const w of report.workers) {
      const tid = Number(w.tid);
      const count = (lock: number): number => joined.acquisitions.filter((a) => a.tid === tid && a.lock === lock).length;
      const counts = [count(address(w.own)), count(ready.locks.shared), count(ready.locks.shared2)];
      assert.ok(counts[0] > 100, `worker ${tid}: only ${counts[0]} acquisitions recorded`);
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 2, `worker ${tid}: own/shared/shared2 acquisitions ${counts.join('/')}`);
      assert.ok(counts[0] <= Number(w.n_own), `worker ${tid}: more acquisitions recorded than made`);
    }
  });

  test('no recorded hold is longer than the longest the target measured itself (+ the probes\' cost)', () => {
    // A hold as recorded also spans the return and unlock probes, and a preemption there: the lock
    // is held then, but the target's own clock reads after its lock call returned (16 ms against
    // its 8 ms once in CI, with 5 threads and the test runner on 2 CPUs). A swallowed acquisition
    // makes a hold of the whole recording.
    const slack = 50e6;
    for (const a of join(first.events).acquisitions) {
      const own = report.maxHold.get(a.lock);
      if (own === undefined) continue; // rec and err: held across a sleep by design
      assert.ok(a.hold! <= own + slack, `lock ${a.lock.toString(16)} tid ${a.tid}: recorded hold ${a.hold} ns, the target's longest ${own} ns`);
    }
  });

  test('every thread with events is named, busy as it was while the probes were calibrated', () => {
    const named = new Set((first.db.prepare('SELECT tid FROM threads').all() as { tid: number }[]).map((t) => t.tid));
    const unnamed = [...new Set(first.events.map((e) => e.tid))].filter((tid) => !named.has(tid));
    assert.deepEqual(unnamed, []);
  });

  test('at most one held-at-start, held-at-end and waiting-at-end item per thread and lock', () => {
    const { open } = join(first.events);
    const seen = new Set<string>();
    for (const o of open) {
      const key = `${o.kind}:${o.tid}:${o.lock}`;
      assert.ok(!seen.has(key), `two ${o.kind} items for tid ${o.tid}, lock ${o.lock.toString(16)}`);
      seen.add(key);
    }
    const kinds = (k: OpenItem['kind']): number => open.filter((o) => o.kind === k).length;
    assert.ok(kinds('held-at-start') <= WORKERS * 3 + 2, `${kinds('held-at-start')} held at start`);
  });

  test('a recursive and an error-checking mutex held across the start: one held-at-start each, then normal holds', () => {
    const holder = Number(report.holder.tid);
    const joined = join(first.events);
    const startItems = joined.open.filter((o) => o.kind === 'held-at-start' && o.tid === holder).map((o) => o.lock).sort();
    assert.deepEqual(startItems, [ready.locks.rec, ready.locks.err].sort(), 'the recursive one (depth 2) counts once');
    const releasedAt = startItems.length ? joined.open.find((o) => o.lock === ready.locks.rec)!.ts : 0;
    assert.ok(releasedAt > 0 && releasedAt < DURATION_S * 1e9);
    const recHolds = joined.acquisitions.filter((a) => a.lock === ready.locks.rec);
    assert.ok(recHolds.length > 50, `${recHolds.length} holds of the recursive mutex`);
    assert.ok(recHolds.every((a) => a.recursiveEntries === 1 && a.kind === 'pthread_mutex:recursive'), 'each hold re-entered once');
    const errHolds = joined.acquisitions.filter((a) => a.lock === ready.locks.err);
    assert.ok(errHolds.length > 50 && errHolds.every((a) => a.kind === 'pthread_mutex:errorcheck' && a.recursiveEntries === 0));
    const deadlk = joined.failed.filter((f) => f.lock === ready.locks.err && f.ret === EDEADLK);
    assert.equal(deadlk.length, errHolds.length, 'each re-lock of the error-checking mutex failed with EDEADLK, and is no acquisition');
  });

  test('lockorder finds no cycle: the target always locks in one order', async () => {
    const r = await mutexAnalyze(['lockorder', firstPath, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const order = JSON.parse(r.stdout) as LockOrderReport;
    assert.deepEqual(order.cycles, []);
  });

  // How often an A/A pair is flagged at the default 5 % is random (bench/README.md, "diff: false
  // alarms"): this busy target's contention (4 threads on 2 CPUs) follows the machine's other load,
  // and differs by up to ~2.4x in contended wait/s from one recording to the next when other work
  // shares the CPUs (measured with 3 spinning processes beside it). An `own` hold contains a real
  // wait for `shared`, so its p50 net of the probes moves by a few µs too (CI: 0 -> 5.3 µs, an
  // infinite ratio). What must hold every time: the same locks on both sides, about the same
  // counts, and no change beyond 4x and 100 µs (issue 10 saw +1,070,796,086 %, seconds-long holds,
  // from swallowed acquisitions).
  const beyondWorkload = (name: string, m: { verdict: string | null; base: number | null; new: number | null }): boolean =>
    m.verdict === 'regressed' && !(name.endsWith('P50') && Math.abs((m.new ?? 0) - (m.base ?? 0)) < 100_000);
  test('an A/A diff of two recordings of the same running target: same locks, counts within 2x, nothing regressed beyond 4x and 100 µs', async () => {
    const r = await mutexAnalyze(['diff', firstPath, secondPath, '--threshold', '300', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const diff = JSON.parse(r.stdout) as Diff;
    const regressed = diff.rows.flatMap((row) => Object.entries(row.metrics).filter(([name, m]) => beyondWorkload(name, m)).map(([name, m]) => `${row.lock} ${name} ${m.base} -> ${m.new}`));
    assert.deepEqual(regressed, []);
    const workerLocks = diff.rows.filter((row) => row.lock === 'shared' || row.lock === 'shared2' || /^own/.test(row.lock));
    assert.equal(workerLocks.length, 2 + WORKERS);
    for (const row of workerLocks) {
      assert.equal(row.status, 'matched', row.lock);
      const { base, new: after } = row.acquisitions;
      // how many a thread makes in 2 s follows the CPU it gets (up to ±30 % here when other work
      // starts or stops); swallowed acquisitions made 1 of 8,000
      assert.ok(after <= 2 * base && base <= 2 * after, `${row.lock}: ${base} acquisitions, then ${after}`);
      assert.ok(!beyondWorkload('holdP50', row.metrics.holdP50), `${row.lock}: hold p50 ${JSON.stringify(row.metrics.holdP50)}`);
    }
  });
});

describe('contended = the call had to wait, as the kernel saw it', () => {
  test('every lock call the target saw block is recorded blocked and contended', async () => {
    const path = joinPath(dir, 'blocked.db');
    const r = await mutexRec(['-o', path, '--', workload('busy_server'), 'blocked', '3', '400']);
    assert.equal(r.code, 0, r.stderr);
    const truth = parseLines(r.stdout, 'blocked');
    assert.equal(truth.length, 3);
    const run = openRun(path);
    const joined = join(run.events);
    let blockedTotal = 0;
    for (const t of truth) {
      const tid = Number(t.tid);
      const calls = run.events.filter((e) => e.stage === Stage.Acquired && e.func === Func.PthreadMutexLock && e.tid === tid && e.lock === address(t.lock));
      assert.equal(calls.length, Number(t.calls));
      const blocked = calls.filter((e) => (e.flags! & MutexFlag.Blocked) !== 0).length;
      assert.equal(blocked, Number(t.blocked), `tid ${tid}: recorded ${blocked} blocked calls, the thread counted ${t.blocked}`);
      blockedTotal += blocked;
      const acquisitions = joined.acquisitions.filter((a) => a.tid === tid);
      const contended = acquisitions.filter((a) => a.contended).length;
      assert.ok(contended >= blocked, `tid ${tid}: ${contended} contended < ${blocked} blocked`);
    }
    assert.ok(blockedTotal > 50, `only ${blockedTotal} calls blocked: the workload did not contend`);
    run.db.close();
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
