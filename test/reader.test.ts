import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import Database from 'better-sqlite3';

import { readEventChunks } from '../runfile/reader';
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
