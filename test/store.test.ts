// tier: native
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { after, test } from 'node:test';

import Database from 'better-sqlite3';

import { encodeSpool, newEventColumns } from '../runfile/columns';
import { addon } from '../recorder/addon';
import type { EventBatch } from '../runfile/rows';
import { isDiskFull, RunStore, SPOOL_ROWS_PATH } from '../runfile/writer';
import { EVENT_COLUMNS } from '../runfile/format';

const dir = mkdtempSync(joinPath(tmpdir(), 'store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Row = Record<string, number | null>;
const KERNEL_LOCK = -0x777fedcba988; // an upper-half address as the addon gives it: signed, exact in a double

/** A batch with the values the columns must survive: none (NaN, -1), extremes of each type, kernel addresses. */
function batch(count: number): EventBatch {
  const c = newEventColumns(count + 3); // room past count: only `count` entries are events
  for (let i = 0; i < count; i++) {
    c.ts[i] = 1_000_000_000_000 + i * 17;
    c.requestTs[i] = i % 3 === 0 ? NaN : c.ts[i] - 5;
    c.lock[i] = i % 2 ? KERNEL_LOCK : 0x7f00_0000_1000 + i;
    c.caller[i] = i % 2 ? KERNEL_LOCK - 64 : 0x5555_5555_0000 + i;
    c.pid[i] = 4_000_000_000;
    c.tid[i] = 100 + (i % 4);
    c.ret[i] = i % 5 === 0 ? -110 : 0;
    c.stackId[i] = i % 4 === 0 ? -1 : i;
    c.cpu[i] = 65_535;
    c.stage[i] = 1 + (i % 2);
    c.func[i] = 255;
    c.flags[i] = 0xffff_ffff;
  }
  c.ts.fill(-1, count); // garbage after count must not become rows
  return { ...c, count, threads: [{ ts: 1, pid: 4_000_000_000, tid: 100, comm: 'worker' }] };
}

function expectedRows(b: EventBatch): Row[] {
  return Array.from({ length: b.count }, (_, i) => ({
    ts: b.ts[i], request_ts: Number.isNaN(b.requestTs[i]) ? null : b.requestTs[i], stage: b.stage[i], func: b.func[i],
    pid: b.pid[i], tid: b.tid[i], lock: b.lock[i], ret: b.ret[i], caller: b.caller[i], cpu: b.cpu[i], flags: b.flags[i],
    stack_id: b.stackId[i] < 0 ? null : b.stackId[i],
  }));
}

function rowsOf(path: string): { rows: Row[]; types: string[]; threads: unknown[] } {
  const db = new Database(path, { readonly: true });
  const rows = db.prepare('SELECT ts, request_ts, stage, func, pid, tid, lock, ret, caller, cpu, flags, stack_id FROM events ORDER BY id').all() as Row[];
  const types = (db.prepare('SELECT DISTINCT typeof(ts) || typeof(lock) || typeof(pid) AS t FROM events').all() as { t: string }[]).map((r) => r.t);
  const threads = db.prepare('SELECT tid, comm, last_ts FROM threads ORDER BY tid').all();
  db.close();
  return { rows, types, threads };
}

function record(path: string, writeAtStop: boolean, batches: EventBatch[]): void {
  const store = RunStore.create(path, { force: false, writeAtStop, lockFile: addon.lockFile });
  for (const b of batches) store.append(b);
  if (writeAtStop) store.writeSpooled();
  store.close();
}

test('a drained batch becomes exactly its rows, as INTEGER, NULL for none', () => {
  const batches = [batch(250), batch(1), batch(0)];
  const path = joinPath(dir, 'live.db');
  record(path, false, batches);
  const { rows, types, threads } = rowsOf(path);
  assert.deepEqual(rows, batches.flatMap(expectedRows));
  assert.deepEqual(types, ['integerintegerinteger']);
  assert.deepEqual(threads, [{ tid: 100, comm: 'worker', last_ts: batches[0].ts[248] }]);
});

test('--write-at-stop: the rows written at the stop equal the rows written live', () => {
  const batches = [batch(250), batch(1), batch(7)];
  record(joinPath(dir, 'a.db'), false, batches);
  record(joinPath(dir, 'b.db'), true, batches);
  assert.deepEqual(rowsOf(joinPath(dir, 'b.db')), rowsOf(joinPath(dir, 'a.db')));
});

test('spool_rows refuses a column whose BLOB does not hold count values, and missing arguments', () => {
  const path = joinPath(dir, 'refuse.db');
  const store = RunStore.create(path, { force: false, lockFile: addon.lockFile });
  store.close();
  const db = new Database(path);
  db.loadExtension(SPOOL_ROWS_PATH);
  const blobs = encodeSpool(batch(10), 10);
  const select = db.prepare(`SELECT count(*) AS n FROM spool_rows(?, ${blobs.map(() => '?').join(', ')})`);
  assert.equal((select.get(10, ...blobs) as { n: number }).n, 10);
  assert.throws(() => select.get(11, ...blobs), /spool_rows: column ts holds 80 bytes, not 11 values of 8/);
  assert.throws(() => db.prepare('SELECT * FROM spool_rows(1)').all(), new RegExp(`spool_rows takes ${EVENT_COLUMNS.length + 1} arguments`));
  db.close();
});

test('a mapping seen first without permissions (the mmap watcher) gets them when seen again; known ones stay', () => {
  const store = RunStore.create(joinPath(dir, 'mappings.db'), { force: false, lockFile: addon.lockFile });
  const code = { start: 0x1000, end: 0x2000, offset: 0, path: '/lib/libx.so', buildId: null };
  const data = { ...code, start: 0x3000, end: 0x4000, offset: 0x2000 };
  store.addMappings([{ ...code, executable: null }, { ...data, executable: false }], 5);
  store.addMappings([{ ...code, executable: true }, { ...data, executable: null }], 9);
  assert.deepEqual(
    store.mappings().map((m) => [m.start, m.executable]),
    [
      [0x1000, true],
      [0x3000, false],
    ],
  );
  store.close();
});

test('a store that filled its disk still writes a true header at the stop, and leaves no reserve file behind', () => {
  const mount = joinPath(dir, 'full');
  mkdirSync(mount);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mount]);
  try {
    for (let round = 0; round < 5; round++) {
      const path = joinPath(mount, `full-${round}.db`);
      const store = RunStore.create(path, { force: false, lockFile: addon.lockFile });
      store.writeRun(
        {
          toolVersion: 'test', host: 'test', kernelRelease: 'test', startRealtimeNs: 1n, startMonotonicNs: 1n, targetPid: 1, targetComm: 'test',
          targetCmdline: ['test'], launched: true, userProbes: true, kernelProbe: null, kernelScope: null, mode: 'full', probeCost: null, options: {},
        },
        [],
      );
      let full = false;
      // batches of different sizes, so that the disk fills at a different point of a transaction each round
      for (let i = 0; !full; i++) {
        try {
          store.append(batch(50 + 37 * round + (i % 7)));
        } catch (err) {
          if (!isDiskFull(err)) throw err;
          full = true;
        }
      }
      store.finish({ endReason: 'disk full', endTs: 5, dropCount: 0, targetExit: null, failures: { stackFailed: 1, pendingFull: 0 } });
      store.close();
      const db = new Database(path, { readonly: true });
      const run = db.prepare('SELECT end_reason, event_count, probe_failures FROM run').get() as Record<string, unknown>;
      const rows = (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
      db.close();
      assert.equal(run.end_reason, 'disk full', `round ${round}`);
      assert.ok(rows > 0);
      assert.equal(run.event_count, rows, `round ${round}: the header counts the rows written`);
      assert.match(String(run.probe_failures), /"stackFailed":1/);
      const left = readdirSync(mount);
      assert.ok(left.every((f) => f.startsWith(`full-${round}.db`)), `left behind: ${left.join(', ')}`);
      for (const f of left) rmSync(joinPath(mount, f));
    }
  } finally {
    execFileSync('umount', ['-l', mount]); // lazily: a store a failed assertion left open still has it
  }
});
