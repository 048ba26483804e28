/**
 * The runs bench/perf-lock.ts compares: the kernel-mutex workload bare, under `perf lock record`
 * and under mutex-rec, and the wall time of each tool's analysis of what it recorded.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

import Database from 'better-sqlite3';

import { Stage } from '../core/events';
import { MUTEX_ANALYZE, MUTEX_REC, REPO, run, type RunResult } from '../test/lib/tools';

const FPOS_TIMED = join(REPO, 'build', 'bench', 'fpos_timed');
const TIMEOUT_MS = 120_000;

/** fpos_timed: THREADS threads read() one shared file description, contending its f_pos_lock. */
export interface Workload {
  dataFile: string;
  threads: number;
  reads: number; // per thread
}

export function workloadCommand(w: Workload): string[] {
  return [FPOS_TIMED, w.dataFile, String(w.threads), String(w.reads)];
}

export function buildWorkload(): void {
  mkdirSync(dirname(FPOS_TIMED), { recursive: true });
  execFileSync('gcc', ['-O2', '-Wall', '-pthread', '-o', FPOS_TIMED, join(REPO, 'bench', 'workloads', 'fpos_timed.c')], { stdio: 'inherit' });
}

/** `perf version`, or an error saying what to install. */
export function perfVersion(): string {
  try {
    return execFileSync('perf', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('perf is missing: apt-get install -y linux-perf');
  }
}

export function checked(what: string, r: RunResult): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}

function elapsedNs(what: string, r: RunResult): number {
  const m = /elapsed_ns=(\d+)/.exec(checked(what, r).stdout);
  if (!m) throw new Error(`${what}: no elapsed_ns line in its output: ${r.stdout.trim()}`);
  return Number(m[1]);
}

export async function bare(w: Workload): Promise<number> {
  const [command, ...args] = workloadCommand(w);
  return elapsedNs('bare workload', await run(command, args, { timeoutMs: TIMEOUT_MS }));
}

export interface PerfRecording {
  elapsedNs: number;
  bytes: number;
  samples: number;
}

export async function underPerf(w: Workload, perfData: string): Promise<PerfRecording> {
  const r = await run('perf', ['lock', 'record', '-o', perfData, '--', ...workloadCommand(w)], { timeoutMs: TIMEOUT_MS });
  const elapsed = elapsedNs('perf lock record', r);
  const captured = /Captured and wrote .* \((\d+) samples\)/.exec(r.stderr);
  if (!captured) throw new Error(`perf lock record did not say what it wrote: ${r.stderr.trim()}`);
  return { elapsedNs: elapsed, bytes: statSync(perfData).size, samples: Number(captured[1]) };
}

export interface RecRecording {
  elapsedNs: number;
  bytes: number; // the run file and any -wal/-shm left beside it
  events: number;
  waits: number; // contended acquisitions (the tracepoints see no others)
  dropped: number;
}

/** mutex-rec on this host's kernel path: the contention tracepoints, every task (--all). */
export async function underMutexRec(w: Workload, runFile: string, options: string[] = []): Promise<RecRecording> {
  const r = await run(MUTEX_REC, ['--kernel', '--all', ...options, '-o', runFile, '--force', '--', ...workloadCommand(w)], { timeoutMs: TIMEOUT_MS });
  const elapsed = elapsedNs('mutex-rec', r);
  const db = new Database(runFile, { readonly: true, fileMustExist: true });
  try {
    const counts = db
      .prepare('SELECT event_count AS events, drop_count AS dropped, (SELECT count(*) FROM events WHERE stage = ?) AS waits FROM run')
      .get(Stage.Acquired) as { events: number; dropped: number; waits: number };
    return { elapsedNs: elapsed, bytes: runFileBytes(runFile), ...counts };
  } finally {
    db.close();
  }
}

export function runFileBytes(path: string): number {
  return [path, `${path}-wal`, `${path}-shm`].filter((p) => existsSync(p)).reduce((sum, p) => sum + statSync(p).size, 0);
}

/** A command run to completion, and its wall time in ms. */
export async function timed(what: string, command: string, args: string[]): Promise<{ ms: number; result: RunResult }> {
  const start = process.hrtime.bigint();
  const result = checked(what, await run(command, args, { timeoutMs: TIMEOUT_MS }));
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

export interface PerfRow {
  contended: number;
  waitNs: number;
  type: string; // mutex, spinlock, rwsem:R, ...
  stack: string[]; // with -v: the call stack's functions as function+0xoffset, innermost first
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** The rows of `perf lock contention` (6.1 prints them on stderr): contended, total wait (3-4 digits), type. */
export function perfContentionRows(r: RunResult): PerfRow[] {
  const rows: PerfRow[] = [];
  for (const line of `${r.stdout}\n${r.stderr}`.split('\n')) {
    const row = /^\s*(\d+)\s+([\d.]+) (\w+)\s+[\d.]+ \w+\s+[\d.]+ \w+\s+(\S+)\s+\S+\s*$/.exec(line);
    if (row) {
      rows.push({ contended: Number(row[1]), waitNs: Number(row[2]) * UNIT_NS[row[3]], type: row[4], stack: [] });
      continue;
    }
    const frame = /^\s+0x[0-9a-f]+\s+(\S+)/.exec(line);
    if (frame && rows.length > 0) rows[rows.length - 1].stack.push(frame[1]);
  }
  return rows;
}

/** `perf lock contention -i perf.data`, timed, and the waits it counted (every row). */
export async function perfReport(perfData: string): Promise<{ ms: number; waits: number }> {
  const { ms, result } = await timed('perf lock contention', 'perf', ['lock', 'contention', '-i', perfData]);
  return { ms, waits: perfContentionRows(result).reduce((sum, row) => sum + row.contended, 0) };
}

export async function recReportMs(runFile: string): Promise<number> {
  return (await timed('mutex-analyze report', process.execPath, [MUTEX_ANALYZE, 'report', runFile])).ms;
}
