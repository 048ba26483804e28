// tier: probes
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { after, before, describe, test } from 'node:test';

import Database from 'better-sqlite3';

import { EBUSY, ETIMEDOUT, Func, Stage } from '../core/events';
import { parseLines, scratchDir, workload } from './lib/workloads';
import { MUTEX_REC, address, collect, join, mutexAnalyze, mutexRec, openRun, relativeNs, run, waitFor } from './lib/tools';

const ORIGIN_HOLDS = 4;
const ORIGIN_HOLD_MS = 300;
const TOLERANCE = 0.005; // 0.5%

let dir: string;
let mw: string;
before(() => {
  dir = scratchDir();
  mw = workload('mutex_workload');
});

describe("the origin's experiment in user space: holds across a 300 ms sleep", () => {
  let out: string;
  let runPath: string;
  before(async () => {
    runPath = joinPath(dir, 'origin.db');
    const r = await mutexRec(['-o', runPath, '--', mw, 'origin', String(ORIGIN_HOLDS), String(ORIGIN_HOLD_MS)]);
    assert.equal(r.code, 0, r.stderr);
    out = r.stdout;
  });

  test('each recorded hold matches the workload\'s own measurement within 0.5%', () => {
    const measured = parseLines(out, 'hold');
    assert.equal(measured.length, ORIGIN_HOLDS);
    const runFile = openRun(runPath);
    const lock = address(measured[0].lock);
    const recorded = join(runFile.events).acquisitions.filter((a) => a.lock === lock && a.tid === Number(measured[0].tid));
    assert.equal(recorded.length, ORIGIN_HOLDS);
    for (const [i, m] of measured.entries()) {
      const truth = Number(m.released_ns) - Number(m.acquired_ns);
      const hold = recorded[i].hold!;
      assert.ok(Math.abs(hold - truth) <= TOLERANCE * truth, `hold ${i}: recorded ${hold} ns, measured ${truth} ns`);
      // and the stage times themselves are on the workload's clock
      assert.ok(Math.abs(recorded[i].acquiredTs - relativeNs(runFile, m.acquired_ns)) < 1e6);
      assert.ok(Math.abs(recorded[i].releasedTs! - relativeNs(runFile, m.released_ns)) < 1e6);
    }
    assert.equal(runFile.run.drop_count, 0);
    runFile.db.close();
  });

  test("--print shows each acquisition live in the origin's format, as mutex-analyze events does afterwards", async () => {
    const printPath = joinPath(dir, 'print.db');
    const r = await mutexRec(['--print', '-o', printPath, '--', mw, 'origin', '2', String(ORIGIN_HOLD_MS)]);
    assert.equal(r.code, 0, r.stderr);
    const measured = parseLines(r.stdout, 'hold');
    const lock = measured[0].lock.replace(/^0x/, '');
    // PID TID COMM LOCK MUTEX_ACQ_TIME MUTEX_LOCK_TIME MUTEX_UNLOCK_TIME ACQ_TIME(us) HOLD_TIME(us)
    const rows = (text: string): string[][] =>
      text.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 9 && f[3] === `0x${lock}` && f[1] === measured[0].tid);
    const live = rows(r.stdout);
    assert.equal(live.length, 2, r.stdout);
    // The times are as recorded; the wait and hold are net of the probe cost measured at the start.
    const costRun = openRun(printPath);
    const cost = JSON.parse(String(costRun.run.probe_cost)) as { waitNs: number; holdNs: number };
    costRun.db.close();
    for (const [i, m] of measured.entries()) {
      const [, , , , requested, acquired, released, wait, hold] = live[i].map(Number);
      const truthUs = (Number(m.released_ns) - Number(m.acquired_ns)) / 1000;
      assert.ok(Math.abs(hold - truthUs) <= TOLERANCE * truthUs, `hold ${i}: printed ${hold} µs, measured ${truthUs} µs`);
      const net = (rawUs: number, costNs: number): number => Math.max(0, rawUs - costNs / 1000);
      assert.ok(Math.abs(net(acquired - requested, cost.waitNs) - wait) < 0.002 && Math.abs(net(released - acquired, cost.holdNs) - hold) < 0.002, live[i].join(' '));
    }
    const offline = await mutexAnalyze(['events', printPath, '--tid', measured[0].tid]);
    assert.equal(offline.code, 0, offline.stderr);
    assert.deepEqual(rows(offline.stdout), live);
  });

  test('the blocked thread waits what its own measurement says, within 0.5%', () => {
    const [m] = parseLines(out, 'wait');
    const runFile = openRun(runPath);
    const waits = join(runFile.events).acquisitions.filter((a) => a.tid === Number(m.tid) && a.lock === address(m.lock));
    assert.equal(waits.length, 1);
    const truth = Number(m.acquired_ns) - Number(m.request_ns);
    assert.ok(truth > 0.5 * ORIGIN_HOLD_MS * 1e6, `the waiter did not block: ${truth} ns`);
    assert.ok(Math.abs(waits[0].wait! - truth) <= TOLERANCE * truth, `recorded ${waits[0].wait} ns, measured ${truth} ns`);
    assert.equal(waits[0].contended, true);
    runFile.db.close();
  });
});

