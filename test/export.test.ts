import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { describe, test } from 'node:test';

import { Func } from '../core/events';
import { LockScript } from './lib/lockscript';
import { mutexAnalyze } from './lib/tools';
import { ScratchRuns, type SyntheticRunOptions } from './lib/synthetic';
import { chromeTraceSizeWarning, type TraceEvent } from '../analyzer/export/chrome';

const L = 0xa000;
const M = 0xb000;
const INSERT = 0x1010;
const LOOKUP = 0x1020;
const LOCK_FN = 0x7000;
const MAIN = 0x5010;
const SYMBOLS: SyntheticRunOptions['symbols'] = [
  { address: L, name: 'cache_lock', kind: 'data' },
  { address: M, name: 'index_lock', kind: 'data' },
  { address: INSERT, name: 'cache_insert+0x1c', kind: 'code' },
  { address: LOOKUP, name: 'cache_lookup+0x10', kind: 'code' },
  { address: LOCK_FN, name: 'pthread_mutex_lock', kind: 'code' },
  { address: MAIN, name: 'main+0x10', kind: 'code' },
];
const FOLDED_LINE = /^(.*) (\d+)$/;

const runs = new ScratchRuns({ symbols: SYMBOLS, threads: { 100: 'main', 1: 'worker-1', 2: 'worker-2' } });
const record = (script: LockScript, opts?: SyntheticRunOptions): string => runs.write(script.events, opts);

