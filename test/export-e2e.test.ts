// tier: probes
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { before, describe, test } from 'node:test';

import { join, mutexAnalyze, mutexRec, openRun } from './lib/tools';
import { parseLines, scratchDir, workload } from './lib/workloads';
import type { TraceEvent } from '../analyzer/export/chrome';

describe('export on a real recording of test/workloads/blockers.c', () => {
  let dir: string;
  let runPath: string;
  let pid: number;
  let tids: Map<string, number>;
  before(async () => {
    dir = scratchDir();
    runPath = joinPath(dir, 'blockers.db');
    const r = await mutexRec(['-o', runPath, '--', workload('blockers'), '3', '10']);
    assert.equal(r.code, 0, r.stderr);
    tids = new Map(parseLines(r.stdout, 'thread').map((t) => [t.name, Number(t.tid)]));
    const run = openRun(runPath);
    pid = Number(run.run.target_pid);
    run.db.close();
  });

  test('chrome: valid trace-event JSON with exactly one hold slice per acquisition', async () => {
    const file = joinPath(dir, 'trace.json');
    const r = await mutexAnalyze(['export', runPath, '--format', 'chrome', '-o', file]);
    assert.equal(r.code, 0, r.stderr);
    const events = (JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
    const run = openRun(runPath);
    const acquisitions = join(run.events).acquisitions;
    run.db.close();
    const holds = events.filter((e) => e.ph === 'X' && e.cat === 'hold');
    const key = (tid: number, tsUs: number): string => `${tid}@${tsUs.toFixed(3)}`;
    assert.deepEqual(holds.map((e) => key(e.tid, e.ts!)).sort(), acquisitions.map((a) => key(a.tid, a.acquiredTs / 1000)).sort());
    for (const e of events.filter((x) => x.ph === 'X')) {
      assert.equal(e.pid, pid);
      assert.ok(e.ts! >= 0 && e.dur! >= 0, JSON.stringify(e));
    }
    const names = new Map(events.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid, e.args.name]));
    assert.equal(names.get(tids.get('flusher')!), 'flusher');
    assert.equal(names.get(tids.get('compactor')!), 'compactor');
  });

  test('folded: every line is "frames count" with an integer count, and the flusher\'s stack carries the wait', async () => {
    const r = await mutexAnalyze(['export', runPath, '--format', 'folded']);
    assert.equal(r.code, 0, r.stderr);
    const stacks = r.stdout.trimEnd().split('\n').map((line) => {
      const m = /^(.*) (\d+)$/.exec(line);
      assert.ok(m, line);
      return { frames: m[1].split(';'), us: Number(m[2]) };
    });
    const flush = stacks.filter((s) => s.frames.some((f) => /^flush_journal\+0x[0-9a-f]+$/.test(f)));
    assert.equal(flush.length, 1, r.stdout);
    assert.ok(flush[0].us > 3 * 10_000 * 0.5, `${flush[0].us} µs`);
  });
});
