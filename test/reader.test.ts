import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import Database from 'better-sqlite3';

import { PACK_COLUMNS_PATH, readEventChunks } from '../runfile/reader';
import { Func, Stage } from '../core/events';
import { writeRunFile, type SyntheticEvent } from './lib/synthetic';
import { scratchDir } from './lib/workloads';

test('the chunked reader returns exactly the rows SQL returns, in id order, gaps and extreme values included', () => {
  const path = join(scratchDir(), 'reader.db');
  const events: SyntheticEvent[] = [];
  for (let i = 0; i < 5000; i++) {
    events.push({
      ts: i * 1000 + 7,
      stage: i % 3,
      func: i % 5 === 0 ? Func.KernelContention : Func.PthreadMutexLock,
      tid: 100 + (i % 13),
      lock: i % 2 ? 2 ** 53 - 1 - i : -(2 ** 53 - 1) + i,
      ret: i % 7 === 0 ? -4 : 0,
      caller: i % 11 === 0 ? 0 : 0x55000000 + i,
      stackId: i % 4 === 0 ? null : i % 4,
    } as SyntheticEvent);
  }
  writeRunFile(path, events);
  const db = new Database(path);
  db.prepare('DELETE FROM events WHERE id % 97 = 0').run(); // gaps in ids
  db.prepare('UPDATE events SET flags = 4294967295 WHERE id % 5 = 0').run();
  db.prepare('UPDATE events SET request_ts = CASE id % 3 WHEN 0 THEN NULL WHEN 1 THEN 0 ELSE ts - 3 END').run();
  const expected = db.prepare('SELECT id, ts, request_ts, stage, func, pid, tid, lock, ret, caller, flags, stack_id FROM events ORDER BY id').raw().all() as number[][];
  db.close();
  for (const workers of [0, 2]) {
    const rows: number[][] = [];
    for (const c of readEventChunks(path, { workers, chunkRows: 333 })) {
      for (let i = 0; i < c.count; i++) {
        const stack = c.stackId[i] < 0 ? null : c.stackId[i];
        const requestTs = Number.isNaN(c.requestTs[i]) ? null : c.requestTs[i];
        rows.push([c.id[i], c.ts[i], requestTs as number, c.stage[i], c.func[i], c.pid[i], c.tid[i], c.lock[i], c.ret[i], c.caller[i], c.flags[i], stack as number]);
      }
    }
    assert.equal(rows.length, expected.length, `workers=${workers}`);
    assert.deepEqual(rows, expected, `workers=${workers}`);
  }
  assert.ok(expected.some((r) => r[3] === Stage.Released));
  assert.ok(expected.some((r) => r[2] === null) && expected.some((r) => r[2] === 0));
});

test('pack_columns: each value in its column type, NULL as the field says, a value out of range an error naming it', () => {
  const db = new Database(':memory:');
  db.loadExtension(PACK_COLUMNS_PATH);
  db.exec('CREATE TABLE t (a, b, c, d)');
  db.exec("INSERT INTO t VALUES (-5, NULL, 70000, 255), (2 << 40, 3, NULL, 0), (7.9, '12abc', 1, 1)");
  const pack = db.prepare("SELECT pack_columns('f64 nan _ _;i32 -1 -1 2147483647;u32 0 0 4294967295;u8 0 0 255', a, b, c, d) FROM t").pluck();
  const blob = pack.get() as Buffer;
  const bytes = new Uint8Array(blob).slice().buffer; // copied: SQLite's buffer need not be aligned
  assert.deepEqual(Array.from(new Float64Array(bytes, 0, 3)), [-5, 2 ** 41, 7]);
  assert.deepEqual(Array.from(new Int32Array(bytes, 24, 3)), [-1, 3, 12]);
  assert.deepEqual(Array.from(new Uint32Array(bytes, 36, 3)), [70000, 0, 1]);
  assert.deepEqual(Array.from(new Uint8Array(bytes, 48, 3)), [255, 0, 1]);
  assert.equal(blob.length, 51);
  assert.equal(db.prepare("SELECT pack_columns('u8 0 _ _', a) FROM t WHERE 0").pluck().get(), null, 'no rows: NULL');
  db.exec('UPDATE t SET d = 256 WHERE rowid = 2');
  assert.throws(() => pack.get(), /pack_columns: argument 5: 256 outside 0 to 255/);
  assert.throws(() => db.prepare("SELECT pack_columns('u8 0 0 255;u8 0 0 255', a) FROM t").get(), /'TYPE NULL MIN MAX' for each value/);
  assert.throws(() => db.prepare("SELECT pack_columns('i64 0 _ _', a) FROM t").get(), /'TYPE NULL MIN MAX' for each value/);
  assert.throws(() => db.prepare("SELECT pack_columns('u8 nan _ _', a) FROM t").get(), /'TYPE NULL MIN MAX' for each value/);
  db.close();
});
