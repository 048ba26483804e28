/**
 * Correctness cross-check: perf lock and mutex-rec record the same workload run at the same time,
 * then their counts for its f_pos_lock mutex are compared, and every wait of one tool is paired
 * with the other's (same thread, same order) to show where a difference of totals comes from.
 *
 * The f_pos_lock is found in perf.data, independently of mutex-rec: the one lock of MUTEX
 * contention_begin events whose call chain passes through fdget_pos.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';

import { max, median, min, quantileSorted, sum } from 'simple-statistics';

import { RunFile } from '../runfile/runfile';
import { formatAddress } from '../core/events';
import { Joiner } from '../core/join';
import { collect, MUTEX_ANALYZE, MUTEX_REC, run, waitFor } from '../test/lib/tools';
import { checked, perfContentionRows, runFileBytes, workloadCommand, type Workload } from './perf-lock-runs';

const TIMEOUT_MS = 120_000;
const ATTEMPTS = 3; // runs of the workload until one contends its f_pos_lock

export interface CrossCheck {
  order: string; // which tool was attached first (its handler runs first on the tracepoints)
  lock: string; // f_pos_lock's address
  bytes: { perf: number; rec: number }; // perf.data, run file
  perf: { contended: number; waitNs: number; bad: number; lostLine: string | null };
  rec: { contended: number; waitNs: number; dropped: number };
  pairs: Pairing;
}

/** mutex-rec's waits minus perf's, paired per thread in order. */
export interface Pairing {
  threadsAgree: boolean; // every thread has as many waits in both
  count: number;
  medianNs: number;
  p1Ns: number;
  p99Ns: number;
  minNs: number;
  maxNs: number;
  sumNs: number;
}

interface PerfEvent {
  tid: number;
  ns: number;
  begin: boolean;
  lock: string;
  mutex: boolean;
  stack: string[]; // function names, innermost first
}

interface Recorded {
  perfData: string;
  runFile: string;
}

/** Both attach orders; mutex-rec first once more without call stacks, the dearest part of its begin program. */
export async function crossCheck(w: Workload, dir: string): Promise<CrossCheck[]> {
  return [
    await untilContended('perf attached first', () => perfFirst(w, dir)),
    await untilContended('mutex-rec attached first', () => recFirst(w, dir, [])),
    await untilContended('mutex-rec attached first, --no-stacks', () => recFirst(w, dir, ['--no-stacks'])),
  ];
}

/**
 * Records until the workload contended its f_pos_lock: with a CPU taken by another process its
 * readers run one at a time and may not contend at all, and then there is nothing to compare.
 */
async function untilContended(order: string, record: () => Promise<Recorded>): Promise<CrossCheck> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const { perfData, runFile } = await record();
    const events = await perfEvents(perfData);
    const lock = fposLock(events);
    if (lock === null) {
      process.stderr.write(`cross-check, ${order}: the workload did not contend its f_pos_lock (attempt ${attempt} of ${ATTEMPTS})\n`);
      continue;
    }
    const perf = await perfContention(perfData);
    const rec = await recContention(runFile, lock);
    const bytes = { perf: statSync(perfData).size, rec: runFileBytes(runFile) };
    return { order, lock, bytes, perf, rec, pairs: pair(perfWaits(events, lock), recWaits(runFile, lock)) };
  }
  throw new Error(`cross-check, ${order}: the workload did not contend its f_pos_lock in ${ATTEMPTS} runs`);
}

/** perf launches mutex-rec, which launches the workload: both see it from its first instruction. */
async function perfFirst(w: Workload, dir: string): Promise<Recorded> {
  const perfData = join(dir, 'perf-first.data');
  const runFile = join(dir, 'perf-first.db');
  const recorder = [MUTEX_REC, '--kernel', '-o', runFile, '--force', '--', ...workloadCommand(w)];
  checked('perf lock record -- mutex-rec', await run('perf', ['lock', 'record', '-o', perfData, '--', ...recorder], { timeoutMs: TIMEOUT_MS }));
  return { perfData, runFile };
}

