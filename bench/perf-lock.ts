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
 *
 * perf is installed (apt-get install linux-perf) when missing. The measurement is runPerfLock(),
 * which bench/all.ts calls too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { ensureCommand, requireRoot, standalone } from './lib/env';
import { figureTable, fmt, mdTable, plural, positiveInt, range, signed, spreadOf, type BenchResult, type Figure, type Spread } from './lib/report';
import { reportTime, runFileComposition, type ReportTime, type RunFileComposition } from './perf-lock-costs';
import { crossCheck, type CrossCheck } from './perf-lock-crosscheck';
import { bare, buildWorkload, perfReport, perfVersion, recReportMs, underMutexRec, underPerf, type PerfRecording, type RecRecording, type Workload } from './perf-lock-runs';

const DATA_BYTES = 8 << 20;
const GOAL_SIZE = 0.25;
const GOAL_ANALYSIS = 0.5;
const mb = (bytes: number): string => `${fmt(bytes / 1e6, 2)} MB`;

export interface Round {
  bareNs: number;
  perf: PerfRecording;
  rec: RecRecording;
  recNoStacks: RecRecording; // without call stacks: how much of mutex-rec's slowdown they are
  perfReport: { ms: number; waits: number };
  recReportMs: number;
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

export interface PerfLockOptions {
  rounds: number;
  threads: number;
  reads: number; // per thread
}

export const PERF_LOCK_DEFAULTS: PerfLockOptions = { rounds: 11, threads: 8, reads: 1000 };
export const PERF_LOCK_QUICK: PerfLockOptions = { rounds: 2, threads: 8, reads: 200 };

export interface PerfLockResult extends BenchResult {
  name: 'perf-lock';
  options: PerfLockOptions;
  perf: string; // perf's version
  rounds: Round[];
  composition: RunFileComposition; // the last round's run file
  time: ReportTime; // the last round's report, in parts
  perfReportMs: number; // perf lock contention on the last round's perf.data, once more
  checks: CrossCheck[];
  crossCheckError: string | null; // the cross-check could not be made (e.g. no contention)
}

/** The rounds, where the bytes and the time go, and the cross-check. Needs root and perf (installed if missing). */
export async function runPerfLock(options: Partial<PerfLockOptions> = {}): Promise<PerfLockResult> {
  const o: PerfLockOptions = { ...PERF_LOCK_DEFAULTS, ...options };
  requireRoot('perf-lock');
  ensureCommand('perf', 'linux-perf');
  const perf = perfVersion();
  buildWorkload();
  const dir = mkdtempSync(join(tmpdir(), 'perf-lock-'));
  try {
    const w: Workload = { dataFile: join(dir, 'data.bin'), threads: o.threads, reads: o.reads };
    writeFileSync(w.dataFile, Buffer.alloc(DATA_BYTES, 7));
    const rounds: Round[] = [];
    for (let i = 1; i <= o.rounds; i++) {
      const r = await measureRound(w, dir);
      rounds.push(r);
      process.stderr.write(
        `round ${i}/${o.rounds}: bare ${fmt(r.bareNs / 1e6)} ms, perf ${fmt(r.perf.elapsedNs / 1e6)} ms, mutex-rec ${fmt(r.rec.elapsedNs / 1e6)} ms ` +
          `(--no-stacks ${fmt(r.recNoStacks.elapsedNs / 1e6)} ms); ` +
          `reports ${fmt(r.perfReport.ms)} / ${fmt(r.recReportMs)} ms\n`,
      );
    }
    const composition = runFileComposition(join(dir, 'run.db'));
    const time = await reportTime(join(dir, 'run.db'));
    const perfReportMs = (await perfReport(join(dir, 'perf.data'))).ms;
    let checks: CrossCheck[] = [];
    let crossCheckError: string | null = null;
    try {
      checks = await crossCheck(w, dir);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`perf-lock: cross-check not made: ${message}\n`);
      crossCheckError = message.split('\n')[0]; // the whole of it is on stderr
    }
    const result = { name: 'perf-lock' as const, options: o, perf, rounds, composition, time, perfReportMs, checks, crossCheckError };
    const figures = perfLockFigures(result);
    const notes = crossCheckError ? [`cross-check not made: ${crossCheckError}`] : [];
    return { ...result, figures, markdown: perfLockMarkdown(result, figures), notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Measured = Omit<PerfLockResult, 'figures' | 'markdown'>;

const waitDifference = (c: CrossCheck): number => (c.rec.waitNs - c.perf.waitNs) / c.perf.waitNs;

function perfLockFigures(r: Measured): Figure[] {
  const col = (f: (x: Round) => number): Spread => spreadOf(r.rounds.map(f));
  const perfSlowdown = col((x) => x.perf.elapsedNs / x.bareNs);
  const recSlowdown = col((x) => x.rec.elapsedNs / x.bareNs);
  const recOverPerf = col((x) => x.rec.elapsedNs / x.perf.elapsedNs);
  const size = col((x) => x.rec.bytes / x.perf.bytes);
  const analysis = col((x) => x.recReportMs / x.perfReport.ms);
  const figures: Figure[] = [
    { name: 'slowdown, perf lock', value: perfSlowdown, digits: 3 },
    { name: 'slowdown, mutex-rec', value: recSlowdown, digits: 3, goal: "<= perf lock's", met: recSlowdown.median <= perfSlowdown.median },
    { name: 'elapsed, mutex-rec / perf lock', value: recOverPerf, digits: 3, goal: '<= 1', met: recOverPerf.median <= 1 },
    { name: 'slowdown, mutex-rec --no-stacks', value: col((x) => x.recNoStacks.elapsedNs / x.bareNs), digits: 3 },
    { name: 'run file / perf.data', value: size, digits: 3, goal: `<= ${GOAL_SIZE}`, met: size.median <= GOAL_SIZE },
    { name: 'the same, per wait recorded', value: col((x) => x.rec.bytes / x.rec.waits / (x.perf.bytes / x.perfReport.waits)), digits: 3 },
    { name: 'report / perf lock contention time', value: analysis, digits: 3, goal: `<= ${GOAL_ANALYSIS}`, met: analysis.median <= GOAL_ANALYSIS },
  ];
  for (const c of r.checks) {
    const d = waitDifference(c);
    figures.push({ name: `cross-check total wait vs perf, ${c.order.replace(' attached first', ' first')}`, value: spreadOf([100 * d]), digits: 2, unit: '%', goal: 'within ±2%', met: Math.abs(d) <= 0.02 });
  }
  if (r.checks.length > 0) {
    const worst = Math.max(...r.checks.map((c) => Math.abs(c.rec.contended - c.perf.contended)));
    figures.push({ name: 'cross-check waits, |mutex-rec − perf|, worst', value: spreadOf([worst]), digits: 0, goal: '0', met: worst === 0 });
  }
  return figures;
}

function perfLockMarkdown(r: Measured, figures: Figure[]): string {
  const o = r.options;
  const rows = r.rounds;
  const last = rows[rows.length - 1];
  const spreadRow = (label: string, xs: number[], digits: number): string[] => {
    const s = spreadOf(xs);
    return [label, fmt(s.median, digits), range(s, digits)];
  };
  const ms = (ns: number): number => ns / 1e6;
  const c = r.composition;
  const t = r.time;
  const parts = t.versionMs + t.openMs + t.buildMs + t.renderMs;
  const lines = [
    `fpos_timed: ${o.threads} threads × ${fmt(o.reads)} read()s of one shared file description (${DATA_BYTES >> 20} MiB file), ` +
      `${plural(o.rounds, 'interleaved round')}; ${r.perf}.`,
    '',
    mdTable(
      ['workload elapsed, ms', 'median', 'min–max'],
      [
        spreadRow('bare', rows.map((x) => ms(x.bareNs)), 1),
        spreadRow('perf lock record', rows.map((x) => ms(x.perf.elapsedNs)), 1),
        spreadRow('mutex-rec --kernel --all', rows.map((x) => ms(x.rec.elapsedNs)), 1),
        spreadRow('the same, --no-stacks', rows.map((x) => ms(x.recNoStacks.elapsedNs)), 1),
      ],
      ['l', 'r', 'l'],
    ),
    '',
    figureTable(figures.filter((f) => !f.name.startsWith('cross-check')), ['ratio, per round', 'median', 'min–max', 'goal']),
    '',
    mdTable(
      ['per round', 'median', 'min–max'],
      [
        spreadRow('perf.data, MB', rows.map((x) => x.perf.bytes / 1e6), 2),
        spreadRow('perf.data samples', rows.map((x) => x.perf.samples), 0),
        spreadRow('waits, as perf lock contention counts them', rows.map((x) => x.perfReport.waits), 0),
        spreadRow('run file, MB', rows.map((x) => x.rec.bytes / 1e6), 2),
        spreadRow('run file events', rows.map((x) => x.rec.events), 0),
        spreadRow('run file waits (acquired events)', rows.map((x) => x.rec.waits), 0),
        spreadRow('perf lock contention -i, ms', rows.map((x) => x.perfReport.ms), 0),
        spreadRow('mutex-analyze report, ms', rows.map((x) => x.recReportMs), 0),
      ],
      ['l', 'r', 'l'],
    ),
    '',
    `Dropped by mutex-rec, per round (with stacks, --no-stacks): ${rows.map((x) => `${x.rec.dropped}, ${x.recNoStacks.dropped}`).join('; ')}.`,
    '',
    `Where the bytes are (last round): perf.data ${mb(last.perf.bytes)} = ${fmt(last.perf.bytes / last.perf.samples)} B per sample ` +
      `(${fmt(last.perf.samples)} samples); run file ${mb(last.rec.bytes)}: the events table ${mb(c.eventsBytes)} = ` +
      `${fmt(c.eventsBytes / c.events, 1)} B per event, ${fmt(c.events / last.rec.waits, 2)} events per wait ` +
      `(${fmt(c.events)} events, ${fmt(c.otherTaskEvents)} of them from tasks other than the workload: --all), ` +
      `and ${mb(c.otherBytes)} in ${c.otherTrees} other tables and indexes (${fmt(c.pageSize / 1024)} KiB pages, at least one each).`,
    '',
    `Where the time is (last round, median of 3): perf lock contention ${fmt(r.perfReportMs)} ms; mutex-analyze report ${fmt(t.cliMs)} ms = ` +
      `node start (\`node -e ''\`) ${fmt(t.nodeStartMs)} ms + loading the CLI's modules (\`mutex-analyze --version\`) ${fmt(t.versionMs - t.nodeStartMs)} ms ` +
      `+ open ${fmt(t.openMs, 1)} ms + buildReport ${fmt(t.buildMs)} ms (reading the ${fmt(t.rows)} event rows alone: ${fmt(t.scanMs)} ms, ` +
      `${fmt((t.scanMs * 1e3) / t.rows, 2)} µs per row) + render ${fmt(t.renderMs, 1)} ms = ${fmt(parts)} ms.`,
    '',
  ];
  if (r.crossCheckError) {
    lines.push(`Cross-check: not made: ${r.crossCheckError}.`);
    return lines.join('\n');
  }
  lines.push(
    'Cross-check: both tools recording the same run; f_pos_lock found in perf.data by its fdget_pos call chain:',
    '',
    mdTable(
      ['attached first', 'f_pos_lock waits perf / mutex-rec', 'total wait difference', 'per wait, mutex-rec − perf: median (p1 – p99)', 'run file / perf.data'],
      r.checks.map((x) => {
        const d = waitDifference(x);
        return [
          x.order.replace(/ attached first/, ''),
          `${fmt(x.perf.contended)} / ${fmt(x.rec.contended)}${x.perf.contended === x.rec.contended ? '' : ' (DIFFER)'}`,
          `${signed(100 * d, 2)}% (${Math.abs(d) <= 0.02 ? 'within 2%' : 'not within 2%'})`,
          `${signed(x.pairs.medianNs / 1e3, 2)} µs (${signed(x.pairs.p1Ns / 1e3, 2)} – ${signed(x.pairs.p99Ns / 1e3, 2)})`,
          fmt(x.bytes.rec / x.bytes.perf, 3),
        ];
      }),
      ['l', 'l', 'l', 'l', 'r'],
    ),
    '',
    'Losses: ' +
      r.checks
        .map((x) => `${x.order}: perf ${x.perf.bad} bad sequences, ${x.perf.lostLine ?? 'no lost-events line'}; mutex-rec ${x.rec.dropped} dropped`)
        .join('; ') +
      `. Every thread had as many waits in both: ${r.checks.every((x) => x.pairs.threadsAgree) ? 'yes' : 'NO'}.`,
  );
  return lines.join('\n');
}

if (require.main === module) {
  standalone('perf-lock', async () => {
    const { values } = parseArgs({
      options: {
        rounds: { type: 'string', default: String(PERF_LOCK_DEFAULTS.rounds) },
        threads: { type: 'string', default: String(PERF_LOCK_DEFAULTS.threads) },
        reads: { type: 'string', default: String(PERF_LOCK_DEFAULTS.reads) },
      },
    });
    return runPerfLock({
      rounds: positiveInt('rounds', values.rounds!),
      threads: positiveInt('threads', values.threads!),
      reads: positiveInt('reads', values.reads!),
    });
  });
}
