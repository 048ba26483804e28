// tier: probes
import assert from 'node:assert/strict';
import { join as joinPath } from 'node:path';
import { before, describe, test } from 'node:test';

import type { BlockersReport } from '../analyzer/blockers';
import type { Report } from '../analyzer/report';
import { functionOfSite } from './lib/sites';
import { mutexAnalyze, mutexRec } from './lib/tools';
import { parseLines, scratchDir, workload } from './lib/workloads';

const ROUNDS = 3;
const HOLD_MS = 20;

describe('owners at contention on a real recording of test/workloads/blockers.c', () => {
  let exe: string;
  let runPath: string;
  let lock: string;
  let tids: Map<string, number>;
  before(async () => {
    exe = workload('blockers');
    runPath = joinPath(scratchDir(), 'blockers.db');
    const r = await mutexRec(['-o', runPath, '--', exe, String(ROUNDS), String(HOLD_MS)]);
    assert.equal(r.code, 0, r.stderr);
    lock = parseLines(r.stdout, 'lock')[0].addr;
    tids = new Map(parseLines(r.stdout, 'thread').map((t) => [t.name, Number(t.tid)]));
  });

  test('--blockers: the flusher waited in flush_journal, blocked by the compactor holding since compact_journal', async () => {
    const r = await mutexAnalyze(['report', runPath, '--blockers', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as BlockersReport;
    const [top] = report.rows;
    assert.equal(functionOfSite(exe, top.waiterSite), 'flush_journal', top.waiterSite);
    assert.equal(functionOfSite(exe, top.holderSite), 'compact_journal', top.holderSite);
    assert.deepEqual(top.waiters.map((t) => [t.tid, t.comm]), [[tids.get('flusher'), 'flusher']]);
    assert.deepEqual(top.holders.map((t) => [t.tid, t.comm]), [[tids.get('compactor'), 'compactor']]);
    assert.deepEqual(top.locks.map((l) => l.lock), [lock]);
    assert.equal(top.waits, ROUNDS);
    assert.ok(top.wait.total > ROUNDS * HOLD_MS * 1e6 * 0.5, `waited ${top.wait.total} ns in all`);
  });

  test('--by callsite: flush_journal\'s call site carries the wait, compact_journal\'s the hold', async () => {
    const r = await mutexAnalyze(['report', runPath, '--by', 'callsite', '--lock', lock, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Report;
    const byFunction = new Map(report.rows.map((row) => [functionOfSite(exe, row.name), row]));
    const flush = byFunction.get('flush_journal')!;
    const compact = byFunction.get('compact_journal')!;
    assert.equal(flush.acquisitions, ROUNDS);
    assert.equal(flush.contended, ROUNDS);
    assert.equal(compact.contended, 0);
    assert.ok(flush.wait!.total > ROUNDS * HOLD_MS * 1e6 * 0.5);
    assert.ok(compact.hold!.total >= ROUNDS * HOLD_MS * 1e6);
    assert.equal(report.lock!.callsites[0].name, flush.name, 'the top call site of the lock\'s wait');
  });
});