describe('every call of every kind, exactly once', () => {
  let out: string;
  let runPath: string;
  before(async () => {
    runPath = joinPath(dir, 'calls.db');
    const r = await mutexRec(['-o', runPath, '--', mw, '--first-lock', 'calls']);
    assert.equal(r.code, 0, r.stderr);
    out = r.stdout;
  });

  test('lock, trylock, timedlock, clocklock and unlock calls appear once each, with no drops', () => {
    const [c] = parseLines(out, 'calls');
    const runFile = openRun(runPath);
    assert.equal(runFile.run.drop_count, 0);
    const lock = address(c.lock);
    const ev = runFile.events.filter((e) => e.lock === lock);
    const count = (stage: number, func: number, ret?: number): number =>
      ev.filter((e) => e.stage === stage && e.func === func && (ret === undefined || e.ret === ret)).length;
    // A call is one acquired event carrying its request time; no request rows (every call returned).
    assert.equal(count(Stage.Request, Func.PthreadMutexLock), 0);
    assert.ok(ev.every((e) => e.stage !== Stage.Acquired || (e.requestTs !== null && e.requestTs! <= e.ts)), 'acquired events carry their request time');
    // The workload's blocker thread adds one lock/unlock pair of its own.
    assert.equal(count(Stage.Acquired, Func.PthreadMutexLock, 0), Number(c.lock_calls) + 1);
    assert.equal(count(Stage.Acquired, Func.PthreadMutexTrylock, 0), Number(c.trylock_ok));
    assert.equal(count(Stage.Acquired, Func.PthreadMutexTrylock, EBUSY), Number(c.trylock_busy));
    assert.equal(count(Stage.Acquired, Func.PthreadMutexTimedlock, 0), Number(c.timedlock_ok));
    assert.equal(count(Stage.Acquired, Func.PthreadMutexTimedlock, ETIMEDOUT), Number(c.timedlock_timeout));
    assert.equal(count(Stage.Acquired, Func.PthreadMutexClocklock, 0), Number(c.clocklock_ok));
    assert.equal(count(Stage.Released, Func.PthreadMutexUnlock), Number(c.unlock_calls) + 1);
    assert.equal(ev.length, (Number(c.lock_calls) + 1 + Number(c.trylock_ok) + Number(c.trylock_busy) + Number(c.timedlock_ok) + Number(c.timedlock_timeout) + Number(c.clocklock_ok)) + Number(c.unlock_calls) + 1);
    runFile.db.close();
  });

  test('a failed trylock (EBUSY) and a timedlock timeout (ETIMEDOUT) are never acquisitions', () => {
    const [c] = parseLines(out, 'calls');
    const runFile = openRun(runPath);
    const joined = join(runFile.events.filter((e) => e.lock === address(c.lock)));
    const successes = Number(c.lock_calls) + 1 + Number(c.trylock_ok) + Number(c.timedlock_ok) + Number(c.clocklock_ok);
    assert.equal(joined.acquisitions.length, successes);
    assert.deepEqual(
      joined.failed.map((f) => f.ret).sort(),
      [...Array(Number(c.trylock_busy)).fill(EBUSY), ...Array(Number(c.timedlock_timeout)).fill(ETIMEDOUT)].sort(),
    );
    // a timed-out timedlock waited about its 30 ms timeout
    for (const f of joined.failed.filter((x) => x.ret === ETIMEDOUT)) assert.ok(f.returnTs - f.requestTs >= 29e6);
    assert.deepEqual(joined.anomalies, []);
    runFile.db.close();
  });

  test('a condition-variable wait does not count as hold', () => {
    const [c] = parseLines(out, 'cond');
    const runFile = openRun(runPath);
    const holds = join(runFile.events.filter((e) => e.lock === address(c.lock))).acquisitions;
    assert.equal(holds.length, 2);
    const before = Number(c.wait_begin_ns) - Number(c.acquired_ns);
    const afterWait = Number(c.released_ns) - Number(c.wait_end_ns);
    assert.ok(Math.abs(holds[0].hold! - before) <= TOLERANCE * before, `hold before the wait: ${holds[0].hold} vs ${before}`);
    assert.ok(Math.abs(holds[1].hold! - afterWait) <= TOLERANCE * afterWait, `hold after the wait: ${holds[1].hold} vs ${afterWait}`);
    assert.equal(holds[1].func, Func.PthreadCondTimedwait);
    assert.equal(holds[1].wait, null);
    runFile.db.close();
  });

  test("a launched command's first lock is captured", () => {
    const [f] = parseLines(out, 'first');
    const runFile = openRun(runPath);
    const first = runFile.events.filter((e) => e.lock === address(f.lock));
    assert.deepEqual(first.map((e) => e.stage), [Stage.Acquired, Stage.Released]);
    assert.equal(runFile.run.launched, 1);
    assert.match(String(runFile.run.end_reason), /target exited \(code 0\)/);
    runFile.db.close();
  });
});

