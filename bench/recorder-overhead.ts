#!/usr/bin/env node
/**
 * Recorder overhead: the cost of one lock/unlock pair of bench/workloads/pairs.c
 *   bare   with nothing attached,
 *   floor  with empty BPF programs (build/empty.bpf.o) on the recorder's uprobes, for that pid:
 *          the cost of the probes themselves,
 *   rec    under mutex-rec, recording into a SQLite run file,
 *   rec-at-stop  the same with --write-at-stop: the events are kept raw while recording (a copy
 *          per drain) and written as rows when it stops, so the workload pays the recorder's BPF
 *          programs but almost none of its own CPU work: rec − rec-at-stop is what writing rows
 *          while recording costs a workload that keeps every CPU busy,
 *   bpftrace  under a bpftrace script in the manner of the BPF Performance Tools book's pmlock.bt
 *          and pmheld.bt (uprobe + uretprobe on lock, uprobe on unlock, wait and hold histograms
 *          by mutex, 5-frame user stack and comm, kept in maps), for that pid,
 * run interleaved for some rounds. The goals are rec/floor <= 1.10 with no dropped event, and
 * rec no slower than bpftrace, which keeps only histograms where mutex-rec keeps every event.
 *
 *   node dist/bench/recorder-overhead.js [--rounds K] [--pairs M] [--threads T] [--rec-arg ARG]... [--no-bpftrace]
 *
 * --rec-arg passes an option to mutex-rec (e.g. --rec-arg=--no-stacks); repeatable. bpftrace is
 * installed (apt-get) when missing; when it cannot be, or with --no-bpftrace, that variant is left out.
 * The measurement is runRecorderOverhead(), which bench/all.ts calls too.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import Database from 'better-sqlite3';
import { median } from 'simple-statistics';

import type { EmptyProgram } from '../bpf/programs';
import { addon, PACKAGE_ROOT } from '../recorder/addon';
import { planUserProbes, type ProbePlacement } from '../recorder/probes';
import { mappedObjects, pthreadProviders } from '../recorder/targets';
import { ensureCommand, requireRoot, Skip, standalone } from './lib/env';
import { figureTable, fmt, mdTable, plural, positiveInt, range, spreadOf, verdict, type BenchResult, type Figure, type Spread } from './lib/report';

const WORKLOAD = join(PACKAGE_ROOT, 'build', 'bench', 'pairs');
const EMPTY_OBJECT = join(PACKAGE_ROOT, 'build', 'empty.bpf.o');
const MUTEX_REC = join(PACKAGE_ROOT, 'dist', 'recorder', 'cli.js'); // run as the mutex-rec bin: its shebang's Node options apply
const GOAL = 1.1;
const TIMEOUT_MS = 120_000;
const BPFTRACE_EXIT_GRACE_MS = 10_000;

export type Variant = 'bare' | 'floor' | 'rec' | 'rec-at-stop' | 'bpftrace';
const VARIANTS: Variant[] = ['bare', 'floor', 'rec', 'rec-at-stop', 'bpftrace'];

export interface Measurement {
  perPairNs: number;
  drops?: number; // rec only: from the run file
  events?: number;
}

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Compiles bench/workloads/NAME.c into build/bench/NAME when the source is newer; returns its path. */
export function buildWorkload(name = 'pairs'): string {
  const source = join(PACKAGE_ROOT, 'bench', 'workloads', `${name}.c`);
  const executable = join(PACKAGE_ROOT, 'build', 'bench', name);
  mkdirSync(join(PACKAGE_ROOT, 'build', 'bench'), { recursive: true });
  let fresh = false;
  try {
    fresh = statSync(executable).mtimeMs >= statSync(source).mtimeMs;
  } catch {
    fresh = false;
  }
  if (!fresh) execFileSync('gcc', ['-O2', '-Wall', '-pthread', '-o', executable, source], { stdio: 'inherit' });
  return executable;
}

export function start(command: string, args: string[]): { child: ReturnType<typeof spawn>; finished: Promise<Finished> } {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: TIMEOUT_MS });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const finished = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, finished };
}

/** Per-pair cost from the workload's `pairs=M elapsed_ns=N` line. */
function perPairNs(what: string, r: Finished): number {
  const m = /pairs=(\d+) elapsed_ns=(\d+)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return Number(m[2]) / Number(m[1]);
}

