import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { EBUSY, Func, Stage, isCondWait } from '../core/events';
import type { Report, ReportRow } from '../analyzer/report';
import { LockScript } from './lib/lockscript';
import { simulatedEvents } from './lib/simulate';
import { join, mutexAnalyze } from './lib/tools';
import { ScratchRuns, type SyntheticRunOptions } from './lib/synthetic';

const L = 0xa000;
const M = 0xb000;
const INSERT = 0x1010; // call sites
const LOOKUP = 0x1020;
const UNNAMED = 0x1030;
const LOCK_FN = 0x7000; // frames
const HANDLE = 0x4010;
const MAIN = 0x5010;
const SYMBOLS: SyntheticRunOptions['symbols'] = [
  { address: L, name: 'cache_lock', kind: 'data' },
  { address: INSERT, name: 'cache_insert+0x1c', kind: 'code' },
  { address: LOOKUP, name: 'cache_lookup+0x10', kind: 'code' },
  { address: LOCK_FN, name: 'pthread_mutex_lock', kind: 'code' },
  { address: HANDLE, name: 'handle_request+0x40', kind: 'code' },
  { address: MAIN, name: 'main+0x10', kind: 'code' },
];

const runs = new ScratchRuns({ symbols: SYMBOLS, threads: { 1: 'one', 2: 'two' } });
const record = (script: LockScript, opts?: SyntheticRunOptions): string => runs.write(script.events, opts);

