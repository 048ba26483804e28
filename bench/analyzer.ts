#!/usr/bin/env node
/**
 * Analyzer speed on synthetic runs of 1M, 2M, 5M and 10M events (bench/synthetic-run.ts, cached in
 * build/bench/ and rewritten when that source is newer):
 *   read    the 10M run's events table into JS in id order: RunFile.eachEvent(), chunked
 *           .raw().all() by id range, and runfile/reader.ts with 0, 1 and 2 reader threads,
 *   report  `mutex-analyze report RUN` at each size: wall, CPU and peak RSS (/usr/bin/time),
 *   diff    `mutex-analyze diff RUN_A RUN_B` of two 10M runs,
 *   html    `mutex-analyze html RUN -o PAGE` of the 10M run: wall, CPU, peak RSS and the page's size.
 * Goals: report <= 10 s and <= 500 MB at 10M events, diff of two 10M runs <= 20 s, html of the
 * 10M run <= 15 s and <= 5 MB (issue 13).
 *
 *   node dist/bench/analyzer.js [--cli dist/analyzer/cli.js] [--sizes 1,2,5,10] [--rounds 3]
 *
 * Every measurement is repeated for --rounds rounds (medians and min–max). /usr/bin/time is
 * installed (apt-get install time) when missing. The measurement is runAnalyzer(), which
 * bench/all.ts calls too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

import Database from 'better-sqlite3';

import { readEventChunks } from '../runfile/reader';
import { RunFile } from '../runfile/runfile';
import { ensureCommand, standalone } from './lib/env';
import { fmt, goalCell, mdTable, plural, positiveInt, spreadOf, withRange, type BenchResult, type Figure } from './lib/report';
import { writeSyntheticRun } from './synthetic-run';

const fixed = (x: number, digits = 2): string => x.toFixed(digits);

const PACKAGE_ROOT = join(__dirname, '..', '..');
const RUNS_DIR = join(PACKAGE_ROOT, 'build', 'bench');
const GENERATOR_SOURCES = [join(PACKAGE_ROOT, 'bench', 'synthetic-run.ts'), join(PACKAGE_ROOT, 'schema.sql')];
const TIME = '/usr/bin/time';
const CHUNK_ROWS = 65_536;

const READERS = {
  runfile: 'RunFile.eachEvent() (what the analyzer uses)',
  all: '.raw().all() per 64K ids',
  reader0: 'reader.ts, in the calling thread',
  reader1: 'reader.ts, 1 reader thread',
  reader2: 'reader.ts, 2 reader threads',
} as const;
export type ReaderKey = keyof typeof READERS;

export interface ReadResult {
  events: number;
  checksum: number; // sum of ts in id order: equal for every reader that read the same rows
  wallS: number;
  cpuS: number;
  peakRssMb: number;
}

export interface Timed {
  wallS: number;
  cpuS: number;
  peakRssMb: number;
}

/** Reads every event of `path` with one reader; run in a child process, so its RSS is its own. */
function readAll(reader: ReaderKey, path: string): ReadResult {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let events = 0;
  let checksum = 0;
  if (reader === 'runfile') {
    const run = RunFile.open(path);
    run.eachEvent((e) => {
      events++;
      checksum += e.ts;
    });
    run.close();
  } else if (reader === 'all') {
    const db = new Database(path, { readonly: true });
    const stmt = db.prepare('SELECT id, ts, stage, func, pid, tid, lock, ret, caller, flags, stack_id FROM events WHERE id BETWEEN ? AND ?').raw(true);
    const { first, last } = db.prepare('SELECT min(id) AS first, max(id) AS last FROM events').get() as { first: number; last: number };
    for (let from = first; from <= last; from += CHUNK_ROWS) {
      for (const row of stmt.all(from, from + CHUNK_ROWS - 1) as number[][]) {
        events++;
        checksum += row[1];
      }
    }
    db.close();
  } else {
    for (const c of readEventChunks(path, { workers: Number(reader.slice('reader'.length)) })) {
      events += c.count;
      for (let i = 0; i < c.count; i++) checksum += c.ts[i];
    }
  }
  const cpu = process.cpuUsage(cpuStart);
  return {
    events,
    checksum,
    wallS: (performance.now() - started) / 1000,
    cpuS: (cpu.user + cpu.system) / 1e6,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

function measureRead(reader: ReaderKey, path: string): ReadResult {
  const child = spawnSync(process.execPath, [__filename, '--read', reader, path], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) throw new Error(`reading with ${reader} failed: ${child.stderr.trim()}`);
  return JSON.parse(child.stdout) as ReadResult;
}

/** Runs the analyzer CLI under /usr/bin/time: wall, user + system CPU, peak RSS. */
function measureCli(cli: string, args: string[]): Timed {
  const child = spawnSync(TIME, ['-f', 'TIME %e %U %S %M', process.execPath, cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const m = /^TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)$/m.exec(child.stderr ?? '');
  if (child.status !== 0 || !m) throw new Error(`mutex-analyze ${args.join(' ')} failed (exit ${child.status}): ${child.stderr?.trim() ?? child.error?.message}`);
  return { wallS: Number(m[1]), cpuS: Number(m[2]) + Number(m[3]), peakRssMb: Number(m[4]) / 1024 };
}

/** The run of `millions` M events for `seed`, written unless cached and newer than its generator and the schema. */
function syntheticRun(millions: number, seed: number): string {
  const path = join(RUNS_DIR, `analyzer-${millions}M-seed${seed}.db`);
  if (existsSync(path) && GENERATOR_SOURCES.every((src) => statSync(path).mtimeMs >= statSync(src).mtimeMs)) return path;
  mkdirSync(RUNS_DIR, { recursive: true });
  process.stderr.write(`writing ${path} ...\n`);
  writeSyntheticRun(`${path}.tmp`, millions * 1_000_000, seed);
  renameSync(`${path}.tmp`, path);
  return path;
}

export interface AnalyzerOptions {
  cli: string; // the analyzer's cli.js to measure
  sizes: number[]; // M events, ascending; the diff is of two runs of the largest
  rounds: number;
}

export const ANALYZER_DEFAULTS: AnalyzerOptions = { cli: join(PACKAGE_ROOT, 'dist', 'analyzer', 'cli.js'), sizes: [1, 2, 5, 10], rounds: 3 };
export const ANALYZER_QUICK: AnalyzerOptions = { ...ANALYZER_DEFAULTS, sizes: [0.1, 0.2], rounds: 2 };

const GOAL_AT = 10; // M events: the size the goals are stated for
const GOAL_REPORT_S = 10;
const GOAL_REPORT_MB = 500;
const GOAL_DIFF_S = 20;
const GOAL_HTML_S = 15;
const GOAL_HTML_MB = 5;

export interface AnalyzerResult extends BenchResult {
  name: 'analyzer';
  options: AnalyzerOptions;
  sqlite: string;
  reads: Record<ReaderKey, ReadResult[]>; // of the largest run, one per round
  reports: Map<number, Timed[]>; // by size, one per round
  diffs: Timed[];
  htmls: (Timed & { pageMb: number })[]; // of the largest run
}

/** Every round: the reads of the largest run, report at each size, diff of the two largest. */
export async function runAnalyzer(options: Partial<AnalyzerOptions> = {}): Promise<AnalyzerResult> {
  const o: AnalyzerOptions = { ...ANALYZER_DEFAULTS, ...options };
  ensureCommand(TIME, 'time');
  if (o.sizes.length === 0 || o.sizes.some((m) => !(m > 0))) throw new Error(`--sizes must be positive numbers, got ${o.sizes.join(',')}`);
  const sizes = [...o.sizes].sort((a, b) => a - b);
  const largest = sizes[sizes.length - 1];
  const runs = new Map(sizes.map((m) => [m, syntheticRun(m, 1)]));
  const other = syntheticRun(largest, 2);
  const memory = new Database(':memory:');
  const sqlite = memory.prepare('SELECT sqlite_version()').pluck().get() as string;
  memory.close();

  const reads = Object.fromEntries(Object.keys(READERS).map((k) => [k, [] as ReadResult[]])) as Record<ReaderKey, ReadResult[]>;
  const reports = new Map<number, Timed[]>(sizes.map((m) => [m, []]));
  const diffs: Timed[] = [];
  const htmls: AnalyzerResult['htmls'] = [];
  const page = join(RUNS_DIR, 'analyzer-html.html');
  for (let round = 1; round <= o.rounds; round++) {
    let expected: ReadResult | null = null;
    for (const reader of Object.keys(READERS) as ReaderKey[]) {
      const r = measureRead(reader, runs.get(largest)!);
      expected ??= r;
      if (r.events !== expected.events || r.checksum !== expected.checksum) {
        throw new Error(`${reader} read ${r.events} events (ts sum ${r.checksum}), RunFile.eachEvent() ${expected.events} (${expected.checksum})`);
      }
      reads[reader].push(r);
    }
    for (const m of sizes) reports.get(m)!.push(measureCli(o.cli, ['report', runs.get(m)!]));
    diffs.push(measureCli(o.cli, ['diff', runs.get(largest)!, other]));
    htmls.push({ ...measureCli(o.cli, ['html', runs.get(largest)!, '-o', page]), pageMb: statSync(page).size / 1e6 });
    const last = reports.get(largest)!.at(-1)!;
    process.stderr.write(`round ${round}/${o.rounds}: report of ${largest}M ${fixed(last.wallS)} s, diff ${fixed(diffs.at(-1)!.wallS)} s, html ${fixed(htmls.at(-1)!.wallS)} s\n`);
  }
  const result = { name: 'analyzer' as const, options: { ...o, sizes }, sqlite, reads, reports, diffs, htmls };
  const figures = analyzerFigures(result);
  return { ...result, figures, markdown: analyzerMarkdown(result) };
}

type Measured = Omit<AnalyzerResult, 'figures' | 'markdown'>;

function analyzerFigures(r: Measured): Figure[] {
  const sizes = r.options.sizes;
  const largest = sizes[sizes.length - 1];
  const at = (m: number): Timed[] => r.reports.get(m)!;
  const goalSize = sizes.includes(GOAL_AT) ? GOAL_AT : null;
  const figures: Figure[] = [];
  const reportAt = goalSize ?? largest;
  const wall = spreadOf(at(reportAt).map((t) => t.wallS));
  const rss = spreadOf(at(reportAt).map((t) => t.peakRssMb));
  figures.push({ name: `report ${reportAt}M, wall`, value: wall, digits: 2, unit: 's', goal: `<= ${GOAL_REPORT_S} s at ${GOAL_AT}M`, met: goalSize ? wall.median <= GOAL_REPORT_S : undefined });
  figures.push({ name: `report ${reportAt}M, peak RSS`, value: rss, digits: 0, unit: 'MB', goal: `<= ${GOAL_REPORT_MB} MB at ${GOAL_AT}M`, met: goalSize ? rss.median <= GOAL_REPORT_MB : undefined });
  if (sizes.length > 1) {
    figures.push({
      name: `report wall, ${largest}M / ${sizes[0]}M`,
      value: spreadOf(at(largest).map((t, i) => t.wallS / at(sizes[0])[i].wallS)),
      digits: 2,
    });
  }
  const diff = spreadOf(r.diffs.map((t) => t.wallS));
  figures.push({ name: `diff ${largest}M vs ${largest}M, wall`, value: diff, digits: 2, unit: 's', goal: `<= ${GOAL_DIFF_S} s at ${GOAL_AT}M`, met: largest === GOAL_AT ? diff.median <= GOAL_DIFF_S : undefined });
  const html = spreadOf(r.htmls.map((t) => t.wallS));
  const pageMb = spreadOf(r.htmls.map((t) => t.pageMb));
  figures.push({ name: `html ${largest}M, wall`, value: html, digits: 2, unit: 's', goal: `<= ${GOAL_HTML_S} s at ${GOAL_AT}M`, met: largest === GOAL_AT ? html.median <= GOAL_HTML_S : undefined });
  figures.push({ name: `html ${largest}M, page`, value: pageMb, digits: 2, unit: 'MB', goal: `<= ${GOAL_HTML_MB} MB at ${GOAL_AT}M`, met: largest === GOAL_AT ? pageMb.median <= GOAL_HTML_MB : undefined });
  figures.push({ name: `read ${largest}M, RunFile.eachEvent()`, value: spreadOf(r.reads.runfile.map((x) => x.events / x.wallS / 1e6)), digits: 2, unit: 'M events/s' });
  return figures;
}

function analyzerMarkdown(r: Measured): string {
  const sizes = r.options.sizes;
  const largest = sizes[sizes.length - 1];
  const cell = (xs: number[], digits: number): string => withRange(spreadOf(xs), digits);
  const readRows = (Object.keys(READERS) as ReaderKey[]).map((k) => {
    const xs = r.reads[k];
    return [READERS[k], cell(xs.map((x) => x.wallS), 2), cell(xs.map((x) => x.cpuS), 2), cell(xs.map((x) => x.events / x.wallS / 1e6), 2), cell(xs.map((x) => x.peakRssMb), 0)];
  });
  const base = r.reports.get(sizes[0])!;
  const reportRows = sizes.map((m) => {
    const ts = r.reports.get(m)!;
    return [
      `${m}M`,
      cell(ts.map((t) => t.wallS), 2),
      cell(ts.map((t) => t.cpuS), 2),
      cell(ts.map((t) => t.wallS / m), 2),
      cell(ts.map((t, i) => t.wallS / base[i].wallS), 1),
      cell(ts.map((t) => t.peakRssMb), 0),
    ];
  });
  const goals = analyzerFigures(r).filter((f) => f.goal !== undefined);
  const cli = relative(PACKAGE_ROOT, r.options.cli);
  return [
    `Analyzer \`${cli}\`, SQLite ${r.sqlite}; synthetic runs of ${sizes.map((m) => `${m}M`).join(', ')} events; ${plural(r.options.rounds, 'round')}; median (min–max).`,
    '',
    `Read the ${largest}M-event run's events in id order:`,
    '',
    mdTable(['reader', 'wall s', 'CPU s', 'M events/s', 'peak RSS MB'], readRows, ['l', 'r', 'r', 'r', 'r']),
    '',
    `\`mutex-analyze report RUN\`:`,
    '',
    mdTable(['events', 'wall s', 'CPU s', 's per M events', `wall / wall at ${sizes[0]}M`, 'peak RSS MB'], reportRows, ['r', 'r', 'r', 'r', 'r', 'r']),
    '',
    `\`mutex-analyze diff\` of two ${largest}M-event runs: ${cell(r.diffs.map((t) => t.wallS), 2)} s wall, ` +
      `${cell(r.diffs.map((t) => t.cpuS), 2)} s CPU, ${cell(r.diffs.map((t) => t.peakRssMb), 0)} MB peak RSS.`,
    '',
    `\`mutex-analyze html\` of the ${largest}M-event run: ${cell(r.htmls.map((t) => t.wallS), 2)} s wall, ${cell(r.htmls.map((t) => t.cpuS), 2)} s CPU, ` +
      `${cell(r.htmls.map((t) => t.peakRssMb), 0)} MB peak RSS, a page of ${cell(r.htmls.map((t) => t.pageMb), 2)} MB.`,
    '',
    `Goals: ${goals.map((f) => `${f.name} ${fmt(f.value.median, f.digits)} ${f.unit ?? ''}, ${goalCell(f)}`).join('; ')}.`,
  ].join('\n');
}

if (require.main === module) {
  standalone('analyzer bench', async () => {
    const { values, positionals } = parseArgs({
      options: {
        cli: { type: 'string', default: ANALYZER_DEFAULTS.cli },
        sizes: { type: 'string', default: ANALYZER_DEFAULTS.sizes.join(',') },
        rounds: { type: 'string', default: String(ANALYZER_DEFAULTS.rounds) },
        read: { type: 'string' }, // internal: --read READER PATH, in the child of measureRead
      },
      allowPositionals: true,
    });
    if (values.read !== undefined) {
      process.stdout.write(JSON.stringify(readAll(values.read as ReaderKey, positionals[0])));
      return;
    }
    return runAnalyzer({ cli: values.cli!, sizes: values.sizes!.split(',').map(Number), rounds: positiveInt('rounds', values.rounds!) });
  });
}
