import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Func } from '../core/events';
import { elementaryCycles } from '../analyzer/cycles';
import { buildLockOrder, type LockOrderReport } from '../analyzer/lockorder';
import { RunFile } from '../runfile/runfile';
import { LockScript } from './lib/lockscript';
import { mutexAnalyze } from './lib/tools';
import { ScratchRuns } from './lib/synthetic';

const A = 0xa000;
const B = 0xb000;
const C = 0xc000;
const SYMBOLS = [
  { address: A, name: 'lock_a', kind: 'data' as const },
  { address: B, name: 'lock_b', kind: 'data' as const },
  { address: C, name: 'lock_c', kind: 'data' as const },
  { address: 0x1010, name: 'take_ab+0x10', kind: 'code' as const },
  { address: 0x1020, name: 'take_ab+0x20', kind: 'code' as const },
  { address: 0x2010, name: 'take_ba+0x10', kind: 'code' as const },
  { address: 0x2020, name: 'take_ba+0x20', kind: 'code' as const },
];

const runs = new ScratchRuns({ symbols: SYMBOLS, threads: { 1: 't-one', 2: 't-two', 3: 't-three' } });
const record = (script: LockScript): string => runs.write(script.events);

function lockOrder(script: LockScript, maxCycles = 100): LockOrderReport {
  const run = RunFile.open(record(script));
  try {
    return buildLockOrder(run, { maxCycles });
  } finally {
    run.close();
  }
}

/** Each cycle as its lock names, e.g. "lock_a>lock_b". */
function cycleNames(r: LockOrderReport): string[] {
  return r.cycles.map((c) => c.locks.map((l) => l.name).join('>'));
}

/** Thread `tid` takes `first` then `second` at the given call sites, and lets both go. */
function nested(s: LockScript, tid: number, first: number, second: number, sites: [number, number] = [0x9010, 0x9020]): LockScript {
  return s.lock(tid, first, sites[0]).lock(tid, second, sites[1]).unlock(tid, second).unlock(tid, first);
}