async function report(path: string, ...args: string[]): Promise<Report> {
  const r = await mutexAnalyze(['report', path, '--format', 'json', '--sort', 'wait', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

const byName = (rows: ReportRow[]): Map<string, ReportRow> => new Map(rows.map((row) => [row.name, row]));

describe('report --by callsite', () => {
  test('one row per call site of the lock call, over all locks, with the per-lock columns', async () => {
    const s = new LockScript();
    s.lock(1, L, INSERT, { waitNs: 5_000 }).unlock(1, L);
    s.lock(2, M, INSERT, { waitNs: 7_000 }).unlock(2, M);
    s.lock(1, L, LOOKUP, { waitNs: 3_000 }).unlock(1, L);
    s.lock(2, L, UNNAMED, { func: Func.PthreadMutexTrylock }); // EBUSY below
    s.events[s.events.length - 1].ret = EBUSY;
    const r = await report(record(s), '--by', 'callsite');
    assert.equal(r.by, 'callsite');
    const rows = byName(r.rows);
    assert.deepEqual([...rows.keys()], ['cache_insert+0x1c', 'cache_lookup+0x10', '0x1030']);
    const insert = rows.get('cache_insert+0x1c')!;
    assert.equal(insert.key, '0x1010');
    assert.equal(insert.acquisitions, 2);
    assert.equal(insert.wait!.total, 12_000);
    assert.deepEqual(rows.get('0x1030')!.failed, { EBUSY: 1 }, 'an unnamed site shows its address; failed attempts count at their site');
  });

  test('contended acquisitions count at the waiter\'s call site', async () => {
    const s = new LockScript();
    s.lock(1, L, INSERT).request(2, L, LOOKUP).unlock(1, L).acquired(2, L, LOOKUP).unlock(2, L);
    const rows = byName((await report(record(s), '--by', 'callsite')).rows);
    assert.equal(rows.get('cache_lookup+0x10')!.contended, 1);
    assert.equal(rows.get('cache_insert+0x1c')!.contended, 0);
  });

  test('report --lock lists the top call sites of that lock\'s wait', async () => {
    const s = new LockScript();
    s.lock(1, L, INSERT, { waitNs: 1_000 }).unlock(1, L);
    s.lock(1, L, LOOKUP, { waitNs: 9_000 }).unlock(1, L);
    s.lock(1, M, UNNAMED, { waitNs: 99_000 }).unlock(1, M);
    const r = await report(record(s), '--lock', '0xa000');
    assert.deepEqual(r.lock!.callsites.map((row) => [row.name, row.wait!.total]), [['cache_lookup+0x10', 9_000], ['cache_insert+0x1c', 1_000]]);
  });
});

describe('report --by callsite --stack', () => {
  test('one row per whole stack, frames innermost first with the call site put back after the lock function', async () => {
    const s = new LockScript();
    // One stack id for both call sites of one function: the recorded walk skips the call site.
    s.lock(1, L, INSERT, { stackId: 1, waitNs: 4_000 }).unlock(1, L);
    s.lock(1, L, INSERT, { stackId: 1, waitNs: 6_000 }).unlock(1, L);
    s.lock(1, L, LOOKUP, { stackId: 1, waitNs: 1_000 }).unlock(1, L);
    s.lock(2, L, LOOKUP, { waitNs: 2_000 }).unlock(2, L); // no stack
    const r = await report(record(s, { stacks: { 1: [LOCK_FN, HANDLE, MAIN] } }), '--by', 'callsite', '--stack');
    assert.equal(r.by, 'stack');
    assert.deepEqual(r.rows.map((row) => [row.key, row.name, row.acquisitions, row.wait!.total]), [
      ['1:0x1010', 'pthread_mutex_lock;cache_insert+0x1c;handle_request+0x40;main+0x10', 2, 10_000],
      ['none:0x1020', 'cache_lookup+0x10 (no stack)', 1, 2_000],
      ['1:0x1020', 'pthread_mutex_lock;cache_lookup+0x10;handle_request+0x40;main+0x10', 1, 1_000],
    ]);
  });

  test('a run without stacks: one line saying so, exit 2', async () => {
    const path = record(new LockScript().lock(1, L, INSERT).unlock(1, L));
    const r = await mutexAnalyze(['report', path, '--by', 'callsite', '--stack']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^mutex-analyze: \S+ has no call stacks .*\n$/);
  });

  test('--stack without --by callsite is refused', async () => {
    const r = await mutexAnalyze(['report', record(new LockScript().lock(1, L, INSERT).unlock(1, L)), '--stack']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /use it with --by callsite/);
  });

  test('the table names its columns', async () => {
    const s = new LockScript().lock(1, L, INSERT, { stackId: 1 }).unlock(1, L);
    const r = await mutexAnalyze(['report', record(s, { stacks: { 1: [LOCK_FN, MAIN] } }), '--by', 'callsite', '--stack']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Top 1 of 1 stacks by contended wait:$/m);
    assert.match(r.stdout, /^STACK:CALLER +FRAMES \(innermost first\) +ACQ/m);
    assert.match(r.stdout, /^1:0x1010 +pthread_mutex_lock;cache_insert\+0x1c;main\+0x10 +1 /m);
  });
});

describe('the join carries where things happened', () => {
  test("each acquisition has its own request's stack, failures their own call site, and a blocked one where its blocker had acquired the lock", () => {
    for (const seed of [1, 2, 3]) {
      const events = simulatedEvents(seed, 20_000);
      const joined = join(events);
      // A cond wait's re-acquisition is requested at its return: its requestTs (schema 5) is the cond wait's entry.
      const requests = new Map(events.filter((e) => e.stage === Stage.Acquired).map((e) => [`${e.tid}@${isCondWait(e.func) ? e.ts : e.requestTs}`, e]));
      assert.deepEqual(
        joined.failed.map((f) => f.requestCaller),
        joined.failed.map((f) => requests.get(`${f.tid}@${f.requestTs}`)!.caller),
        'failed attempts at their own call site',
      );
      let checked = 0;
      for (const a of joined.acquisitions) {
        assert.equal(a.requestStackId, requests.get(`${a.tid}@${a.requestTs}`)!.stackId ?? null, 'the stack of its own request');
        if (a.blockerTid === null) {
          assert.equal(a.blockerCaller, null);
          continue;
        }
        // The blocker's hold, when the join completed it (a lost release leaves it unreported).
        const hold = joined.acquisitions.find((h) => h.tid === a.blockerTid && h.lock === a.lock && h.acquiredTs < a.requestTs && h.releasedTs! > a.requestTs);
        if (!hold) continue;
        assert.equal(a.blockerCaller, hold.requestCaller, 'where the blocker had acquired the lock');
        checked++;
      }
      assert.ok(checked > 20, `${checked} contended acquisitions checked`);
    }
  });
});