export function readyPid(stdout: NodeJS.ReadableStream): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer): void => {
      seen += d.toString();
      const m = /ready pid=(\d+)\n/.exec(seen);
      if (!m) return;
      stdout.off('data', onData);
      resolve(Number(m[1]));
    };
    stdout.on('data', onData);
    stdout.on('end', () => reject(new Error(`the workload ended before it was ready: ${seen}`)));
  });
}

export async function bare(workloadArgs: string[]): Promise<Measurement> {
  return { perPairNs: perPairNs('bare workload', await start(WORKLOAD, workloadArgs).finished) };
}

/** The workload with the empty programs attached where mutex-rec attaches its own, pid only. */
export async function floor(workloadArgs: string[], placement: ProbePlacement = 'emulated'): Promise<Measurement> {
  const { child, finished } = start(WORKLOAD, ['--wait-go', ...workloadArgs]);
  const floorObject = new addon.BpfObject(EMPTY_OBJECT);
  try {
    const pid = await readyPid(child.stdout!);
    const { probes } = planUserProbes(pthreadProviders(mappedObjects(pid)), placement);
    if (probes.length === 0) throw new Error('no pthread_mutex_lock to probe in the workload');
    floorObject.load({});
    for (const p of probes) {
      const program: EmptyProgram = p.program; // empty.bpf.c has every program mutex-rec attaches to a pthread function
      floorObject.attachUprobe(program, p.object, p.offset, p.kind === 'uretprobe', pid);
    }
    child.stdin!.end('go\n');
    return { perPairNs: perPairNs('floor workload', await finished) };
  } finally {
    child.kill('SIGKILL'); // no-op once it has exited; on a failure it must not wait for stdin forever
    floorObject.close();
  }
}

export async function rec(workloadArgs: string[], recArgs: string[], runFile: string): Promise<Measurement> {
  const r = await start(MUTEX_REC, [...recArgs, '-o', runFile, '--force', '--', WORKLOAD, ...workloadArgs]).finished;
  const perPair = perPairNs('mutex-rec', r);
  const db = new Database(runFile, { readonly: true, fileMustExist: true });
  try {
    const run = db.prepare('SELECT drop_count, event_count FROM run').get() as { drop_count: number; event_count: number };
    return { perPairNs: perPair, drops: run.drop_count, events: run.event_count };
  } finally {
    db.close();
  }
}

/** pmlock.bt + pmheld.bt (BPF Performance Tools, ch. 13), on the libc the workload maps. */
function bpftraceScript(libc: string): string {
  return `
BEGIN { printf("attached\\n"); }
uprobe:${libc}:pthread_mutex_lock { @lock_start[tid] = nsecs; @lock_addr[tid] = arg0; }
uretprobe:${libc}:pthread_mutex_lock /@lock_start[tid]/ {
  @lock_latency_ns[usym(@lock_addr[tid]), ustack(5), comm] = hist(nsecs - @lock_start[tid]);
  @held_start[@lock_addr[tid]] = nsecs;
  delete(@lock_start[tid]); delete(@lock_addr[tid]);
}
uprobe:${libc}:pthread_mutex_unlock /@held_start[arg0]/ {
  @held_time_ns[usym(arg0), ustack(5), comm] = hist(nsecs - @held_start[arg0]);
  delete(@held_start[arg0]);
}`;
}

async function bpftrace(workloadArgs: string[]): Promise<Measurement> {
  const { child, finished } = start(WORKLOAD, ['--wait-go', ...workloadArgs]);
  let tracer: ReturnType<typeof start> | null = null;
  try {
    const pid = await readyPid(child.stdout!);
    const libc = pthreadProviders(mappedObjects(pid))[0].path;
    tracer = start('bpftrace', ['-p', String(pid), '-e', bpftraceScript(libc)]);
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      tracer!.child.stdout!.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('attached')) resolve();
      });
      tracer!.finished.then((r) => reject(new Error(`bpftrace exited before attaching: ${r.stderr.trim()}`)));
    });
    child.stdin!.end('go\n');
    return { perPairNs: perPairNs('workload under bpftrace', await finished) };
  } finally {
    child.kill('SIGKILL');
    if (tracer) {
      // bpftrace prints its maps and exits; naming the stacks of a workload that is gone can keep
      // it busy for minutes, long after the measurement: it gets a grace period, then SIGKILL.
      tracer.child.kill('SIGINT');
      const grace = setTimeout(() => tracer!.child.kill('SIGKILL'), BPFTRACE_EXIT_GRACE_MS);
      await tracer.finished;
      clearTimeout(grace);
    }
  }
}

