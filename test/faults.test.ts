// tier: probes
// Issue 12, points 1-7: the recorder and the analyzer under faults (concurrent readers, repeated
// signals, a full disk, a launched target at the stop, SIGKILL, --force on a live file, a long
// --poll-ms). End to end: needs root and real probes; each recording is a second or two.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { after, before, describe, test } from 'node:test';

import Database from 'better-sqlite3';

import { RunFile } from '../runfile/runfile';
import { Func, Stage } from '../core/events';
import { writeRunFile, type SyntheticEvent } from './lib/synthetic';
import { MUTEX_REC, collect, mutexAnalyze, mutexRec, waitFor, type RunResult } from './lib/tools';
import { scratchDir, workload } from './lib/workloads';

let dir: string;
let steady: string;
before(() => {
  dir = scratchDir();
  steady = workload('steady');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A recorder started in the background; resolves once it records. */
async function startRec(args: string[]): Promise<{ child: ChildProcess; done: Promise<RunResult> }> {
  const child = spawn(process.execPath, [MUTEX_REC, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const done = collect(child, 60_000);
  await waitFor(child.stderr!, /mutex-rec: recording /);
  return { child, done };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function runRow(path: string): Record<string, unknown> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT * FROM run').get() as Record<string, unknown>;
  } finally {
    db.close();
  }
}

describe('1. reading a run while it is recorded', () => {
  test('a RunFile reads one snapshot: rows appended after it opened are not read, and its count matches', () => {
    const path = joinPath(dir, 'snapshot.db');
    const events: SyntheticEvent[] = [];
    for (let i = 0; i < 2000; i++) {
      events.push({ ts: 10 * i + 1, requestTs: 10 * i, stage: Stage.Acquired, func: Func.PthreadMutexLock, tid: 7, lock: 0x1000, ret: 0 } as SyntheticEvent);
      events.push({ ts: 10 * i + 5, requestTs: null, stage: Stage.Released, func: Func.PthreadMutexUnlock, tid: 7, lock: 0x1000, ret: 0 } as SyntheticEvent);
    }
    writeRunFile(path, events, { endReason: null });
    const writer = new Database(path);
    writer.pragma('journal_mode = WAL');
    writer.prepare('UPDATE run SET drop_count = 0').run(); // a recorder has written: its -wal exists
    const run = RunFile.open(path);
    try {
      // a live recorder appends after the analyzer opened the file
      const insert = writer.prepare('INSERT INTO events (ts, request_ts, stage, func, pid, tid, lock, ret, caller, cpu) VALUES (?, ?, 1, 1, 100, 7, 4096, 0, 0, 0)');
      writer.transaction(() => {
        for (let i = 0; i < 5000; i++) insert.run(1e6 + i, 1e6 + i - 1);
      })();
      let n = 0;
      run.eachEvent((e) => {
        assert.ok(e.id > 0);
        n++;
      });
      assert.equal(n, 4000);
      assert.equal(run.meta.eventCount, 4000, 'a header not finished counts the rows of the snapshot');
    } finally {
      run.close();
      writer.close();
    }
  });

  test('report and diff succeed while the run is recorded, and a reader open at the stop does not fail the recorder', async () => {
    const path = joinPath(dir, 'live.db');
    const rec = await startRec(['-d', '5', '-o', path, '--', steady, '2', '50']);
    await sleep(1200);
    // A reader keeps a read transaction open across the stop.
    const reader = new Database(path, { readonly: true, fileMustExist: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM events').get();
    const results = await Promise.all([
      mutexAnalyze(['report', path, '--format', 'csv']),
      mutexAnalyze(['diff', path, path, '--format', 'csv']),
      mutexAnalyze(['report', path, '--format', 'csv']),
    ]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const r = await rec.done;
    reader.close();
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /internal error|locked/);
    assert.match(r.stderr, /left in WAL mode/);
    assert.equal(runRow(path).end_reason, 'duration 5 s reached');
    const report = await mutexAnalyze(['report', path]);
    assert.equal(report.code, 0, report.stderr);
    assert.match(report.stdout, /g_steady_lock/);
  });
});

describe('2. signals during the stop', () => {
  test('a second SIGINT while stopping is told to wait, a third hurries the stop; the run is finished, one file', async () => {
    const path = joinPath(dir, 'twice.db');
    // A target that ignores SIGTERM keeps the stop waiting (its grace period) for the third signal.
    const rec = await startRec(['-o', path, '--', steady, '--ignore-term', '2', '100']);
    await sleep(300);
    rec.child.kill('SIGINT');
    await sleep(200);
    rec.child.kill('SIGINT'); // during the detach: handled right after it
    // The third also during the detach: detaching 39 uprobes (~3 s here) outlasts the target's 2 s
    // grace, so a signal sent after it would find nothing left to hurry.
    await sleep(100);
    rec.child.kill('SIGINT');
    await waitFor(rec.child.stderr!, /stopping, please wait/);
    const r = await rec.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /hurrying the stop/);
    const row = runRow(path);
    assert.equal(row.end_reason, 'interrupted (SIGINT)');
    assert.equal(row.target_exit, 'signal SIGKILL');
    assert.ok(!existsSync(`${path}-wal`) && !existsSync(`${path}-shm`));
  });
});

describe('3. a full disk', () => {
  const mount = joinPath(tmpRoot(), 'mutex-full');
  before(() => {
    mkdirSync(mount, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mount]); // 256 KiB of it the recorder holds for the header (runfile/reserve.ts)
  });
  after(() => {
    execFileSync('umount', [mount]);
    rmSync(mount, { recursive: true, force: true });
  });

  test('stops cleanly: one line naming it, what was written kept, the header true, the target ended as on a stop', async () => {
    const path = joinPath(mount, 'full.db');
    const r = await mutexRec(['-d', '20', '-o', path, '--', steady, '2', '0'], { timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the disk holding .*full\.db is full: recording stopped/);
    assert.doesNotMatch(r.stderr, /internal error/);
    assert.match(r.stderr, /sent it SIGTERM/);
    const report = await mutexAnalyze(['report', path, '--format', 'json']);
    assert.equal(report.code, 0, report.stderr);
    const run = JSON.parse(report.stdout).run;
    assert.ok(run.events > 1000, `events: ${run.events}`);
    const db = new Database(path, { readonly: true });
    const rows = db.prepare('SELECT count(*) AS n FROM events').get() as { n: number };
    const header = db.prepare('SELECT end_reason FROM run').get() as { end_reason: string };
    db.close();
    assert.equal(run.events, rows.n, 'the header counts the rows written');
    assert.equal(header.end_reason, 'disk full');
  });
});

describe('4. a launched target at the stop', () => {
  test('after --duration it gets SIGTERM; one that ignores it gets SIGKILL after the grace period; both said', async () => {
    const path = joinPath(dir, 'term.db');
    const r = await mutexRec(['-d', '1', '-o', path, '--', steady, '1', '1000']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /terminated/);
    assert.match(r.stderr, /sent it SIGTERM/);
    assert.equal(runRow(path).target_exit, 'code 0');

    const stubborn = joinPath(dir, 'kill.db');
    const k = await mutexRec(['-d', '1', '-o', stubborn, '--', steady, '--ignore-term', '1', '1000']);
    assert.equal(k.code, 0, k.stderr);
    assert.match(k.stderr, /did not end within 2 s of SIGTERM: sent it SIGKILL/);
    assert.equal(runRow(stubborn).target_exit, 'signal SIGKILL');
  });

  test('a signal in the first moments never leaves the forked child stopped', async () => {
    for (const delay of [150, 300, 450]) {
      const marker = `${900 + delay}.25`;
      const child = spawn(process.execPath, [MUTEX_REC, '-o', joinPath(dir, `early-${delay}.db`), '--', '/bin/sleep', marker], { stdio: ['ignore', 'pipe', 'pipe'] });
      const done = collect(child, 30_000);
      await sleep(delay);
      child.kill('SIGINT');
      await done;
      await sleep(100);
      assert.deepEqual(processesWithArg(marker), [], `delay ${delay} ms: a sleep ${marker} is left`);
    }
  });
});

describe('5. a recorder killed with SIGKILL', () => {
  test('keeps the stacks and names written so far, and the header counts the rows', async () => {
    const path = joinPath(dir, 'killed.db');
    const rec = await startRec(['-o', path, '--', steady, '2', '200']);
    // Killed once it has written stacks and names (a pass a second; later on a loaded machine).
    const written = (): boolean => {
      const db = new Database(path, { readonly: true });
      try {
        const n = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
        return n('SELECT count(*) AS n FROM stack_frames') > 0 && n("SELECT count(*) AS n FROM symbols WHERE name = 'g_steady_lock'") > 0;
      } catch {
        return false; // not yet readable
      } finally {
        db.close();
      }
    };
    for (const until = Date.now() + 20_000; !written() && Date.now() < until; ) await sleep(200);
    await sleep(500);
    rec.child.kill('SIGKILL');
    await once(rec.child, 'exit');
    process.kill(Number(runRow(path).target_pid), 'SIGKILL'); // it holds the recorder's stdout
    await rec.done;
    const db = new Database(path, { readonly: true });
    const stacks = db.prepare('SELECT count(*) AS n FROM stack_frames').get() as { n: number };
    const named = db.prepare("SELECT count(*) AS n FROM symbols WHERE name = 'g_steady_lock'").get() as { n: number };
    const rows = db.prepare('SELECT count(*) AS n FROM events').get() as { n: number };
    db.close();
    assert.ok(stacks.n > 0, 'stack frames');
    assert.equal(named.n, 1, 'the global lock is named');
    const report = await mutexAnalyze(['report', path, '--format', 'json']);
    assert.equal(report.code, 0, report.stderr);
    const json = JSON.parse(report.stdout);
    assert.equal(json.run.events, rows.n);
    assert.ok(json.rows.some((row: { name: string }) => row.name === 'g_steady_lock'));
    const stack = await mutexAnalyze(['report', path, '--by', 'callsite', '--stack']);
    assert.equal(stack.code, 0, stack.stderr);
  });
});

describe('6. --force on a file another recorder is writing', () => {
  test('is refused, and the other recording goes on', async () => {
    const path = joinPath(dir, 'busy.db');
    const rec = await startRec(['-d', '3', '-o', path, '--', steady, '1', '1000']);
    const second = await mutexRec(['--force', '-d', '1', '-o', path, '--', steady, '1', '1000']);
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, /being written by another mutex-rec \(pid \d+\)/);
    const r = await rec.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(runRow(path).end_reason, 'duration 3 s reached');
  });
});

describe('7. a long --poll-ms', () => {
  test('the duration is noticed on time whatever the poll period', async () => {
    const started = Date.now();
    const path = joinPath(dir, 'poll.db');
    const r = await mutexRec(['--poll-ms', '20000', '-d', '1', '-o', path, '--', steady, '1', '1000']);
    assert.equal(r.code, 0, r.stderr);
    // Noticed on time: the window closed at 1 s (±100 ms), and the recorder did not wait out a poll
    // period of 20 s (the rest of its time is the calibration and detaching its probes).
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
    const row = runRow(path);
    assert.equal(row.end_reason, 'duration 1 s reached');
    assert.ok(Math.abs(Number(row.end_ts) - 1e9) <= 100e6, `the window closed at ${row.end_ts} ns`);
  });

  test('a launched target\'s exit is noticed at once whatever the poll period (its SIGCHLD)', async () => {
    const path = joinPath(dir, 'poll-exit.db');
    const r = await mutexRec(['--contention', '--poll-ms', '20000', '-o', path, '--', 'sleep', '1']);
    assert.equal(r.code, 0, r.stderr);
    const row = runRow(path);
    assert.equal(row.end_reason, 'target exited (code 0)');
    // sleep 1 ran ~1 s after the window opened; waiting for the next check would add up to 250 ms, for the poll 20 s
    assert.ok(Number(row.end_ts) >= 0.95e9 && Number(row.end_ts) <= 1.12e9, `the window closed at ${row.end_ts} ns`);
  });
});

function tmpRoot(): string {
  return '/tmp';
}

/** Pids of the processes with `arg` among their arguments. */
function processesWithArg(arg: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(arg)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}
