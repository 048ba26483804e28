// tier: probes
// Issue 12, points 12-16: bad input. Each case is one line on stderr naming the problem (and the
// fix), exit code 2, no stack trace, nothing left behind; rows that break a run file's invariants
// are counted and left out with a warning. The recorder cases stop before attaching anything.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { after, before, describe, test } from 'node:test';

import Database from 'better-sqlite3';

import { Func, Stage } from '../core/events';
import { EVENT_COLUMNS } from '../runfile/format';
import { writeRunFile, type SyntheticEvent } from './lib/synthetic';
import { MUTEX_ANALYZE, mutexAnalyze, mutexRec, type RunResult } from './lib/tools';
import { scratchDir } from './lib/workloads';

let dir: string;
let good: string;
before(() => {
  dir = scratchDir();
  good = joinPath(dir, 'good.db');
  writeRunFile(good, pairs(200), { threads: { 7: 'worker' } });
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** n lock/unlock pairs of thread 7 on one lock, 1 µs apart. */
function pairs(n: number, lock = 0x601040): SyntheticEvent[] {
  const events: SyntheticEvent[] = [];
  for (let i = 0; i < n; i++) {
    events.push({ ts: 1000 * i + 100, requestTs: 1000 * i, stage: Stage.Acquired, func: Func.PthreadMutexLock, tid: 7, lock, ret: 0 } as SyntheticEvent);
    events.push({ ts: 1000 * i + 600, requestTs: null, stage: Stage.Released, func: Func.PthreadMutexUnlock, tid: 7, lock, ret: 0 } as SyntheticEvent);
  }
  return events;
}

/** A copy of the good run changed by `sql` (run on it in a writable connection). */
function damaged(name: string, sql: string): string {
  const path = joinPath(dir, `${name}.db`);
  copyFileSync(good, path);
  const db = new Database(path);
  db.exec(sql);
  db.close();
  return path;
}

function assertOneLine(r: RunResult, pattern: RegExp, what: string): void {
  assert.equal(r.code, 2, `${what}: exit ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, pattern, what);
  assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, what);
}

describe('12. FIFOs and directories', () => {
  test('a FIFO as run file is refused at once; a directory for export -o or mutex-rec -o too, leaving nothing', async () => {
    const fifo = joinPath(dir, 'fifo.db');
    execFileSync('mkfifo', [fifo]);
    assertOneLine(await mutexAnalyze(['report', fifo], { timeoutMs: 10_000 }), /fifo\.db is not a regular file/, 'FIFO');
    const out = joinPath(dir, 'outdir');
    mkdirSync(out);
    assertOneLine(await mutexAnalyze(['export', good, '--format', 'folded', '-o', out]), /outdir is a directory/, 'export -o DIR');
    assert.deepEqual(readdirSync(out), []);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('tmp')), []);
    assertOneLine(await mutexRec(['--force', '-d', '1', '-o', out, '--', '/bin/true']), /outdir is a directory/, 'mutex-rec -o DIR');
  });
});

describe('13. damaged run files', () => {
  const cases: [string, string, RegExp][] = [
    ['no-events', 'DROP TABLE events', /has no events table/],
    ['no-threads', 'DROP TABLE threads', /has no threads table/],
    ['no-symbols', 'DROP TABLE symbols', /has no symbols table/],
    ['no-stacks', 'DROP TABLE stack_frames', /has no stack_frames table/],
    ['stage-300', 'UPDATE events SET stage = 300 WHERE id = 5', /event 5 has stage 300/],
    ['stage-minus-1', 'UPDATE events SET stage = -1 WHERE id = 5', /event 5 has stage -1/],
    ['stage-5', 'UPDATE events SET stage = 5 WHERE id = 5', /event 5 has stage 5/],
    ['big-tid', 'UPDATE events SET tid = 4294967296 + 7 WHERE id = 5', /event 5 has tid 4294967303/],
    ['negative-pid', 'UPDATE events SET pid = -3 WHERE id = 5', /event 5 has pid -3/],
    [
      'no-primary-key',
      'CREATE TABLE e2 AS SELECT * FROM events; DROP TABLE events; ALTER TABLE e2 RENAME TO events; INSERT INTO events SELECT * FROM events WHERE id = 3',
      /INTEGER PRIMARY KEY/,
    ],
    ['bad-spool', `INSERT INTO event_spool VALUES (1, 10, ${EVENT_COLUMNS.map(() => "x'00'").join(', ')})`, /event_spool.*damaged/],
  ];
  for (const [name, sql, pattern] of cases) {
    test(`${name}: one line, exit 2`, async () => {
      const path = damaged(name, sql);
      assertOneLine(await mutexAnalyze(['report', path]), pattern, name);
    });
  }

  test('a malformed page is one line, exit 2', async () => {
    const path = joinPath(dir, 'malformed.db');
    writeRunFile(path, pairs(20_000));
    const bytes = readFileSync(path);
    bytes.fill(0xa5, bytes.length / 2, bytes.length / 2 + 40_000);
    writeFileSync(path, bytes);
    assertOneLine(await mutexAnalyze(['report', path]), /damaged/, 'malformed');
  });

  test('rows that break invariants are counted and left out with a warning, never absurd waits or holds', async () => {
    const path = damaged(
      'invariants',
      `UPDATE events SET request_ts = ts + 5000 WHERE id = 3;
       UPDATE events SET ts = 'soon' WHERE id = 5;
       UPDATE events SET ts = 1e300 WHERE id = 7;
       UPDATE events SET ts = 50 WHERE id = 10;
       UPDATE run SET event_count = -7, end_reason = NULL`,
    );
    const r = await mutexAnalyze(['report', path, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    const warning = json.warnings.find((w: string) => w.includes('left out'));
    assert.match(warning, /^4 rows break what a run file holds and were left out \(/);
    assert.match(warning, /2 with a time that is not a valid integer/);
    assert.match(warning, /1 requested after they returned/);
    assert.match(warning, /1 earlier than the event before them on their thread/);
    for (const row of json.rows) {
      assert.ok(row.wait.min >= 0 && row.wait.max < 1e6, JSON.stringify(row.wait));
      assert.ok(row.hold.min >= 0 && row.hold.max < 1e6, JSON.stringify(row.hold));
    }
    assert.equal(json.run.events, 400, 'a negative count is not printed: the rows are counted');
    const text = await mutexAnalyze(['report', path]);
    assert.doesNotMatch(text.stdout, /-7 events/);
  });
});

describe('14. time windows and closed pipes', () => {
  test('events --from 5 --to 1 is refused', async () => {
    assertOneLine(await mutexAnalyze(['events', good, '--from', '5', '--to', '1']), /--from 5 is after --to 1/, '--from > --to');
  });

  test('a closed pipe ends events and export quietly', async () => {
    const big = joinPath(dir, 'big.db');
    writeRunFile(big, pairs(60_000), { threads: { 7: 'worker' } });
    for (const args of [['events', big], ['export', big, '--format', 'chrome']]) {
      const child = spawn(process.execPath, [MUTEX_ANALYZE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      child.stdout!.destroy(); // like `| head -1`
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 0, `${args[0]}: ${stderr}`);
      assert.doesNotMatch(stderr, /Error|at /, args[0]);
    }
  });
});

describe('15. CSV and JSON outputs', () => {
  test('print the run\'s warnings on stderr', async () => {
    const dropped = joinPath(dir, 'dropped.db');
    writeRunFile(dropped, pairs(50), { dropped: 12, threads: { 7: 'worker' } });
    for (const args of [
      ['report', dropped, '--format', 'csv'],
      ['report', dropped, '--format', 'json'],
      ['report', dropped, '--blockers', '--format', 'csv'],
      ['diff', dropped, good, '--format', 'csv'],
      ['lockorder', dropped, '--format', 'json'],
    ]) {
      const r = await mutexAnalyze(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /mutex-analyze: WARNING: (.*: )?12 events were dropped/, args.join(' '));
    }
  });
});

describe('16. messages that said the wrong thing', () => {
  test('a zombie, a kernel thread (with --lib too) are named as such', async () => {
    const sh = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const zombie = Number(await new Promise<string>((resolve) => sh.stdout!.once('data', (d: Buffer) => resolve(d.toString()))));
    await new Promise((r) => setTimeout(r, 300));
    try {
      assertOneLine(await mutexRec(['--pid', String(zombie), '-d', '1', '-o', joinPath(dir, 'z.db')]), /is a zombie/, 'zombie');
    } finally {
      sh.kill('SIGKILL');
    }
    assertOneLine(await mutexRec(['--pid', '2', '-d', '1', '-o', joinPath(dir, 'k.db')]), /is a kernel thread/, 'kernel thread');
    const libc = '/lib/x86_64-linux-gnu/libc.so.6';
    assertOneLine(await mutexRec(['--pid', '2', '--lib', libc, '-d', '1', '-o', joinPath(dir, 'k2.db')]), /is a kernel thread/, 'kernel thread with --lib');
    assert.ok(!existsSync(joinPath(dir, 'k2.db')));
  });

  test('a process /proc will not show is named so, not said to have exited', async (t) => {
    try {
      readFileSync('/proc/1/maps');
      t.skip('/proc/1/maps is readable here: no process to be refused');
      return;
    } catch {
      // refused, as in a container whose init is not dumpable
    }
    assertOneLine(await mutexRec(['--pid', '1', '-d', '1', '-o', joinPath(dir, 'p1.db')]), /cannot read \/proc\/1\/maps \(EACCES\)/, '--pid 1');
  });

  test('a killed run copied without its -wal is named so, and nothing is created beside it', async () => {
    const killed = joinPath(dir, 'killed-copy');
    mkdirSync(killed);
    const path = joinPath(killed, 'run.db');
    writeRunFile(path, pairs(10));
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.close();
    for (const side of ['-wal', '-shm']) rmSync(path + side, { force: true });
    assertOneLine(await mutexAnalyze(['report', path]), /run\.db is in WAL mode and .*run\.db-wal is not beside it/, 'no -wal');
    assert.deepEqual(readdirSync(killed), ['run.db']);
  });

  test('a killed WAL-mode run in a read-only directory says what to do', async () => {
    const mount = joinPath(dir, 'ro');
    mkdirSync(mount);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mount]);
    try {
      const path = joinPath(mount, 'run.db');
      writeRunFile(path, pairs(10));
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.prepare("UPDATE run SET end_reason = NULL").run();
      const wal = readFileSync(`${path}-wal`); // as a killed recorder leaves it: closing folds it in
      db.close();
      writeFileSync(`${path}-wal`, wal);
      rmSync(`${path}-shm`, { force: true });
      execFileSync('mount', ['-o', 'remount,ro', mount]);
      assertOneLine(await mutexAnalyze(['report', path]), /in WAL mode .* cannot be made in .*: copy/, 'read-only');
    } finally {
      execFileSync('umount', [mount]);
    }
  });

  test('a file still being recorded says so', async () => {
    const path = damaged('live', 'UPDATE run SET end_reason = NULL');
    // as a recorder holds it: a flock on the run file's -wal (runfile/filelock.ts)
    const holder = spawn('flock', ['--no-fork', `${path}-wal`, 'sleep', '20'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    try {
      const r = await mutexAnalyze(['report', path]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /still being recorded \(by mutex-rec pid \d+\)/);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
