import assert from 'node:assert/strict';
import { test } from 'node:test';

import Database from 'better-sqlite3';

import { LockScript } from './lib/lockscript';
import { mutexAnalyze } from './lib/tools';
import { ScratchRuns } from './lib/synthetic';

const runs = new ScratchRuns({ threads: { 1: 'one' } });

test("what the BPF programs counted going wrong is a warning at the top of every output", async () => {
  const path = runs.write(new LockScript().lock(1, 0x1000, 0x401000).unlock(1, 0x1000).events);
  const db = new Database(path);
  db.prepare('UPDATE run SET probe_failures = ?').run(JSON.stringify({ stackFailed: 12, pendingFull: 3 }));
  db.close();
  for (const args of [['report', path], ['lockorder', path], ['events', path]]) {
    const r = await mutexAnalyze(args);
    assert.equal(r.code, 0, r.stderr);
    const all = r.stdout + r.stderr;
    assert.match(all, /WARNING: 12 call stacks could not be taken \(the stack table was full, or held another stack in their slot/, args[0]);
    assert.match(all, /WARNING: 3 lock calls were not followed/, args[0]);
  }
});
