// tier: probes
import assert from 'node:assert/strict';
import { join as joinPath } from 'node:path';
import { before, describe, test } from 'node:test';

import Database from 'better-sqlite3';

import type { LockOrderReport } from '../analyzer/lockorder';
import { formatAddress, Stage } from '../core/events';
import { functionOfSite } from './lib/sites';
import { mutexAnalyze, mutexRec, mutexRecHanging } from './lib/tools';
import { parseLines, scratchDir, workload } from './lib/workloads';

interface Recorded {
  report: LockOrderReport;
  locks: { a: string; b: string };
  tids: Map<string, number>; // thread name -> tid
}

let dir: string;
let exe: string;
before(() => {
  dir = scratchDir();
  exe = workload('order');
});

async function recordOrder(mode: 'inversion' | 'ordered'): Promise<Recorded> {
  const path = joinPath(dir, `${mode}.db`);
  const r = await mutexRec(['-o', path, '--', exe, mode]);
  assert.equal(r.code, 0, r.stderr);
  const [locks] = parseLines(r.stdout, 'locks');
  const tids = new Map(parseLines(r.stdout, 'thread').map((t) => [t.name, Number(t.tid)]));
  const analyzed = await mutexAnalyze(['lockorder', path, '--format', 'json']);
  assert.equal(analyzed.code, 0, analyzed.stderr);
  return { report: JSON.parse(analyzed.stdout) as LockOrderReport, locks: { a: locks.a, b: locks.b }, tids };
}

describe('lockorder on real recordings of test/workloads/order.c', () => {
  test('inversion: the AB/BA cycle, each edge at its two call sites in order.c, by its thread', async () => {
    const { report, locks, tids } = await recordOrder('inversion');
    assert.equal(report.cycles.length, 1, JSON.stringify(report.cycles));
    assert.equal(report.cycles[0].deadlocked, false, 'the threads ran one after the other');
    const edges = report.cycles[0].edges;
    const ab = edges.find((e) => e.from.lock === locks.a)!;
    const ba = edges.find((e) => e.from.lock === locks.b)!;
    assert.equal(ab.to.lock, locks.b);
    assert.equal(ba.to.lock, locks.a);
    for (const [edge, fn, thread] of [[ab, 'take_a_then_b', 't-ab'], [ba, 'take_b_then_a', 't-ba']] as const) {
      assert.equal(edge.sites.length, 1);
      const [site] = edge.sites;
      assert.equal(functionOfSite(exe, site.heldAt), fn, `held since ${site.heldAt}`);
      assert.equal(functionOfSite(exe, site.acquiredAt), fn, `acquired at ${site.acquiredAt}`);
      assert.notEqual(site.heldAtAddress, site.acquiredAtAddress, 'two distinct lock calls');
      assert.deepEqual(edge.threads.map((t) => t.tid), [tids.get(thread)]);
    }
  });

  test('ordered: both threads take A then B: no cycle', async () => {
    const { report } = await recordOrder('ordered');
    assert.deepEqual(report.cycles, []);
    assert.equal(report.edges, 1, 'the A->B edge, taken by both threads');
    assert.equal(report.nestedAcquisitions, 2);
  });
});

describe('a real deadlock (test/workloads/order.c deadlock), recorded while it hangs', () => {
  test('both waiting calls are kept as requests: waiting at the end in report, and the AB/BA cycle in lockorder', async () => {
    const path = joinPath(dir, 'deadlock.db');
    const { code, stdout, stderr } = await mutexRecHanging(['-d', '2', '-o', path, '--', exe, 'deadlock']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /deadlocked/);
    const db = new Database(path, { readonly: true });
    const [locks] = parseLines(stdout, 'locks');
    const tids = new Map(parseLines(stdout, 'thread').map((t) => [t.name, Number(t.tid)]));
    const waiting = db.prepare('SELECT tid, lock FROM events WHERE stage = ? ORDER BY tid').all(Stage.Request) as { tid: number; lock: number }[];
    db.close();
    assert.deepEqual(
      waiting.map((w) => [w.tid, formatAddress(w.lock)]).sort(),
      [[tids.get('t-ab'), locks.b], [tids.get('t-ba'), locks.a]].sort(),
      't-ab waits for b, t-ba for a',
    );

    const report = await mutexAnalyze(['report', path, '--format', 'json']);
    assert.equal(report.code, 0, report.stderr);
    const rows = (JSON.parse(report.stdout) as { rows: { lock?: string; key: string; open: { heldAtEnd: number; waitingAtEnd: number } }[] }).rows;
    for (const row of rows.filter((r) => r.open.waitingAtEnd + r.open.heldAtEnd > 0)) {
      assert.deepEqual([row.open.heldAtEnd, row.open.waitingAtEnd], [1, 1], `${row.key}: held by one thread, waited for by the other`);
    }
    assert.equal(rows.filter((r) => r.open.waitingAtEnd > 0).length, 2, report.stdout);

    const order = await mutexAnalyze(['lockorder', path, '--format', 'json']);
    assert.equal(order.code, 0, order.stderr);
    const { cycles } = JSON.parse(order.stdout) as LockOrderReport;
    assert.equal(cycles.length, 1, order.stdout);
    assert.deepEqual(cycles[0].edges.map((e) => [e.from.lock, e.to.lock]).sort(), [[locks.a, locks.b], [locks.b, locks.a]].sort());
    assert.equal(cycles[0].deadlocked, true);
    for (const [edge, fn] of cycles[0].edges.map((e) => [e, e.from.lock === locks.a ? 'hold_a_want_b' : 'hold_b_want_a'] as const)) {
      assert.equal(edge.waiting, 1);
      assert.equal(functionOfSite(exe, edge.sites[0].heldAt), fn, `held since ${edge.sites[0].heldAt}`);
      assert.equal(functionOfSite(exe, edge.sites[0].acquiredAt), fn, `asked for at ${edge.sites[0].acquiredAt}`);
    }
  });
});