describe('lock-order graph and cycles on hand-made runs', () => {
  test('calls still waiting at the end make edges: two threads each holding what the other waits for are a deadlocked cycle', () => {
    const deadlock = new LockScript().lock(1, A, 0x1010).lock(2, B, 0x2010).request(1, B, 0x1020).request(2, A, 0x2020);
    const r = lockOrder(deadlock);
    assert.deepEqual(cycleNames(r), ['lock_a>lock_b']);
    assert.equal(r.cycles[0].deadlocked, true);
    assert.deepEqual(r.cycles[0].edges.map((e) => [e.from.name, e.to.name, e.count, e.waiting, e.sites[0].acquiredAt]), [
      ['lock_a', 'lock_b', 1, 1, 'take_ab+0x20'],
      ['lock_b', 'lock_a', 1, 1, 'take_ba+0x20'],
    ]);
    assert.equal(r.waitingCalls, 2);

    // One thread waiting, the other's edge from a real acquisition: a cycle, not (yet) a deadlock.
    const half = new LockScript().lock(1, A, 0x1010).lock(1, B, 0x1020).unlock(1, B).unlock(1, A).lock(2, B, 0x2010).request(2, A, 0x2020);
    const h = lockOrder(half);
    assert.deepEqual([cycleNames(h), h.cycles[0].deadlocked], [['lock_a>lock_b'], false]);

    // A waiting trylock cannot deadlock: no edge.
    const trylock = new LockScript().lock(1, A, 0x1010).request(1, B, 0x1020, { func: Func.PthreadMutexTrylock });
    assert.equal(lockOrder(trylock).edges, 0);
  });

  test('AB/BA: one cycle, each edge with the call sites of both acquisitions and its thread', () => {
    const s = new LockScript();
    nested(s, 1, A, B, [0x1010, 0x1020]);
    nested(s, 2, B, A, [0x2010, 0x2020]);
    const r = lockOrder(s);
    assert.deepEqual(cycleNames(r), ['lock_a>lock_b']);
    const [ab, ba] = r.cycles[0].edges;
    assert.equal(ab.from.name, 'lock_a');
    assert.equal(ab.to.name, 'lock_b');
    assert.deepEqual(ab.sites.map((x) => [x.heldAt, x.acquiredAt, x.count]), [['take_ab+0x10', 'take_ab+0x20', 1]]);
    assert.deepEqual(ab.threads, [{ tid: 1, comm: 't-one', count: 1 }]);
    assert.deepEqual(ba.sites.map((x) => [x.heldAt, x.acquiredAt]), [['take_ba+0x10', 'take_ba+0x20']]);
    assert.deepEqual(ba.threads.map((t) => t.tid), [2]);
    assert.equal(r.locks, 2);
    assert.equal(r.edges, 2);
    assert.equal(r.nestedAcquisitions, 2);
  });

  test('A->B->C->A across three threads: one cycle of three, no shorter one', () => {
    const s = new LockScript();
    nested(s, 1, A, B);
    nested(s, 2, B, C);
    nested(s, 3, C, A);
    const r = lockOrder(s);
    assert.deepEqual(cycleNames(r), ['lock_a>lock_b>lock_c']);
    assert.deepEqual(r.cycles[0].edges.map((e) => e.threads[0].tid), [1, 2, 3]);
  });

  test('one consistent order (A before B before C, in any subset): no cycle', () => {
    const s = new LockScript();
    nested(s, 1, A, B);
    nested(s, 2, B, C);
    nested(s, 3, A, C);
    s.lock(1, A, 0x9010).lock(1, B, 0x9020).lock(1, C, 0x9030).unlock(1, C).unlock(1, B).unlock(1, A);
    const r = lockOrder(s);
    assert.deepEqual(r.cycles, []);
    assert.equal(r.edges, 3);
  });

  test('a normal mutex taken again by its holder lost a release: no A->A edge, and the lock is held once', () => {
    const s = new LockScript();
    s.lock(1, A, 0x9010).lock(1, A, 0x9011); // the unlock between them was lost
    s.unlock(1, A); // released now
    s.lock(1, B, 0x9020).unlock(1, B); // nothing held: no edge
    const r = lockOrder(s);
    assert.equal(r.edges, 0);
    assert.equal(r.nestedAcquisitions, 0);
  });

  test('a recursive re-entry is no edge, and the lock stays held until its last unlock', () => {
    const s = new LockScript().recursive(A);
    s.lock(1, A, 0x9010).lock(1, A, 0x9011); // re-entry: no A->A
    s.unlock(1, A); // depth 1: still held
    s.lock(1, B, 0x9020).unlock(1, B); // A->B
    s.unlock(1, A); // now released
    s.lock(1, C, 0x9030).unlock(1, C); // nothing held: no edge
    const r = lockOrder(s);
    assert.equal(r.edges, 1);
    assert.equal(r.nestedAcquisitions, 1);
    nested(s, 2, B, A);
    assert.deepEqual(cycleNames(lockOrder(s)), ['lock_a>lock_b'], 'the A->B edge made while A was re-entered counts');
  });

  test('a cond wait releases its mutex and re-acquires it: holding B then, that is a B->A edge', () => {
    const s = new LockScript();
    s.lock(1, A, 0x9010).lock(1, B, 0x9020); // A->B
    s.condWait(1, A, 0x9030); // A let go and taken again while B is held: B->A
    s.unlock(1, B).unlock(1, A);
    const r = lockOrder(s);
    assert.deepEqual(cycleNames(r), ['lock_a>lock_b']);
    assert.equal(r.cycles[0].edges[1].sites[0].acquiredAtAddress, '0x9030');
  });

  test('a cond wait on a re-entered mutex gives it up entirely and takes it back at the same depth', () => {
    const s = new LockScript().recursive(A);
    s.lock(1, A, 0x9010).lock(1, A, 0x9011).condWait(1, A, 0x9012);
    s.unlock(1, A); // depth 2 -> 1: still held
    s.lock(1, B, 0x9020).unlock(1, B); // A->B
    s.unlock(1, A);
    s.lock(1, C, 0x9030).unlock(1, C); // nothing held
    const r = lockOrder(s);
    assert.equal(r.edges, 1);
    assert.equal(r.nestedAcquisitions, 1);
  });

  test('a lock acquired by another thread while its holder never released it (a lost event) leaves the old holder', () => {
    const s = new LockScript();
    s.lock(1, A, 0x9010); // thread 1's unlock was dropped
    s.lock(2, A, 0x9020).unlock(2, A);
    s.lock(1, B, 0x9030).unlock(1, B); // thread 1 holds nothing by now
    assert.equal(lockOrder(s).edges, 0);
  });

  test('a release by another thread ends the hold: the holder makes no edge from that lock afterwards', () => {
    const s = new LockScript();
    s.lock(1, A, 0x9010);
    s.unlock(2, A); // thread 2 unlocks what thread 1 locked
    s.lock(1, B, 0x9020).unlock(1, B);
    assert.equal(lockOrder(s).edges, 0);
  });

  test('a successful trylock makes no edge into the lock it took, but later locks make edges from it', () => {
    const s = new LockScript();
    s.lock(1, A, 0x9010);
    s.lock(1, B, 0x9020, { func: Func.PthreadMutexTrylock }); // no A->B
    s.lock(1, C, 0x9030); // A->C, B->C
    s.unlock(1, C).unlock(1, B).unlock(1, A);
    nested(s, 2, B, A); // B->A: no cycle without A->B
    const r = lockOrder(s);
    assert.deepEqual(cycleNames(r), []);
    assert.equal(r.edges, 3);
  });

  test('--max-cycles caps the list and says so', () => {
    const s = new LockScript();
    for (const [x, y] of [[A, B], [B, A], [B, C], [C, B], [A, C], [C, A]]) nested(s, 1, x, y);
    const all = lockOrder(s);
    assert.equal(all.cycles.length, 5); // AB, AC, BC, A>B>C, A>C>B
    assert.equal(all.capped, false);
    const capped = lockOrder(s, 2);
    assert.equal(capped.cycles.length, 2);
    assert.equal(capped.capped, true);
  });
});