describe('attaching to a running process', () => {
  test('threads created after attach are captured, and the recording ends when the target exits', async () => {
    const runPath = joinPath(dir, 'attach.db');
    const target = spawn(mw, ['--wait-go', 'calls'], { stdio: ['pipe', 'pipe', 'inherit'] });
    after(() => target.kill('SIGKILL'));
    const targetOut = collect(target, 60_000);
    const [, pid] = await waitFor(target.stdout!, /ready pid=(\d+)/);
    const recorder = spawn(process.execPath, [MUTEX_REC, '--pid', pid, '-o', runPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    after(() => recorder.kill('SIGKILL'));
    const recorderOut = collect(recorder, 60_000);
    await waitFor(recorder.stderr!, /mutex-rec: recording .* of pid/);
    target.stdin!.end('go\n');
    const t = await targetOut;
    const r = await recorderOut;
    assert.equal(r.code, 0, r.stderr);
    const [c] = parseLines(t.stdout, 'calls');
    const runFile = openRun(runPath);
    const callerEvents = runFile.events.filter((e) => e.tid === Number(c.tid) && e.lock === address(c.lock));
    assert.ok(callerEvents.length > 100, `only ${callerEvents.length} events of the new thread`);
    const thread = runFile.db.prepare('SELECT comm FROM threads WHERE tid = ?').get(Number(c.tid)) as { comm: string } | undefined;
    assert.equal(thread?.comm, 'mutex_workload');
    assert.match(String(runFile.run.end_reason), /target exited/);
    assert.equal(runFile.run.target_pid, Number(pid));
    runFile.db.close();
  });

  test('the file is readable while recording, and a SIGKILLed recorder leaves a file that opens', async () => {
    const runPath = joinPath(dir, 'killed.db');
    const target = spawn(mw, ['--wait-go', 'origin', '40', '50'], { stdio: ['pipe', 'pipe', 'inherit'] });
    after(() => target.kill('SIGKILL'));
    const [, pid] = await waitFor(target.stdout!, /ready pid=(\d+)/);
    const recorder = spawn(process.execPath, [MUTEX_REC, '--pid', pid, '-o', runPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    after(() => recorder.kill('SIGKILL'));
    await waitFor(recorder.stderr!, /mutex-rec: recording .* of pid/);
    target.stdin!.end('go\n');
    await new Promise((r) => setTimeout(r, 2000));
    const live = openRun(runPath);
    assert.ok(live.events.length > 0, 'no events visible while recording');
    live.db.close();
    const killedAt = process.hrtime.bigint();
    recorder.kill('SIGKILL');
    await new Promise((r) => recorder.on('close', r));
    target.kill('SIGKILL');
    const finished = openRun(runPath);
    assert.equal(finished.run.end_reason, null);
    const lastTs = finished.events[finished.events.length - 1].ts;
    const lostNs = Number(killedAt - finished.startMonotonicNs) - lastTs;
    assert.ok(lostNs < 1.5e9, `last event ${lostNs / 1e6} ms before the kill`);
    finished.db.close();
  });
});

describe('--write-at-stop: events kept raw while recording, written as rows at the stop', () => {
  test('the same rows as recording them live: every call once, holds within 0.5% of the workload\'s measurement, nothing left raw', async () => {
    const runPath = joinPath(dir, 'at-stop.db');
    const r = await mutexRec(['--write-at-stop', '-o', runPath, '--', mw, 'origin', '2', String(ORIGIN_HOLD_MS)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /wrote [\d,]+ events in/);
    const measured = parseLines(r.stdout, 'hold');
    const runFile = openRun(runPath);
    assert.equal(runFile.db.prepare('SELECT count(*) FROM event_spool').pluck().get(), 0);
    assert.equal(runFile.events.length, runFile.run.event_count);
    const holds = join(runFile.events).acquisitions.filter((a) => a.lock === address(measured[0].lock) && a.tid === Number(measured[0].tid));
    assert.equal(holds.length, 2);
    for (const [i, m] of measured.entries()) {
      const truth = Number(m.released_ns) - Number(m.acquired_ns);
      assert.ok(Math.abs(holds[i].hold! - truth) <= TOLERANCE * truth, `hold ${i}: recorded ${holds[i].hold} ns, measured ${truth} ns`);
    }
    assert.deepEqual(join(runFile.events).anomalies, []);
    runFile.db.close();
  });

  test('a recorder killed before the stop leaves its events raw, and mutex-analyze reads them with a warning', async () => {
    const runPath = joinPath(dir, 'at-stop-killed.db');
    const recorder = spawn(process.execPath, [MUTEX_REC, '--write-at-stop', '-o', runPath, '--', mw, 'origin', '6', '200'], { stdio: ['ignore', 'pipe', 'pipe'] });
    after(() => recorder.kill('SIGKILL'));
    let stdout = '';
    recorder.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    await waitFor(recorder.stderr!, /mutex-rec: recording .* of pid/);
    await new Promise((r) => setTimeout(r, 800));
    recorder.kill('SIGKILL');
    await new Promise((r) => recorder.on('close', r));
    const db = new Database(runPath, { readonly: true });
    const [rows, spooled, pid] = [
      db.prepare('SELECT count(*) FROM events').pluck().get(),
      db.prepare('SELECT coalesce(sum(count), 0) FROM event_spool').pluck().get() as number,
      db.prepare('SELECT target_pid FROM run').pluck().get() as number,
    ];
    db.close();
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone with its parent
    }
    assert.equal(rows, 0);
    assert.ok(spooled > 0, 'raw events in event_spool');
    const holdsBefore = parseLines(stdout, 'hold').length;
    const report = await mutexAnalyze(['report', runPath, '--format', 'json', '--by', 'thread']);
    assert.equal(report.code, 0, report.stderr);
    const json = JSON.parse(report.stdout) as { warnings: string[]; rows: { acquisitions: number }[] };
    assert.ok(json.warnings.some((w) => /still raw in event_spool/.test(w)), json.warnings.join('; '));
    const acquisitions = json.rows.reduce((n, row) => n + row.acquisitions, 0);
    assert.ok(acquisitions >= holdsBefore && acquisitions > 0, `${acquisitions} acquisitions read from the spool (${holdsBefore} holds printed before the kill)`);
  });
});

describe('bad input: one line, exit code 2, nothing lost', () => {
  const oneLine = (stderr: string): void => assert.equal(stderr.trim().split('\n').length, 1, stderr);

  test('no such pid', async () => {
    const r = await mutexRec(['--pid', '999999999', '-o', joinPath(dir, 'x.db')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no process with pid 999999999/);
    oneLine(r.stderr);
  });

  test('an existing output file is untouched without --force', async () => {
    const path = joinPath(dir, 'precious.db');
    writeFileSync(path, 'precious');
    const r = await mutexRec(['-o', path, '--', mw, 'calls']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /already exists: pass --force/);
    assert.equal(readFileSync(path, 'utf8'), 'precious');
    oneLine(r.stderr);
  });

  test('an unwritable output directory', async () => {
    const r = await mutexRec(['-o', '/nonexistent-dir/run.db', '--', mw, 'calls']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot write to \/nonexistent-dir/);
    oneLine(r.stderr);
  });

  test('a target without a pthread library (static, no C library: --lib cannot help, --contention can)', async () => {
    const bare = workload('no_libc', ['-static', '-nostdlib']);
    const target = spawn(bare, [], { stdio: 'ignore' });
    try {
      const r = await mutexRec(['--pid', String(target.pid), '-o', joinPath(dir, 'bare.db')]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /has no pthread library mapped: it is statically linked without a C library: .*record them with --contention/);
      assert.doesNotMatch(r.stderr, /--lib/);
      assert.equal(existsSync(joinPath(dir, 'bare.db')), false);
      oneLine(r.stderr);
    } finally {
      target.kill('SIGKILL');
    }
  });

  test('a command that does not exist', async () => {
    const r = await mutexRec(['-o', joinPath(dir, 'none.db'), '--', 'no-such-command-xyz']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /command not found/);
    oneLine(r.stderr);
  });

  test('not root', async () => {
    // Without any capability (what the recorder checks). Dropping them, rather than switching to
    // nobody, keeps the checkout readable wherever it is (a fresh clone in `mktemp -d` is 0700).
    const r = await run('setpriv', ['--bounding-set=-all', '--inh-caps=-all', process.execPath, MUTEX_REC, '--pid', '1', '-o', '/tmp/x.db']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /needs root .*sudo/);
    oneLine(r.stderr);
  });

  test('a BPF load failure carries libbpf\'s reason in one line, and leaves no file', async () => {
    const path = joinPath(dir, 'load-fail.db');
    const r = await mutexRec(['--ringbuf-mb', '4096', '-o', path, '--', mw, 'calls']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cannot (load|size)/);
    assert.equal(existsSync(path), false);
    oneLine(r.stderr);
  });
});

