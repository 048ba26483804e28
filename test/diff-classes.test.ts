import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Func, Stage } from '../core/events';
import type { Diff, DiffRow } from '../analyzer/diff';
import type { Report } from '../analyzer/report';
import { mutexAnalyze } from './lib/tools';
import { ScratchRuns, type SyntheticEvent, type SyntheticRunOptions } from './lib/synthetic';

// Heap mutexes are named by their lock class (the stack they are taken from most), never by the
// order in which they were first used: that order, and their addresses, change between runs.
const SITE = 0x401010; // the innermost call site every lock here is first taken at
const LOCK_FN = 0x7f0000001000;
const FROM_INSERT = 0x402040; // two callers of SITE's function: two classes through one site
const FROM_EVICT = 0x402080;
const MAIN = 0x403010;
const GARBAGE = 0x6f72726520646000; // a frame-pointer walk gone through code without frame pointers
const STACK_INSERT = 1;
const STACK_EVICT = 2;
const STACK_INSERT_GARBAGE = 3; // STACK_INSERT with garbage past its last real frame
const STACK_INSERT_AT_0E = 4; // STACK_INSERT as a probe placed at pthread_mutex_lock+0xe takes it

const OPTIONS: SyntheticRunOptions = {
  mappings: [
    { start: 0x400000, end: 0x500000, path: '/usr/bin/server', executable: true },
    { start: 0x7f0000000000, end: 0x7f0000100000, path: '/usr/lib/libc.so.6', executable: true },
  ],
  symbols: [
    { address: SITE, name: 'rw_pr_wrlock+0xf', kind: 'code' },
    { address: LOCK_FN, name: 'pthread_mutex_lock', kind: 'code' },
    { address: LOCK_FN + 0xe, name: 'pthread_mutex_lock+0xe', kind: 'code' },
    { address: FROM_INSERT, name: 'cache_insert+0x40', kind: 'code' },
    { address: FROM_EVICT, name: 'cache_evict+0x20', kind: 'code' },
    { address: MAIN, name: 'main+0x10', kind: 'code' },
  ],
  stacks: {
    [STACK_INSERT]: [LOCK_FN, FROM_INSERT, MAIN],
    [STACK_EVICT]: [LOCK_FN, FROM_EVICT, MAIN],
    [STACK_INSERT_GARBAGE]: [LOCK_FN, FROM_INSERT, MAIN, GARBAGE],
    [STACK_INSERT_AT_0E]: [LOCK_FN + 0xe, FROM_INSERT, MAIN],
  },
};
const runs = new ScratchRuns(OPTIONS);

interface HeapLock {
  lock: number; // its heap address in this run
  stackId?: number; // of every request (none: a run without stacks)
  tid: number;
  acquisitions: number;
  holdNs: number;
}

/** Request, acquire 10 µs later, hold, 50 µs apart; the same ±5% wobble in every run. */
function events(locks: HeapLock[]): SyntheticEvent[] {
  return locks.flatMap((p) => {
    const out: SyntheticEvent[] = [];
    let t = 1000;
    for (let i = 0; i < p.acquisitions; i++) {
      const wobble = 1 + 0.05 * Math.sin(i * 1.7);
      const [wait, hold] = [Math.round(10_000 * wobble), Math.round(p.holdNs * wobble)];
      out.push({ ts: t, stage: Stage.Request, func: Func.PthreadMutexLock, tid: p.tid, lock: p.lock, ret: 0, caller: SITE, stackId: p.stackId });
      out.push({ ts: t + wait, stage: Stage.Acquired, func: Func.PthreadMutexLock, tid: p.tid, lock: p.lock, ret: 0 });
      out.push({ ts: t + wait + hold, stage: Stage.Released, func: Func.PthreadMutexUnlock, tid: p.tid, lock: p.lock, ret: 0 });
      t += wait + hold + 50_000;
    }
    return out;
  });
}

