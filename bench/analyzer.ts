#!/usr/bin/env node
/**
 * Analyzer speed on synthetic runs of 1M, 2M, 5M and 10M events (bench/synthetic-run.ts, cached in
 * build/bench/ and rewritten when that source is newer):
 *   read    the 10M run's events table into JS in id order: RunFile.events(), chunked
 *           .raw().all() by id range, and analyzer/reader.ts with 0, 1 and 2 reader threads,
 *   report  `mutex-analyze report RUN` at each size: wall, CPU and peak RSS (/usr/bin/time),
 *   diff    `mutex-analyze diff RUN_A RUN_B` of two 10M runs.
 * Goals: report <= 10 s and <= 500 MB at 10M events, diff of two 10M runs <= 20 s.
 *
 *   node dist/bench/analyzer.js [--cli dist/analyzer/cli.js] [--sizes 1,2,5,10]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import Database from 'better-sqlite3';

import { readEventChunks } from '../analyzer/reader';
import { RunFile } from '../analyzer/runfile';
import { writeSyntheticRun } from './synthetic-run';

const PACKAGE_ROOT = join(__dirname, '..', '..');
const RUNS_DIR = join(PACKAGE_ROOT, 'build', 'bench');
const GENERATOR_SOURCE = join(PACKAGE_ROOT, 'bench', 'synthetic-run.ts');
const TIME = '/usr/bin/time';
const CHUNK_ROWS = 65_536;

const READERS = {
  runfile: 'RunFile.events() (.raw().iterate())',
  all: '.raw().all() per 64K ids',
  reader0: 'reader.ts, in the calling thread',
  reader1: 'reader.ts, 1 reader thread',
  reader2: 'reader.ts, 2 reader threads',
} as const;
type ReaderKey = keyof typeof READERS;

interface ReadResult {
  events: number;
  checksum: number; // sum of ts in id order: equal for every reader that read the same rows
  wallS: number;
  cpuS: number;
  peakRssMb: number;
}

interface Timed {
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
    for (const e of run.events()) {
      events++;
      checksum += e.ts;
    }
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

/** The run of `millions` M events for `seed`, written unless cached and newer than its generator. */
function syntheticRun(millions: number, seed: number): string {
  const path = join(RUNS_DIR, `analyzer-${millions}M-seed${seed}.db`);
  if (existsSync(path) && statSync(path).mtimeMs >= statSync(GENERATOR_SOURCE).mtimeMs) return path;
  mkdirSync(RUNS_DIR, { recursive: true });
  process.stderr.write(`writing ${path} ...\n`);
  writeSyntheticRun(`${path}.tmp`, millions * 1_000_000, seed);
  renameSync(`${path}.tmp`, path);
  return path;
}

const fixed = (x: number, digits = 2): string => x.toFixed(digits);
const row = (cells: (string | number)[]): string => `| ${cells.join(' | ')} |`;

function main(): void {
  const { values, positionals } = parseArgs({
    options: {
      cli: { type: 'string', default: join(PACKAGE_ROOT, 'dist', 'analyzer', 'cli.js') },
      sizes: { type: 'string', default: '1,2,5,10' },
      read: { type: 'string' }, // internal: --read READER PATH, in the child of measureRead
    },
    allowPositionals: true,
  });
  if (values.read !== undefined) {
    process.stdout.write(JSON.stringify(readAll(values.read as ReaderKey, positionals[0])));
    return;
  }
  if (!existsSync(TIME)) throw new Error(`${TIME} (GNU time) is needed to measure peak RSS: apt-get install time`);
  const sizes = values.sizes!.split(',').map(Number);
  const largest = Math.max(...sizes);
  const runs = new Map(sizes.map((m) => [m, syntheticRun(m, 1)]));
  const other = syntheticRun(largest, 2);
  const memory = new Database(':memory:');
  const sqlite = memory.prepare('SELECT sqlite_version()').pluck().get() as string;
  memory.close();

  console.log(`${cpus().length} CPUs (${cpus()[0].model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, kernel ${release()}, node ${process.version}, SQLite ${sqlite}`);
  console.log(`load average ${fixed(loadavg()[0])} at start; analyzer: ${values.cli}\n`);

  console.log(`Read the ${largest}M-event run's events in id order:\n`);
  console.log(row(['reader', 'wall s', 'CPU s', 'M events/s', 'peak RSS MB']));
  console.log(row(['---', '--:', '--:', '--:', '--:']));
  let expected: ReadResult | null = null;
  for (const reader of Object.keys(READERS) as ReaderKey[]) {
    const r = measureRead(reader, runs.get(largest)!);
    expected ??= r;
    if (r.events !== expected.events || r.checksum !== expected.checksum) {
      throw new Error(`${reader} read ${r.events} events (ts sum ${r.checksum}), RunFile.events() ${expected.events} (${expected.checksum})`);
    }
    console.log(row([READERS[reader], fixed(r.wallS), fixed(r.cpuS), fixed(r.events / r.wallS / 1e6), fixed(r.peakRssMb, 0)]));
  }

  console.log(`\n\`mutex-analyze report RUN\` (goal at 10M: <= 10 s, <= 500 MB):\n`);
  console.log(row(['events', 'wall s', 'CPU s', 's per M events', `wall / wall at ${sizes[0]}M`, 'peak RSS MB']));
  console.log(row(['--:', '--:', '--:', '--:', '--:', '--:']));
  let base: Timed | null = null;
  for (const m of sizes) {
    const t = measureCli(values.cli!, ['report', runs.get(m)!]);
    base ??= t;
    console.log(row([`${m}M`, fixed(t.wallS), fixed(t.cpuS), fixed(t.wallS / m), fixed(t.wallS / base.wallS, 1), fixed(t.peakRssMb, 0)]));
  }

  const diff = measureCli(values.cli!, ['diff', runs.get(largest)!, other]);
  console.log(`\n\`mutex-analyze diff\` of two ${largest}M-event runs (goal at 10M: <= 20 s):\n`);
  console.log(row(['wall s', 'CPU s', 'peak RSS MB']));
  console.log(row(['--:', '--:', '--:']));
  console.log(row([fixed(diff.wallS), fixed(diff.cpuS), fixed(diff.peakRssMb, 0)]));
  console.log(`\nload average ${fixed(loadavg()[0])} at the end`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`analyzer bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
