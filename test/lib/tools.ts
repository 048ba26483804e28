import { spawn, type ChildProcess } from 'node:child_process';
import { join as joinPath } from 'node:path';

import Database from 'better-sqlite3';

import { Joiner, type Acquisition, type CondOpen, type CondSignal, type CondWait, type FailedAttempt, type OpenItem } from '../../core/join';
import type { ProbeCost } from '../../core/probe_cost';
import type { RawEvent } from '../../core/events';

export const REPO = joinPath(__dirname, '..', '..', '..');
export const MUTEX_REC = joinPath(REPO, 'dist', 'recorder', 'cli.js');
export const MUTEX_ANALYZE = joinPath(REPO, 'dist', 'analyzer', 'cli.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, collecting its output. */
export function run(command: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    collect(child, opts.timeoutMs ?? 120_000).then(resolve, reject);
    child.stdin!.end(opts.input ?? '');
  });
}

export function collect(child: ChildProcess, timeoutMs: number): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export function mutexRec(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(process.execPath, [MUTEX_REC, ...args], opts);
}

/**
 * mutex-rec of a target that outlives it (a deadlock: -d stops the recorder, the target hangs on).
 * The target inherits the recorder's pipes, so they close only once it is gone: at the recorder's
 * exit the target is killed (its pid from the run file), then the output is collected to the end.
 */
export function mutexRecHanging(args: string[]): Promise<RunResult> {
  const output = args[args.indexOf('-o') + 1];
  if (!args.includes('-o') || output === undefined) throw new Error('mutexRecHanging: name the run file with -o');
  const recorder = spawn(process.execPath, [MUTEX_REC, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  recorder.on('exit', () => {
    try {
      const db = new Database(output, { readonly: true });
      const pid = db.prepare('SELECT target_pid FROM run').pluck().get() as number | null;
      db.close();
      if (pid) process.kill(pid, 'SIGKILL');
    } catch {
      // no run file, or the target is gone already
    }
  });
  return collect(recorder, 60_000);
}

export function mutexAnalyze(args: string[], opts: { timeoutMs?: number } = {}): Promise<RunResult> {
  return run(process.execPath, [MUTEX_ANALYZE, ...args], opts);
}

/** Resolves when `text` appears on the child's stream. */
export function waitFor(stream: NodeJS.ReadableStream, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`did not see ${pattern} within ${timeoutMs} ms; saw: ${seen}`)), timeoutMs);
    const onData = (d: Buffer): void => {
      seen += d.toString();
      const m = pattern.exec(seen);
      if (m) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(m);
      }
    };
    stream.on('data', onData);
  });
}

export interface RunFile {
  db: Database.Database;
  startMonotonicNs: bigint;
  events: RawEvent[];
  run: Record<string, unknown>;
}

export function openRun(path: string): RunFile {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.defaultSafeIntegers(false);
  const run = db.prepare('SELECT * FROM run').get() as Record<string, unknown>;
  const start = db.prepare('SELECT start_monotonic_ns AS s FROM run').safeIntegers(true).get() as { s: bigint };
  const hasCond = (db.prepare('PRAGMA table_info(events)').all() as { name: string }[]).some((c) => c.name === 'cond');
  const events = db
    .prepare(`SELECT id, ts, request_ts AS requestTs, stage, func, pid, tid, lock, ret, caller, flags, stack_id AS stackId, ${hasCond ? 'cond' : 'NULL AS cond'} FROM events ORDER BY id`)
    .all() as RawEvent[];
  return { db, startMonotonicNs: start.s, events, run };
}

export interface Joined {
  acquisitions: Acquisition[];
  failed: FailedAttempt[];
  open: OpenItem[];
  anomalies: string[];
  condWaits: CondWait[];
  condSignals: CondSignal[];
  condOpen: CondOpen[];
}

export function join(events: RawEvent[], opts: { probeCost?: ProbeCost | null } = {}): Joined {
  const out: Joined = { acquisitions: [], failed: [], open: [], anomalies: [], condWaits: [], condSignals: [], condOpen: [] };
  const joiner = new Joiner({
    acquisition: (a) => out.acquisitions.push(a),
    failed: (f) => out.failed.push(f),
    open: (o) => out.open.push(o),
    anomaly: (kind, e) => out.anomalies.push(`${kind} at event ${e.id}`),
    condWait: (w) => out.condWaits.push(w),
    condSignal: (s) => out.condSignals.push(s),
    condOpen: (o) => out.condOpen.push(o),
  }, opts);
  for (const e of events) joiner.push(e);
  joiner.finish();
  return out;
}

/** The workload prints %p; the run file stores the address as a signed integer. */
export function address(hex: string): number {
  return Number(BigInt.asIntN(64, BigInt(hex)));
}

export function relativeNs(run: RunFile, absoluteNs: string): number {
  return Number(BigInt(absoluteNs) - run.startMonotonicNs);
}