async function diff(base: string, after: string): Promise<Diff> {
  const r = await mutexAnalyze(['diff', base, after, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Diff;
}

const lockRows = (d: Diff): DiffRow[] => d.rows.filter((r) => r.lock !== 'overall');

async function lockNames(path: string): Promise<string[]> {
  const r = await mutexAnalyze(['report', path, '--format', 'json', '--sort', 'count']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as Report).rows.map((row) => row.name);
}

describe('diff matches heap mutexes by lock class', () => {
  test('first used in the other order, at other addresses: each class meets its counterpart, and identical data is no change', async () => {
    const insert = { stackId: STACK_INSERT, tid: 1, acquisitions: 400, holdNs: 100_000 };
    const evict = { stackId: STACK_EVICT, tid: 2, acquisitions: 400, holdNs: 5_000 };
    const base = runs.write(events([{ ...insert, lock: 0x5555000a000 }, { ...evict, lock: 0x5555000b000 }]));
    // In the new run evict's mutex is used first, and insert's walk ran on into garbage.
    const after = runs.write(events([{ ...evict, lock: 0x6666000c000 }, { ...insert, lock: 0x6666000d000, stackId: STACK_INSERT_GARBAGE }]));

    const d = await diff(base, after);
    const rows = lockRows(d);
    assert.equal(rows.length, 2, rows.map((r) => r.lock).join(', '));
    assert.deepEqual(rows.map((r) => r.lock).sort(), ['mutex@cache_evict+0x20', 'mutex@cache_insert+0x40'], 'two classes through one site: named by the frame that tells them apart');
    for (const row of rows) {
      assert.deepEqual([row.match, row.status, row.verdict], ['stack', 'matched', '~']);
      assert.deepEqual(row.acquisitions, { base: 400, new: 400 });
      assert.equal(row.metrics.holdP50.changePct, 0);
    }
    assert.notEqual(rows[0].lock, rows[1].lock);
    assert.deepEqual(d.summary, { regressed: 0, improved: 0, unchanged: 3, untested: 0, inconclusive: 0, new: 0, gone: 0 });
  });

  test('two instances of a class on one side and one on the other: pooled into one row', async () => {
    const insert = { stackId: STACK_INSERT, acquisitions: 300, holdNs: 20_000 };
    const base = runs.write(events([{ ...insert, lock: 0x5555000a000, tid: 1 }, { ...insert, lock: 0x5555000b000, tid: 2 }]));
    const after = runs.write(events([{ ...insert, lock: 0x6666000a000, tid: 1, acquisitions: 600 }]));
    assert.deepEqual(await lockNames(base), ['mutex@rw_pr_wrlock+0xf', 'mutex@rw_pr_wrlock+0xf#2'], 'report numbers the instances, for display');

    const rows = lockRows(await diff(base, after));
    assert.deepEqual(
      rows.map((r) => [r.lock, r.match, r.status, r.acquisitions.base, r.acquisitions.new]),
      [['mutex@rw_pr_wrlock+0xf', 'stack', 'matched', 600, 600]],
    );
    assert.ok(Math.abs(rows[0].metrics.holdP50.changePct!) < 1, `hold p50 change ${rows[0].metrics.holdP50.changePct}%: the same holds, pooled`);
  });

  test('a mutex taken from two stacks is named by the one it is taken from most, whichever a run saw first', async () => {
    const insert = { stackId: STACK_INSERT, tid: 1, acquisitions: 400, holdNs: 20_000 };
    const evict = { stackId: STACK_EVICT, tid: 2, acquisitions: 5, holdNs: 20_000 };
    // Attached at different moments: one recording first sees the rare evict path, the other the insert path.
    const base = runs.write(events([{ ...evict, lock: 0x5555000a000 }, { ...insert, lock: 0x5555000a000 }]));
    const after = runs.write(events([{ ...insert, lock: 0x6666000a000 }, { ...evict, lock: 0x6666000a000 }]));
    const rows = lockRows(await diff(base, after));
    assert.deepEqual(rows.map((r) => [r.lock, r.match, r.status, r.acquisitions.base, r.acquisitions.new]), [['mutex@rw_pr_wrlock+0xf', 'stack', 'matched', 405, 405]]);
  });

  test('a mutex taken about equally often from two stacks is one class, whichever wins by a few calls', async () => {
    const at = (lock: number, insertCalls: number, evictCalls: number): HeapLock[] => [
      { lock, stackId: STACK_INSERT, tid: 1, acquisitions: insertCalls, holdNs: 20_000 },
      { lock, stackId: STACK_EVICT, tid: 2, acquisitions: evictCalls, holdNs: 20_000 },
    ];
    const base = runs.write(events(at(0x5555000a000, 101, 99)));
    const after = runs.write(events(at(0x6666000a000, 99, 101)));
    const rows = lockRows(await diff(base, after));
    assert.deepEqual(rows.map((r) => [r.lock, r.status, r.acquisitions.base, r.acquisitions.new]), [['mutex@rw_pr_wrlock+0xf (+1)', 'matched', 200, 200]]);
  });

  test('the same class whatever instruction of the lock function the probe sat on', async () => {
    const insert = { tid: 1, acquisitions: 200, holdNs: 20_000 };
    const base = runs.write(events([{ ...insert, lock: 0x5555000a000, stackId: STACK_INSERT }]));
    const after = runs.write(events([{ ...insert, lock: 0x6666000a000, stackId: STACK_INSERT_AT_0E }]));
    const rows = lockRows(await diff(base, after));
    assert.deepEqual(rows.map((r) => [r.lock, r.status]), [['mutex@rw_pr_wrlock+0xf', 'matched']]);
  });

  test('a run without stacks falls back to the call site: mutex@SITE, matched by it', async () => {
    const plain = { tid: 1, acquisitions: 200, holdNs: 20_000 };
    const base = runs.write(events([{ ...plain, lock: 0x5555000a000 }]), { stacks: {} });
    const after = runs.write(events([{ ...plain, lock: 0x6666000a000 }]), { stacks: {} });
    const rows = lockRows(await diff(base, after));
    assert.deepEqual(rows.map((r) => [r.lock, r.match, r.status]), [['mutex@rw_pr_wrlock+0xf', 'callsite', 'matched']]);
  });
});
