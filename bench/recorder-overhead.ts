#!/usr/bin/env node
/**
 * Recorder overhead: the cost of one lock/unlock pair of bench/workloads/pairs.c
 *   bare   with nothing attached,
 *   floor  with empty BPF programs (build/empty.bpf.o) on the recorder's uprobes, for that pid:
 *          the cost of the probes themselves,
 *   rec    under mutex-rec, recording into a SQLite run file,
 *   bpftrace  under a bpftrace script in the manner of the BPF Performance Tools book's pmlock.bt
 *          and pmheld.bt (uprobe + uretprobe on lock, uprobe on unlock, wait and hold histograms
 *          by mutex, 5-frame user stack and comm, kept in maps), for that pid,
 * run interleaved for some rounds. The goals are rec/floor <= 1.10 with no dropped event, and
 * rec no slower than bpftrace, which keeps only histograms where mutex-rec keeps every event.
 *
 *   node dist/bench/recorder-overhead.js [--rounds K] [--pairs M] [--threads T] [--rec-arg ARG]...
 *
 * --rec-arg passes an option to mutex-rec (e.g. --rec-arg=--no-stacks); repeatable.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import Database from 'better-sqlite3';
import { max, median, min } from 'simple-statistics';

import { addon, PACKAGE_ROOT } from '../recorder/addon';
import { planUserProbes } from '../recorder/probes';
import { mappedObjects, pthreadProviders } from '../recorder/targets';

const WORKLOAD_SOURCE = join(PACKAGE_ROOT, 'bench', 'workloads', 'pairs.c');
const WORKLOAD = join(PACKAGE_ROOT, 'build', 'bench', 'pairs');
const EMPTY_OBJECT = join(PACKAGE_ROOT, 'build', 'empty.bpf.o');
const MUTEX_REC = join(PACKAGE_ROOT, 'dist', 'recorder', 'cli.js');
const GOAL = 1.1;
const TIMEOUT_MS = 120_000;

type Variant = 'bare' | 'floor' | 'rec' | 'bpftrace';
const VARIANTS: Variant[] = ['bare', 'floor', 'rec', 'bpftrace'];

interface Measurement {
  perPairNs: number;
  drops?: number; // rec only: from the run file
  events?: number;
}

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Compiles the workload when its source is newer than the executable. */
function buildWorkload(): void {
  mkdirSync(join(PACKAGE_ROOT, 'build', 'bench'), { recursive: true });
  let fresh = false;
  try {
    fresh = statSync(WORKLOAD).mtimeMs >= statSync(WORKLOAD_SOURCE).mtimeMs;
  } catch {
    fresh = false;
  }
  if (!fresh) execFileSync('gcc', ['-O2', '-Wall', '-pthread', '-o', WORKLOAD, WORKLOAD_SOURCE], { stdio: 'inherit' });
}

function start(command: string, args: string[]): { child: ReturnType<typeof spawn>; finished: Promise<Finished> } {
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

function readyPid(stdout: NodeJS.ReadableStream): Promise<number> {
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

async function bare(workloadArgs: string[]): Promise<Measurement> {
  return { perPairNs: perPairNs('bare workload', await start(WORKLOAD, workloadArgs).finished) };
}

/** The workload with the empty programs attached where mutex-rec attaches its own, pid only. */
async function floor(workloadArgs: string[]): Promise<Measurement> {
  const { child, finished } = start(WORKLOAD, ['--wait-go', ...workloadArgs]);
  const session = new addon.BpfSession(EMPTY_OBJECT);
  try {
    const pid = await readyPid(child.stdout!);
    const { probes } = planUserProbes(pthreadProviders(mappedObjects(pid)));
    if (probes.length === 0) throw new Error('no pthread_mutex_lock to probe in the workload');
    session.setGlobal('target_tgid', pid);
    session.load();
    for (const p of probes) session.attachUprobe(p.program, p.object, p.offset, p.kind === 'uretprobe', pid);
    child.stdin!.end('go\n');
    return { perPairNs: perPairNs('floor workload', await finished) };
  } finally {
    child.kill('SIGKILL'); // no-op once it has exited; on a failure it must not wait for stdin forever
    session.close();
  }
}

async function rec(workloadArgs: string[], recArgs: string[], runFile: string): Promise<Measurement> {
  const r = await start(process.execPath, [MUTEX_REC, ...recArgs, '-o', runFile, '--force', '--', WORKLOAD, ...workloadArgs]).finished;
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
      tracer.child.kill('SIGINT'); // bpftrace prints its maps and exits
      await tracer.finished;
    }
  }
}

function positiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const spread = (xs: number[], digits: number): string => `${fmt(min(xs), digits)}–${fmt(max(xs), digits)}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '7' },
      pairs: { type: 'string', default: '40000' },
      threads: { type: 'string', default: '2' },
      'rec-arg': { type: 'string', multiple: true, default: [] },
    },
  });
  const recArgs = values['rec-arg']!;
  const rounds = positiveInt('rounds', values.rounds!);
  const pairs = positiveInt('pairs', values.pairs!);
  const threads = positiveInt('threads', values.threads!);
  const workloadArgs = [String(threads), String(pairs)];

  buildWorkload();
  // Other processes share these CPUs with the workload: a busy machine makes every figure noisy.
  const loadAtStart = loadavg()[0];
  const dir = mkdtempSync(join(tmpdir(), 'mutex-bench-'));
  const results: Record<Variant, Measurement[]> = { bare: [], floor: [], rec: [], bpftrace: [] };
  try {
    for (let round = 1; round <= rounds; round++) {
      results.bare.push(await bare(workloadArgs));
      results.floor.push(await floor(workloadArgs));
      results.rec.push(await rec(workloadArgs, recArgs, join(dir, 'run.db')));
      results.bpftrace.push(await bpftrace(workloadArgs));
      const last = (v: Variant): string => fmt(results[v][round - 1].perPairNs, 1);
      process.stderr.write(
        `round ${round}/${rounds}: bare ${last('bare')} ns, floor ${last('floor')} ns, rec ${last('rec')} ns, bpftrace ${last('bpftrace')} ns per pair\n`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const cost = (v: Variant): number[] => results[v].map((m) => m.perPairNs);
  const ratios = (a: Variant, b: Variant): number[] => cost(a).map((x, i) => x / cost(b)[i]);
  const drops = results.rec.map((m) => m.drops!);
  const events = results.rec.map((m) => m.events!);
  const recOverFloor = ratios('rec', 'floor');

  console.log(`${pairs} pairs over ${threads} threads (1 in 4 on a shared mutex), ${rounds} interleaved rounds; mutex-rec ${recArgs.join(' ') || '(defaults)'}`);
  console.log(`${cpus().length} CPUs (${cpus()[0].model}), kernel ${release()}, load average ${loadAtStart.toFixed(2)} at start\n`);
  console.log('variant  per pair, ns: median  (min–max)');
  for (const v of VARIANTS) console.log(`${v.padEnd(8)} ${fmt(median(cost(v)), 1).padStart(20)}  (${spread(cost(v), 1)})`);
  console.log('');
  const met = median(recOverFloor) <= GOAL && drops.every((d) => d === 0);
  console.log(`rec/floor   ${fmt(median(recOverFloor), 3)}  (${spread(recOverFloor, 3)})`);
  console.log(`floor/bare  ${fmt(median(ratios('floor', 'bare')), 0)}  (${spread(ratios('floor', 'bare'), 0)})`);
  const recOverBpftrace = ratios('rec', 'bpftrace');
  console.log(`rec/bpftrace ${fmt(median(recOverBpftrace), 3)}  (${spread(recOverBpftrace, 3)})`);
  console.log(`bpftrace/floor ${fmt(median(ratios('bpftrace', 'floor')), 3)}  (${spread(ratios('bpftrace', 'floor'), 3)})`);
  console.log(`rec drops   ${drops.join(', ')}  (events recorded per round: ${events.map((e) => fmt(e)).join(', ')})`);
  console.log(`goal (rec/floor <= ${GOAL}, no drop): ${met ? 'met' : 'NOT met'}`);
  console.log(`goal (rec no slower than bpftrace): ${median(recOverBpftrace) <= 1 ? 'met' : 'NOT met'}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`recorder-overhead: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