/** mutex-rec records every task; perf lock record then launches the workload. */
async function recFirst(w: Workload, dir: string, recOptions: string[]): Promise<Recorded> {
  const perfData = join(dir, 'rec-first.data');
  const runFile = join(dir, 'rec-first.db');
  const recorder = spawn(MUTEX_REC, ['--all', ...recOptions, '-o', runFile, '--force'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const recorded = collect(recorder, TIMEOUT_MS);
  await waitFor(recorder.stderr!, /Ctrl-C to stop/);
  try {
    checked('perf lock record', await run('perf', ['lock', 'record', '-o', perfData, '--', ...workloadCommand(w)], { timeoutMs: TIMEOUT_MS }));
  } finally {
    recorder.kill('SIGINT');
  }
  checked('mutex-rec --all', await recorded);
  return { perfData, runFile };
}

async function perfEvents(perfData: string): Promise<PerfEvent[]> {
  const r = checked('perf script', await run('perf', ['script', '-i', perfData, '--ns', '-F', 'tid,time,event,trace,ip,sym'], { timeoutMs: TIMEOUT_MS }));
  const events: PerfEvent[] = [];
  for (const line of r.stdout.split('\n')) {
    const head = /^\s*(\d+)\s+(\d+)\.(\d{9}):\s+lock:contention_(begin|end):\s+(0x[0-9a-f]+)(?: \(flags=([^)]*)\))?/.exec(line);
    if (head) {
      const flags = (head[6] ?? '').split('|');
      events.push({ tid: Number(head[1]), ns: Number(head[2]) * 1e9 + Number(head[3]), begin: head[4] === 'begin', lock: head[5], mutex: flags.includes('MUTEX'), stack: [] });
      continue;
    }
    const frame = /^\s+[0-9a-f]+ (\S+)/.exec(line);
    if (frame && events.length > 0) events[events.length - 1].stack.push(frame[1]);
  }
  return events;
}

/** The f_pos_lock, or null when the workload never contended it. */
function fposLock(events: PerfEvent[]): string | null {
  const locks = [...new Set(events.filter((e) => e.begin && e.mutex && e.stack.some(isFdgetPos)).map((e) => e.lock))];
  if (locks.length > 1) throw new Error(`expected one f_pos_lock in perf.data, found ${locks.length}: ${locks.join(', ')}`);
  return locks[0] ?? null;
}

/** fdget_pos (6.18) or __fdget_pos (6.1), with or without +offset. */
const isFdgetPos = (frame: string): boolean => /^_*fdget_pos(\+|$)/.test(frame);

/** perf's own counting: per thread and lock, the first begin opens a wait, a begin while it is open is ignored, end closes it. */
function perfWaits(events: PerfEvent[], lock: string): Map<number, number[]> {
  const open = new Map<number, number>();
  const waits = new Map<number, number[]>();
  for (const e of events) {
    if (e.lock !== lock) continue;
    const start = open.get(e.tid);
    if (e.begin) {
      if (start === undefined) open.set(e.tid, e.ns);
    } else if (start !== undefined) {
      open.delete(e.tid);
      append(waits, e.tid, e.ns - start);
    }
  }
  return waits;
}

/** `perf lock contention -v`: the mutex rows whose call stack passes through fdget_pos, summed. */
async function perfContention(perfData: string): Promise<CrossCheck['perf']> {
  const r = checked('perf lock contention', await run('perf', ['lock', 'contention', '-i', perfData, '-v', '-E', '1000000'], { timeoutMs: TIMEOUT_MS }));
  const fpos = perfContentionRows(r).filter((row) => row.type === 'mutex' && row.stack.some(isFdgetPos));
  const output = `${r.stdout}\n${r.stderr}`;
  const bad = /bad: (\d+), total: \d+/.exec(output);
  return {
    contended: sum(fpos.map((row) => row.contended)),
    waitNs: sum(fpos.map((row) => row.waitNs)),
    bad: bad ? Number(bad[1]) : 0,
    lostLine: output.split('\n').find((l) => /\blost\b/i.test(l))?.trim() ?? null,
  };
}

async function recContention(runFile: string, lock: string): Promise<CrossCheck['rec']> {
  const r = checked('mutex-analyze report', await run(process.execPath, [MUTEX_ANALYZE, 'report', runFile, '--format', 'json', '--top', '1000000'], { timeoutMs: TIMEOUT_MS }));
  const report = JSON.parse(r.stdout) as { run: { dropped: number }; rows: { key: string; kind: string; contended: number; wait: { total: number } | null }[] };
  const row = report.rows.find((x) => x.key === lock && x.kind === 'mutex');
  return { contended: row?.contended ?? 0, waitNs: row?.wait?.total ?? 0, dropped: report.run.dropped };
}

function recWaits(runFile: string, lock: string): Map<number, number[]> {
  const waits = new Map<number, number[]>();
  const file = RunFile.open(runFile);
  try {
    const joiner = new Joiner({
      acquisition: (a) => {
        if (a.wait !== null && formatAddress(a.lock) === lock) append(waits, a.tid, a.wait);
      },
      failed() {},
      open() {},
      anomaly() {},
    });
    file.eachEvent((e) => joiner.push(e));
    joiner.finish();
  } finally {
    file.close();
  }
  return waits;
}

function pair(perf: Map<number, number[]>, rec: Map<number, number[]>): Pairing {
  const diffs: number[] = [];
  let threadsAgree = true;
  for (const tid of new Set([...perf.keys(), ...rec.keys()])) {
    const a = perf.get(tid) ?? [];
    const b = rec.get(tid) ?? [];
    if (a.length !== b.length) threadsAgree = false;
    for (let i = 0; i < Math.min(a.length, b.length); i++) diffs.push(b[i] - a[i]);
  }
  if (diffs.length === 0) throw new Error('no waits of the f_pos_lock to pair');
  const sorted = diffs.sort((x, y) => x - y);
  return {
    threadsAgree,
    count: diffs.length,
    medianNs: median(sorted),
    p1Ns: quantileSorted(sorted, 0.01),
    p99Ns: quantileSorted(sorted, 0.99),
    minNs: min(sorted),
    maxNs: max(sorted),
    sumNs: sum(sorted),
  };
}

function append(map: Map<number, number[]>, key: number, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