export interface RecorderOptions {
  rounds: number;
  pairs: number; // a multiple of threads
  threads: number;
  recArgs: string[]; // options passed to mutex-rec
  bpftrace: boolean; // run the bpftrace variant (installed if missing; left out, with the reason, if it cannot be)
}

export const RECORDER_DEFAULTS: RecorderOptions = { rounds: 7, pairs: 40_000, threads: 2, recArgs: [], bpftrace: true };
export const RECORDER_QUICK: RecorderOptions = { ...RECORDER_DEFAULTS, rounds: 2, pairs: 4_000 };

export interface RecorderResult extends BenchResult {
  name: 'recorder';
  options: RecorderOptions;
  perPairNs: Partial<Record<Variant, number[]>>; // one per round; bpftrace absent when it did not run
  drops: number[]; // rec per round, then rec-at-stop per round
  events: number[]; // rec, per round
  bpftrace: string | null; // its version, or null when it did not run
  bpftraceSkipped: string | null; // why it did not run
}

/** The rounds of every variant, interleaved, and their figures. Needs root. */
export async function runRecorderOverhead(options: Partial<RecorderOptions> = {}): Promise<RecorderResult> {
  const o: RecorderOptions = { ...RECORDER_DEFAULTS, ...options };
  if (o.pairs % o.threads !== 0) throw new Error(`--pairs (${o.pairs}) must be a multiple of --threads (${o.threads})`);
  requireRoot('recorder-overhead');
  let bpftraceSkipped: string | null = o.bpftrace ? null : 'not asked for';
  let bpftraceVersion: string | null = null;
  if (o.bpftrace) {
    try {
      ensureCommand('bpftrace', 'bpftrace');
      bpftraceVersion = execFileSync('bpftrace', ['--version'], { encoding: 'utf8' }).trim();
    } catch (err) {
      if (!(err instanceof Skip)) throw err;
      bpftraceSkipped = err.message;
      process.stderr.write(`recorder-overhead: running without the bpftrace variant: ${err.message}\n`);
    }
  }
  const variants = VARIANTS.filter((v) => v !== 'bpftrace' || bpftraceVersion !== null);
  const workloadArgs = [String(o.threads), String(o.pairs)];

  buildWorkload();
  const dir = mkdtempSync(join(tmpdir(), 'mutex-bench-'));
  const results: Record<Variant, Measurement[]> = { bare: [], floor: [], rec: [], 'rec-at-stop': [], bpftrace: [] };
  try {
    for (let round = 1; round <= o.rounds; round++) {
      for (const v of variants) {
        if (v === 'bare') results.bare.push(await bare(workloadArgs));
        else if (v === 'floor') results.floor.push(await floor(workloadArgs));
        else if (v === 'rec') results.rec.push(await rec(workloadArgs, o.recArgs, join(dir, 'run.db')));
        else if (v === 'rec-at-stop') results['rec-at-stop'].push(await rec(workloadArgs, [...o.recArgs, '--write-at-stop'], join(dir, 'run.db')));
        else results.bpftrace.push(await bpftrace(workloadArgs));
      }
      const last = variants.map((v) => `${v} ${fmt(results[v][round - 1].perPairNs, 1)} ns`).join(', ');
      process.stderr.write(`round ${round}/${o.rounds}: ${last} per pair\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const perPairNs: Partial<Record<Variant, number[]>> = {};
  for (const v of variants) perPairNs[v] = results[v].map((m) => m.perPairNs);
  const drops = [...results.rec, ...results['rec-at-stop']].map((m) => m.drops!);
  const events = results.rec.map((m) => m.events!);
  const result: Omit<RecorderResult, 'figures' | 'markdown'> = { name: 'recorder', options: o, perPairNs, drops, events, bpftrace: bpftraceVersion, bpftraceSkipped };
  const figures = recorderFigures(result);
  const notes = bpftraceSkipped ? [`no bpftrace variant: ${bpftraceSkipped}`] : [];
  return { ...result, figures, markdown: recorderMarkdown(result, figures), notes };
}

function recorderFigures(r: Omit<RecorderResult, 'figures' | 'markdown'>): Figure[] {
  const cost = (v: Variant): number[] => r.perPairNs[v]!;
  const ratio = (a: Variant, b: Variant): Spread => spreadOf(cost(a).map((x, i) => x / cost(b)[i]));
  const recOverFloor = ratio('rec', 'floor');
  const figures: Figure[] = [{ name: 'rec/floor', value: recOverFloor, digits: 3, goal: `<= ${GOAL}`, met: recOverFloor.median <= GOAL }];
  figures.push({ name: 'rec drops', value: spreadOf(r.drops), digits: 0, goal: '0 in every round', met: r.drops.every((d) => d === 0) });
  if (r.perPairNs.bpftrace) {
    const recOverBpftrace = ratio('rec', 'bpftrace');
    figures.push({ name: 'rec/bpftrace', value: recOverBpftrace, digits: 3, goal: '<= 1 (no slower than bpftrace)', met: recOverBpftrace.median <= 1 });
    figures.push({ name: 'bpftrace/floor', value: ratio('bpftrace', 'floor'), digits: 3 });
  }
  const atStopOverFloor = ratio('rec-at-stop', 'floor');
  figures.push({ name: 'rec-at-stop/floor (--write-at-stop)', value: atStopOverFloor, digits: 3, goal: `<= ${GOAL}`, met: atStopOverFloor.median <= GOAL });
  if (r.perPairNs.bpftrace) {
    const atStopOverBpftrace = ratio('rec-at-stop', 'bpftrace');
    figures.push({ name: 'rec-at-stop/bpftrace', value: atStopOverBpftrace, digits: 3, goal: '<= 1 (no slower than bpftrace)', met: atStopOverBpftrace.median <= 1 });
  }
  figures.push({
    name: '(rec − rec-at-stop)/floor (writing rows while recording)',
    value: spreadOf(cost('rec').map((x, i) => (x - cost('rec-at-stop')[i]) / cost('floor')[i])),
    digits: 3,
  });
  figures.push({ name: 'floor/bare', value: ratio('floor', 'bare'), digits: 0 });
  figures.push({ name: 'rec events per pair', value: spreadOf(r.events.map((e) => e / r.options.pairs)), digits: 2 });
  return figures;
}

function recorderMarkdown(r: Omit<RecorderResult, 'figures' | 'markdown'>, figures: Figure[]): string {
  const o = r.options;
  const variants = VARIANTS.filter((v) => r.perPairNs[v]);
  const lines = [
    `${fmt(o.pairs)} pairs over ${o.threads} threads (1 in 4 on a shared mutex), ${plural(o.rounds, 'interleaved round')}; ` +
      `mutex-rec ${o.recArgs.length ? `\`${o.recArgs.join(' ')}\`` : '(defaults)'}; ${r.bpftrace ?? `no bpftrace variant: ${r.bpftraceSkipped}`}.`,
    '',
    mdTable(
      ['variant', 'per pair, ns: median', 'min–max'],
      variants.map((v) => {
        const s = spreadOf(r.perPairNs[v]!);
        return [v, fmt(s.median, 1), range(s, 1)];
      }),
      ['l', 'r', 'l'],
    ),
    '',
    figureTable(figures.filter((f) => f.name !== 'rec drops' && f.name !== 'rec events per pair'), ['ratio, per round', 'median', 'min–max', 'goal']),
    '',
    `rec and rec-at-stop drops per round: ${r.drops.join(', ')} (goal: none: ${verdict(r.drops.every((d) => d === 0))}); ` +
      `events recorded per round: ${r.events.map((e) => fmt(e)).join(', ')} ` +
      `(${fmt(median(r.events) / o.pairs, 2)} per pair, counting the few the workload makes outside its timed loop).`,
  ];
  return lines.join('\n');
}

if (require.main === module) {
  standalone('recorder-overhead', async () => {
    const { values } = parseArgs({
      options: {
        rounds: { type: 'string', default: String(RECORDER_DEFAULTS.rounds) },
        pairs: { type: 'string', default: String(RECORDER_DEFAULTS.pairs) },
        threads: { type: 'string', default: String(RECORDER_DEFAULTS.threads) },
        'rec-arg': { type: 'string', multiple: true, default: [] },
        'no-bpftrace': { type: 'boolean', default: false },
      },
    });
    return runRecorderOverhead({
      rounds: positiveInt('rounds', values.rounds!),
      pairs: positiveInt('pairs', values.pairs!),
      threads: positiveInt('threads', values.threads!),
      recArgs: values['rec-arg']!,
      bpftrace: !values['no-bpftrace'],
    });
  });
}