async function exported(path: string, format: 'folded' | 'chrome'): Promise<string> {
  const r = await mutexAnalyze(['export', path, '--format', format]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

describe('export --format folded', () => {
  test('wait by stack, frames outermost first, total µs per stack; requests without a stack fold as call site then lock', async () => {
    const s = new LockScript();
    s.lock(1, L, INSERT, { stackId: 1, waitNs: 1_500 }).unlock(1, L);
    s.lock(2, L, INSERT, { stackId: 1, waitNs: 2_000 }).unlock(2, L);
    s.lock(1, M, LOOKUP, { waitNs: 40_000 }).unlock(1, M); // no stack
    const out = await exported(record(s, { stacks: { 1: [LOCK_FN, MAIN] } }), 'folded');
    assert.deepEqual(out.split('\n'), [
      'cache_lookup+0x10;index_lock 40',
      'main+0x10;cache_insert+0x1c;pthread_mutex_lock 4', // 3.5 µs rounds to 4
      '',
    ]);
  });

  test('a stack whose walk left the mapped code is folded up to there, under a [truncated] root frame', async () => {
    const s = new LockScript();
    s.lock(1, L, INSERT, { stackId: 1, waitNs: 3_000 }).unlock(1, L);
    s.lock(1, L, INSERT, { stackId: 2, waitNs: 5_000 }).unlock(1, L);
    const mappings = [{ start: 0x1000, end: 0x8000, path: '/usr/bin/prog', executable: true }];
    const garbage = 0x6f72726520646000; // ASCII bytes: a frame-pointer walk through code built without frame pointers
    const out = await exported(record(s, { stacks: { 1: [LOCK_FN, MAIN, garbage, MAIN], 2: [LOCK_FN, MAIN] }, mappings }), 'folded');
    assert.deepEqual(out.split('\n'), [
      '[truncated];main+0x10;cache_insert+0x1c;pthread_mutex_lock 3',
      'main+0x10;cache_insert+0x1c;pthread_mutex_lock 5', // all inside the mapping: unchanged
      '',
    ]);
  });

  test('every line is "frames count" with an integer count; waits that round to 0 µs are left out', async () => {
    const s = new LockScript();
    for (let i = 0; i < 5; i++) s.lock(1, L, INSERT, { waitNs: 1_000 + i * 777 }).unlock(1, L);
    s.lock(2, M, LOOKUP, { waitNs: 400 }).unlock(2, M);
    const lines = (await exported(record(s), 'folded')).trimEnd().split('\n');
    for (const line of lines) assert.match(line, FOLDED_LINE);
    assert.deepEqual(lines, ['cache_insert+0x1c;cache_lock 13']); // 5 µs + 7.77 µs
  });
});

describe('export --format chrome', () => {
  test('one hold slice per acquisition and one wait slice per observable wait, in µs from the run start', async () => {
    const s = new LockScript();
    s.lock(1, L, INSERT, { waitNs: 2_000 }); // request at 1 µs, acquired at 3 µs
    s.request(2, L, LOOKUP); // 4 µs
    s.unlock(1, L, 0, { at: 10_000 }).acquired(2, L, LOOKUP, { at: 12_500 }).unlock(2, L, 0, { at: 20_000 });
    s.lock(1, M, INSERT).condWait(1, M, LOOKUP).unlock(1, M); // the cond re-acquisition has no wait slice
    const trace = JSON.parse(await exported(record(s), 'chrome')) as { traceEvents: TraceEvent[] };
    const slices = trace.traceEvents.filter((e) => e.ph === 'X');
    const holds = slices.filter((e) => e.cat === 'hold');
    const waits = slices.filter((e) => e.cat === 'wait');
    assert.equal(holds.length, 4, 'L by 1, L by 2, M before and after the cond wait');
    assert.equal(waits.length, 3);
    const first = holds.find((e) => e.tid === 1 && e.name === 'cache_lock')!;
    assert.deepEqual(first, { ph: 'X', name: 'cache_lock', cat: 'hold', ts: 3, dur: 7, pid: 100, tid: 1, args: { lock: '0xa000', callsite: 'cache_insert+0x1c' } });
    const blocked = waits.find((e) => e.tid === 2)!;
    assert.deepEqual([blocked.ts, blocked.dur, blocked.args.blockedByTid, blocked.args.callsite], [4, 8.5, 1, 'cache_lookup+0x10']);
  });

  test('wait-only acquisitions (kernel contention tracepoint) have a wait slice and no hold', async () => {
    const s = new LockScript().lock(1, L, INSERT, { func: Func.KernelContention, waitNs: 5_000 });
    const slices = (JSON.parse(await exported(record(s), 'chrome')) as { traceEvents: TraceEvent[] }).traceEvents.filter((e) => e.ph === 'X');
    assert.deepEqual(slices.map((e) => [e.cat, e.dur]), [['wait', 5]]);
  });

  test('thread and process names as metadata', async () => {
    const trace = JSON.parse(await exported(record(new LockScript().lock(1, L, INSERT).unlock(1, L)), 'chrome')) as { traceEvents: TraceEvent[] };
    const meta = trace.traceEvents.filter((e) => e.ph === 'M').map((e) => [e.name, e.pid, e.tid, e.args.name]);
    assert.deepEqual(meta, [
      ['process_name', 100, 100, 'main'],
      ['thread_name', 100, 1, 'worker-1'],
      ['thread_name', 100, 2, 'worker-2'],
      ['thread_name', 100, 100, 'main'],
    ]);
  });

  test('-o writes the file, nothing on stdout, no temporary left', async () => {
    const out = joinPath(runs.dir, 'trace-out', 'trace.json');
    const path = record(new LockScript().lock(1, L, INSERT).unlock(1, L));
    const missingDir = await mutexAnalyze(['export', path, '--format', 'chrome', '-o', out]);
    assert.equal(missingDir.code, 2, 'a directory that does not exist');
    const file = joinPath(runs.dir, 'trace.json');
    const r = await mutexAnalyze(['export', path, '--format', 'chrome', '-o', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: unknown[] }).traceEvents.length, 6); // 4 names, a wait and a hold
    assert.deepEqual(readdirSync(runs.dir).filter((f) => f.includes('.tmp-')), []);
    assert.equal(existsSync(out), false);
  });
});

describe('export --format chrome --from --to', () => {
  /** Thread 1 holds L over [3, 10] ms; thread 2 waits for it over [4, 12.5] ms and holds it until 20 ms. */
  function timedRun(): string {
    const s = new LockScript();
    s.request(1, L, INSERT, { at: 1_000_000 }).acquired(1, L, INSERT, { at: 3_000_000 });
    s.request(2, L, LOOKUP, { at: 4_000_000 });
    s.unlock(1, L, 0, { at: 10_000_000 }).acquired(2, L, LOOKUP, { at: 12_500_000 }).unlock(2, L, 0, { at: 20_000_000 });
    return record(s);
  }
  const slicesOf = async (args: string[]): Promise<{ trace: { otherData: { window?: unknown }; traceEvents: TraceEvent[] }; slices: string[] }> => {
    const r = await mutexAnalyze(['export', timedRun(), '--format', 'chrome', ...args]);
    assert.equal(r.code, 0, r.stderr);
    const trace = JSON.parse(r.stdout) as { otherData: { window?: unknown }; traceEvents: TraceEvent[] };
    return { trace, slices: trace.traceEvents.filter((e) => e.ph === 'X').map((e) => `${e.tid}:${e.cat}`) };
  };

  test('only the slices that overlap the window, whole; the window in otherData', async () => {
    const all = await slicesOf([]);
    assert.deepEqual(all.slices, ['1:wait', '1:hold', '2:wait', '2:hold']);
    assert.equal(all.trace.otherData.window, undefined);
    const late = await slicesOf(['--from', '0.011']);
    assert.deepEqual(late.slices, ['2:wait', '2:hold']); // thread 1's hold ended at 10 ms
    assert.deepEqual(late.trace.otherData.window, { fromSeconds: 0.011, toSeconds: null });
    const early = await slicesOf(['--from', '0', '--to', '0.0035']);
    assert.deepEqual(early.slices, ['1:wait', '1:hold']); // thread 2 asked at 4 ms
    const hold = early.trace.traceEvents.find((e) => e.cat === 'hold')!;
    assert.deepEqual([hold.ts, hold.dur], [3000, 7000], 'not cut at the window\'s edge');
  });

  test('--from after --to, or a window on another format: one line, exit 2', async () => {
    const path = timedRun();
    const backwards = await mutexAnalyze(['export', path, '--format', 'chrome', '--from', '2', '--to', '1']);
    assert.equal(backwards.code, 2);
    assert.match(backwards.stderr, /--from 2 is after --to 1/);
    const folded = await mutexAnalyze(['export', path, '--format', 'folded', '--from', '1']);
    assert.equal(folded.code, 2);
    assert.match(folded.stderr, /use them with --format chrome/);
  });

  test('a trace above 100 MB is warned about, with the window options', () => {
    assert.equal(chromeTraceSizeWarning({ bytes: 99e6, slices: 1 }), null);
    assert.match(chromeTraceSizeWarning({ bytes: 576e6, slices: 3_400_000 })!, /^the trace is 576 MB \(3,400,000 slices\).*--from and --to/);
  });
});
