import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Func } from '../core/events';
import { buildBlockers, type BlockersReport } from '../analyzer/blockers';
import { RunFile } from '../runfile/runfile';
import { LockScript } from './lib/lockscript';
import { mutexAnalyze } from './lib/tools';
import { ScratchRuns } from './lib/synthetic';

const L = 0xa000;
const M = 0xb000;
const COMPACT = 0x1010; // where the holders take the lock
const FLUSH = 0x2010; // where the waiters ask for it
const SYNC = 0x3010;
const SYMBOLS = [
  { address: L, name: 'journal_lock', kind: 'data' as const },
  { address: M, name: 'index_lock', kind: 'data' as const },
  { address: COMPACT, name: 'compact_index+0x33', kind: 'code' as const },
  { address: FLUSH, name: 'flush_log+0x1c', kind: 'code' as const },
  { address: SYNC, name: 'sync_all+0x10', kind: 'code' as const },
];
const THREADS = { 1: 'compactor', 2: 'flusher', 3: 'syncer', 4: 'flusher' };

const runs = new ScratchRuns({ symbols: SYMBOLS, threads: THREADS });
const record = (script: LockScript): string => runs.write(script.events);

function blockers(script: LockScript, opts: { lock?: number } = {}): BlockersReport {
  const run = RunFile.open(record(script));
  try {
    return buildBlockers(run, { top: 20, ...opts });
  } finally {
    run.close();
  }
}

/** `holder` takes `lock` at `holderSite`; `waiter` asks for it at `waiterSite` and gets it `waitNs` later when the holder lets go. */
function blocked(s: LockScript, holder: number, holderSite: number, waiter: number, waiterSite: number, waitNs: number, lock = L): LockScript {
  s.lock(holder, lock, holderSite).request(waiter, lock, waiterSite);
  const requested = s.events[s.events.length - 1].ts;
  return s.unlock(holder, lock, 0, { at: requested + waitNs - 500 }).acquired(waiter, lock, waiterSite, { at: requested + waitNs }).unlock(waiter, lock);
}

describe('owners at contention on hand-made runs', () => {
  test('a wait is credited to the holder thread and where it had acquired the lock', () => {
    const r = blockers(blocked(new LockScript(), 1, COMPACT, 2, FLUSH, 12_000_000));
    assert.equal(r.rows.length, 1);
    const [row] = r.rows;
    assert.equal(row.holderSite, 'compact_index+0x33');
    assert.equal(row.waiterSite, 'flush_log+0x1c');
    assert.deepEqual(row.holders, [{ tid: 1, comm: 'compactor', waits: 1 }]);
    assert.deepEqual(row.waiters, [{ tid: 2, comm: 'flusher', waits: 1 }]);
    assert.deepEqual(row.locks, [{ lock: '0xa000', name: 'journal_lock', waits: 1 }]);
    assert.deepEqual(row.wait, { total: 12_000_000, mean: 12_000_000, max: 12_000_000 });
  });

  test('rows are (holder site, waiter site) pairs, by total wait, with the most frequent threads first', () => {
    const s = new LockScript();
    blocked(s, 1, COMPACT, 2, FLUSH, 1_000_000);
    blocked(s, 1, COMPACT, 4, FLUSH, 2_000_000);
    blocked(s, 1, COMPACT, 4, FLUSH, 3_000_000);
    blocked(s, 3, SYNC, 2, FLUSH, 50_000_000);
    const r = blockers(s);
    assert.equal(r.pairs, 2);
    assert.deepEqual(r.rows.map((x) => [x.holderSite, x.waiterSite, x.waits, x.wait.total]), [
      ['sync_all+0x10', 'flush_log+0x1c', 1, 50_000_000],
      ['compact_index+0x33', 'flush_log+0x1c', 3, 6_000_000],
    ]);
    assert.deepEqual(r.rows[1].waiters.map((t) => [t.tid, t.waits]), [[4, 2], [2, 1]]);
    assert.equal(r.rows[1].waiterThreads, 2);
    assert.equal(r.contended.waits, 4);
    assert.equal(r.contended.totalNs, 56_000_000);
  });

  test('when threads hold the lock in turn during one wait, only the first holder is credited', () => {
    const s = new LockScript();
    s.lock(1, L, COMPACT);
    s.request(3, L, SYNC); // waits behind thread 1
    s.request(2, L, FLUSH); // also waits behind thread 1
    s.unlock(1, L).acquired(3, L, SYNC).unlock(3, L); // thread 3 goes first ...
    s.acquired(2, L, FLUSH).unlock(2, L); // ... so thread 2 also waited for thread 3, uncredited
    const flush = blockers(s).rows.find((x) => x.waiterSite === 'flush_log+0x1c')!;
    assert.equal(flush.holderSite, 'compact_index+0x33');
    assert.deepEqual(flush.holders.map((t) => t.tid), [1]);
  });

  test('a recursive holder is credited at its outermost acquisition', () => {
    const s = new LockScript().recursive(L);
    s.lock(1, L, COMPACT).lock(1, L, SYNC); // re-entered at SYNC
    s.request(2, L, FLUSH);
    s.unlock(1, L).unlock(1, L).acquired(2, L, FLUSH).unlock(2, L);
    assert.equal(blockers(s).rows[0].holderSite, 'compact_index+0x33');
  });

  test('--lock keeps one lock; uncontended acquisitions are no rows', () => {
    const s = new LockScript();
    blocked(s, 1, COMPACT, 2, FLUSH, 1_000_000, L);
    blocked(s, 1, SYNC, 2, FLUSH, 1_000_000, M);
    s.lock(3, L, SYNC).unlock(3, L);
    const r = blockers(s, { lock: M });
    assert.deepEqual(r.rows.map((x) => x.holderSite), ['sync_all+0x10']);
    assert.equal(r.contended.waits, 1);
  });

  test('contended waits the kernel contention tracepoint saw have no holder: counted apart', () => {
    const s = new LockScript();
    s.lock(2, L, FLUSH, { func: Func.KernelContention, waitNs: 7_000 });
    const r = blockers(s);
    assert.deepEqual(r.rows, []);
    assert.deepEqual(r.unattributed, { waits: 1, totalNs: 7_000 });
  });
});

describe('mutex-analyze report --blockers', () => {
  test('one line per pair: who waited where, blocked by whom holding since where', async () => {
    const s = new LockScript();
    blocked(s, 1, COMPACT, 2, FLUSH, 12_000_000);
    blocked(s, 1, COMPACT, 2, FLUSH, 12_000_000);
    const r = await mutexAnalyze(['report', record(s), '--blockers']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^ {2}24\.0 ms in 2 waits \(mean 12\.0 ms, max 12\.0 ms\): tid 2 \(flusher\) waited in flush_log\+0x1c, blocked by tid 1 \(compactor\) holding since compact_index\+0x33; lock journal_lock$/m,
    );
  });

  test('--blockers with --by is refused', async () => {
    const r = await mutexAnalyze(['report', record(blocked(new LockScript(), 1, COMPACT, 2, FLUSH, 1000)), '--blockers', '--by', 'thread']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--blockers has its own rows/);
  });
});
