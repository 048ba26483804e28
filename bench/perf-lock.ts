#!/usr/bin/env node
/**
 * mutex-rec's kernel path side by side with `perf lock` (Debian's linux-perf), on a workload whose
 * threads contend one kernel mutex (bench/workloads/fpos_timed.c: read()s of one shared file
 * description take its f_pos_lock):
 *
 *   A. in interleaved rounds, the workload bare, under `perf lock record`, and under
 *      `mutex-rec --kernel --all` (this host: the lock:contention tracepoints), with and without
 *      call stacks; per round, each slowdown against that round's bare run, the run file's size
 *      against perf.data's (whole, and per wait recorded: runs differ in how often they contend),
 *      and `mutex-analyze report`'s wall time against `perf lock contention`'s. Goals: slowdown no
 *      worse than perf's, size <= 0.25, analysis time <= 0.5; the parts of the size and of the
 *      analysis time are measured too.
 *   B. both tools recording one run of the workload at once, in either attach order: their
 *      contended counts and total wait for the f_pos_lock (bench/perf-lock-crosscheck.ts).
 *
 *   node dist/bench/perf-lock.js [--rounds K] [--threads T] [--reads R]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { max, median, min } from 'simple-statistics';

import { reportTime, runFileComposition } from './perf-lock-costs';
import { crossCheck, type CrossCheck } from './perf-lock-crosscheck';
import { bare, buildWorkload, perfReport, perfVersion, recReportMs, underMutexRec, underPerf, type PerfRecording, type RecRecording, type Workload } from './perf-lock-runs';

const DATA_BYTES = 8 << 20;
const GOAL_SIZE = 0.25;
const GOAL_ANALYSIS = 0.5;

interface Round {
  bareNs: number;
  perf: PerfRecording;
  rec: RecRecording;
  recNoStacks: RecRecording; // without call stacks: how much of mutex-rec's slowdown they are
  perfReport: { ms: number; waits: number };
  recReportMs: number;
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const summary = (xs: number[], digits: number): string => `${fmt(median(xs), digits).padStart(9)}  (${fmt(min(xs), digits)}–${fmt(max(xs), digits)})`;
const verdict = (met: boolean): string => (met ? 'met' : 'NOT met');
const mb = (bytes: number): string => `${fmt(bytes / 1e6, 2)} MB`;
const us = (ns: number): string => `${fmt(ns / 1e3, 2)} µs`;

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

async function measureRound(w: Workload, dir: string): Promise<Round> {
  const perfData = join(dir, 'perf.data');
  const runFile = join(dir, 'run.db');
  const bareNs = await bare(w);
  const perf = await underPerf(w, perfData);
  const rec = await underMutexRec(w, runFile);
  const recNoStacks = await underMutexRec(w, join(dir, 'no-stacks.db'), ['--no-stacks']);
  return { bareNs, perf, rec, recNoStacks, perfReport: await perfReport(perfData), recReportMs: await recReportMs(runFile) };
}

function printRounds(rounds: Round[]): void {
  const col = (f: (r: Round) => number): number[] => rounds.map(f);
  const perfSlowdown = col((r) => r.perf.elapsedNs / r.bareNs);
  const recSlowdown = col((r) => r.rec.elapsedNs / r.bareNs);
  const recOverPerf = col((r) => r.rec.elapsedNs / r.perf.elapsedNs);
  const size = col((r) => r.rec.bytes / r.perf.bytes);
  const sizePerWait = col((r) => r.rec.bytes / r.rec.waits / (r.perf.bytes / r.perfReport.waits));
  const analysis = col((r) => r.recReportMs / r.perfReport.ms);

  console.log('workload elapsed, ms           median  (min–max)');
  console.log(`bare                       ${summary(col((r) => r.bareNs / 1e6), 1)}`);
  console.log(`perf lock record           ${summary(col((r) => r.perf.elapsedNs / 1e6), 1)}`);
  console.log(`mutex-rec --kernel --all   ${summary(col((r) => r.rec.elapsedNs / 1e6), 1)}`);
  console.log(`  the same, --no-stacks    ${summary(col((r) => r.recNoStacks.elapsedNs / 1e6), 1)}\n`);
  console.log('ratio, per round              median  (min–max)        goal');
  console.log(`slowdown, perf lock        ${summary(perfSlowdown, 3)}`);
  console.log(`slowdown, mutex-rec        ${summary(recSlowdown, 3)}   <= perf's: ${verdict(median(recSlowdown) <= median(perfSlowdown))}`);
  console.log(`elapsed, mutex-rec / perf  ${summary(recOverPerf, 3)}   <= 1: ${verdict(median(recOverPerf) <= 1)}`);
  console.log(`slowdown, --no-stacks      ${summary(col((r) => r.recNoStacks.elapsedNs / r.bareNs), 3)}`);
  console.log(`run file / perf.data       ${summary(size, 3)}   <= ${GOAL_SIZE}: ${verdict(median(size) <= GOAL_SIZE)}`);
  console.log(`  the same, per wait       ${summary(sizePerWait, 3)}   <= ${GOAL_SIZE}: ${verdict(median(sizePerWait) <= GOAL_SIZE)}`);
  console.log(`report / perf lock cont.   ${summary(analysis, 3)}   <= ${GOAL_ANALYSIS}: ${verdict(median(analysis) <= GOAL_ANALYSIS)}\n`);
  console.log(`perf.data    ${summary(col((r) => r.perf.bytes / 1e6), 2)} MB, ${summary(col((r) => r.perf.samples), 0)} samples, ${summary(col((r) => r.perfReport.waits), 0)} waits`);
  console.log(
    `run file     ${summary(col((r) => r.rec.bytes / 1e6), 2)} MB, ${summary(col((r) => r.rec.events), 0)} events, ${summary(col((r) => r.rec.waits), 0)} waits; ` +
      `dropped: ${col((r) => r.rec.dropped + r.recNoStacks.dropped).join(', ')}`,
  );
  console.log(`perf lock contention -i    ${summary(col((r) => r.perfReport.ms), 0)} ms`);
  console.log(`mutex-analyze report       ${summary(col((r) => r.recReportMs), 0)} ms\n`);
}

async function printCosts(last: Round, runFile: string, perfData: string): Promise<void> {
  const c = runFileComposition(runFile);
  console.log(`where the bytes are (last round): perf.data ${mb(last.perf.bytes)} = ${fmt(last.perf.bytes / last.perf.samples)} B per sample (${fmt(last.perf.samples)} samples)`);
  console.log(
    `  run file ${mb(last.rec.bytes)}: events table ${mb(c.eventsBytes)} = ${fmt(c.eventsBytes / c.events, 1)} B per event ` +
      `(${fmt(c.events)} events, ${fmt(c.otherTaskEvents)} of them from tasks other than the workload: --all), ` +
      `${mb(c.otherBytes)} in ${c.otherTrees} other tables and indexes (${fmt(c.pageSize / 1024)} KiB pages, at least one each)`,
  );
  const t = await reportTime(runFile);
  const perfMs = (await perfReport(perfData)).ms;
  const parts = t.versionMs + t.openMs + t.buildMs + t.renderMs;
  console.log(`where the time is (last round, median of 3): perf lock contention ${fmt(perfMs)} ms; mutex-analyze report ${fmt(t.cliMs)} ms;`);
  console.log(`  node start (node -e '') ${fmt(t.nodeStartMs)} ms + loading the CLI's modules (mutex-analyze --version) ${fmt(t.versionMs - t.nodeStartMs)} ms`);
  console.log(
    `  + open ${fmt(t.openMs, 1)} ms + buildReport ${fmt(t.buildMs)} ms (reading the ${fmt(t.rows)} event rows alone: ${fmt(t.scanMs)} ms, ` +
      `${fmt((t.scanMs * 1e3) / t.rows, 2)} µs per row) + render ${fmt(t.renderMs, 1)} ms = ${fmt(parts)} ms\n`,
  );
}

function printCrossCheck(checks: CrossCheck[]): void {
  console.log('cross-check: both tools recording the same run; f_pos_lock (found in perf.data by its fdget_pos call chain)');
  for (const c of checks) {
    const waitDiff = (c.rec.waitNs - c.perf.waitNs) / c.perf.waitNs;
    const p = c.pairs;
    console.log(`${c.order}: lock ${c.lock}`);
    console.log(`  contended   perf lock contention ${fmt(c.perf.contended)}, mutex-rec ${fmt(c.rec.contended)}: ${c.perf.contended === c.rec.contended ? 'agree exactly' : 'DIFFER'}`);
    console.log(
      `  total wait  perf ${fmt(c.perf.waitNs / 1e6, 2)} ms (as perf prints it, 3-4 digits), mutex-rec ${fmt(c.rec.waitNs / 1e6, 2)} ms: ` +
        `${waitDiff >= 0 ? '+' : ''}${fmt(100 * waitDiff, 2)}%, goal within 2%: ${verdict(Math.abs(waitDiff) <= 0.02)}`,
    );
    console.log(`  file sizes  perf.data ${mb(c.bytes.perf)}, run file ${mb(c.bytes.rec)}: ${fmt(c.bytes.rec / c.bytes.perf, 3)}`);
    console.log(`  losses      perf: bad sequences ${c.perf.bad}, ${c.perf.lostLine ?? 'no lost-events line'}; mutex-rec: ${c.rec.dropped} dropped`);
    console.log(
      `  per wait    mutex-rec − perf, ${fmt(p.count)} waits paired by thread and order (${p.threadsAgree ? 'every thread has as many in both' : 'thread counts DIFFER'}): ` +
        `median ${us(p.medianNs)}, p1 ${us(p.p1Ns)}, p99 ${us(p.p99Ns)}, min ${us(p.minNs)}, max ${us(p.maxNs)}; sum ${fmt(p.sumNs / 1e6, 2)} ms`,
    );
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '11' },
      threads: { type: 'string', default: '8' },
      reads: { type: 'string', default: '1000' },
    },
  });
  const rounds = positiveInt('rounds', values.rounds!);
  const perf = perfVersion();
  const loadAtStart = loadavg()[0];
  buildWorkload();
  const dir = mkdtempSync(join(tmpdir(), 'perf-lock-'));
  try {
    const w: Workload = { dataFile: join(dir, 'data.bin'), threads: positiveInt('threads', values.threads!), reads: positiveInt('reads', values.reads!) };
    writeFileSync(w.dataFile, Buffer.alloc(DATA_BYTES, 7));
    const results: Round[] = [];
    for (let i = 1; i <= rounds; i++) {
      const r = await measureRound(w, dir);
      results.push(r);
      process.stderr.write(
        `round ${i}/${rounds}: bare ${fmt(r.bareNs / 1e6)} ms, perf ${fmt(r.perf.elapsedNs / 1e6)} ms, mutex-rec ${fmt(r.rec.elapsedNs / 1e6)} ms ` +
          `(--no-stacks ${fmt(r.recNoStacks.elapsedNs / 1e6)} ms); ` +
          `reports ${fmt(r.perfReport.ms)} / ${fmt(r.recReportMs)} ms\n`,
      );
    }
    const checks = await crossCheck(w, dir);

    console.log(`perf lock against mutex-rec's kernel path, ${rounds} interleaved rounds`);
    console.log(`workload: fpos_timed, ${w.threads} threads x ${w.reads} read()s of one shared file description (${DATA_BYTES >> 20} MiB file)`);
    console.log(`machine: ${cpus().length} CPUs (${cpus()[0].model}), kernel ${release()}, ${perf}; 1-min load average ${fmt(loadAtStart, 2)} at the start\n`);
    printRounds(results);
    await printCosts(results[results.length - 1], join(dir, 'run.db'), join(dir, 'perf.data'));
    printCrossCheck(checks);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`perf-lock: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
