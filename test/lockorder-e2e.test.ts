import assert from 'node:assert/strict';
import { join as joinPath } from 'node:path';
import { before, describe, test } from 'node:test';

import type { LockOrderReport } from '../analyzer/lockorder';
import { functionOfSite } from './lib/sites';
import { mutexAnalyze, mutexRec } from './lib/tools';
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