describe('elementary cycles (Johnson)', () => {
  test('the complete digraph on 4 nodes has 20 elementary cycles, each once', () => {
    const nodes = [1, 2, 3, 4];
    const graph = new Map(nodes.map((n) => [n, nodes.filter((m) => m !== n)]));
    const { cycles } = elementaryCycles(graph, 1000);
    const canonical = new Set(cycles.map((c) => {
      const i = c.indexOf(Math.min(...c));
      return [...c.slice(i), ...c.slice(0, i)].join(',');
    }));
    assert.equal(cycles.length, 20); // 6 of two nodes, 8 of three, 6 of four
    assert.equal(canonical.size, 20);
  });

  test('a long chain closed into a ring: one cycle, without deep recursion', () => {
    const n = 50_000;
    const graph = new Map(Array.from({ length: n }, (_, i) => [i, [(i + 1) % n]]));
    const { cycles } = elementaryCycles(graph, 10);
    assert.equal(cycles.length, 1);
    assert.equal(cycles[0].length, n);
  });
});

describe('mutex-analyze lockorder', () => {
  test('a cycle: listed with its call sites; exit 0, or 1 with --fail-on-cycle', async () => {
    const s = new LockScript();
    nested(s, 1, A, B, [0x1010, 0x1020]);
    nested(s, 2, B, A, [0x2010, 0x2020]);
    const path = record(s);
    const r = await mutexAnalyze(['lockorder', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^cycle 1: lock_a -> lock_b -> lock_a$/m);
    assert.match(r.stdout, /held since take_ab\+0x10, then acquired at take_ab\+0x20: 1 time/);
    assert.match(r.stdout, /held since take_ba\+0x10, then acquired at take_ba\+0x20: 1 time/);
    assert.equal((await mutexAnalyze(['lockorder', path, '--fail-on-cycle'])).code, 1);
  });

  test('no cycle: says so; exit 0 even with --fail-on-cycle', async () => {
    const path = record(nested(nested(new LockScript(), 1, A, B), 2, A, B));
    const r = await mutexAnalyze(['lockorder', path, '--fail-on-cycle']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^no lock-order cycles/m);
  });
});
