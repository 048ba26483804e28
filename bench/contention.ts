#!/usr/bin/env node
/**
 * Contention mode (issue 11, point 6): what `mutex-rec --contention` costs a program, and whether
 * its waits add up, each against a baseline measured in the same invocation.
 *
 *   pairs    bench/workloads/pairs.c, per lock/unlock pair: bare, under --contention, under full
 *            mode (mutex-rec with its uprobes), interleaved for --rounds rounds; with 1 thread
 *            (every pair uncontended: the goal, --contention <= 1.05x bare) and with 2 (one pair
 *            in 4 on a shared mutex, the recorder benchmark's mix);
 *   waits    bench/workloads/contended_waits.c times its own contended waits (a blocking lock
 *            after a failed trylock): --contention's total wait on that mutex against the
 *            workload's own total, and against full mode's contended wait (CONT WAIT) in another
 *            run against that run's own total; goal within 10 % for both;
 *   servers  MariaDB + sysbench oltp_read_write and memcached + memcaslap (bench/servers.ts's
 *            setup, loopback, each load at most 60 s): the server's own throughput counter over a
 *            30 s window 5 s into a load of its own per run, bare and with `mutex-rec --contention
 *            --pid` attached to the idle server before the load (odd rounds bare first, even
 *            rounds --contention first), in 8 rounds, then with full mode attached once; goal: the
 *            median of the rounds' --contention / bare >= 0.95. The server, its load and the
 *            recorder share one CPU, the steadiest (lib/cpus.ts): this VM's CPUs run at speeds
 *            that differ and move, and a load spread over both measured the scheduler's placement
 *            more than the recorder (rounds 0.78-1.28 of their bare). --server-cpu any: unpinned.
 *
 *   node dist/bench/contention.js [--only pairs,waits,servers] [--rounds K] [--server-rounds K]
 *                                 [--server-cpu steadiest|any|N] [--quick]
 *
 * Needs root. The measurement is runContention(), which bench/all.ts calls too.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { PACKAGE_ROOT } from '../recorder/addon';
import { requireRoot, Skip, standalone } from './lib/env';
import { figureTable, fmt, mdTable, positiveInt, spreadOf, type BenchResult, type Figure, type Spread } from './lib/report';
import { bare, buildWorkload, start } from './recorder-overhead';
import { cpuSpeeds, steadiest, type CpuSpeed } from './lib/cpus';
import { finishLoad, mariadb, memcached, runOn, stopServersOnSignal, window, type Running, type Server } from './servers';

const MUTEX_REC = join(PACKAGE_ROOT, 'dist', 'recorder', 'cli.js');
const ANALYZER = join(PACKAGE_ROOT, 'dist', 'analyzer', 'cli.js');
const PAIRS_GOAL = 1.05;
const WAITS_GOAL = 0.1;
const SERVERS_GOAL = 0.95;
const MAX_LOAD_SECONDS = 60;

export type ContentionPart = 'pairs' | 'waits' | 'servers';
const PARTS: ContentionPart[] = ['pairs', 'waits', 'servers'];

export interface ContentionOptions {
  only: ContentionPart[];
  rounds: number;
  pairs: number; // lock/unlock pairs per run bare and under --contention (a few ns each: many, or the clock's noise dominates)
  fullPairs: number; // per run under full mode (tens of µs each)
  waitThreads: number;
  waitIterations: number;
  holdUs: number;
  recordSeconds: number; // servers: the measured window
  warmup: number; // servers: seconds of load before the window (and before attaching)
  serverRounds: number; // servers: rounds of bare and --contention, alternating which goes first (then full mode once)
  serverCpu: ServerCpu; // servers: where the server, its load and the recorder run
}

/** 'steadiest': all three on the CPU measured fastest in its slowest tenth just before each server's
 * rounds (lib/cpus.ts); a number: on that CPU; 'any': unpinned. */
export type ServerCpu = 'steadiest' | 'any' | number;

export const CONTENTION_DEFAULTS: ContentionOptions = {
  only: PARTS, rounds: 5, pairs: 4_000_000, fullPairs: 40_000, waitThreads: 4, waitIterations: 100, holdUs: 500, recordSeconds: 30, warmup: 5, serverRounds: 8, serverCpu: 'steadiest',
};
export const CONTENTION_QUICK: ContentionOptions = {
  only: ['pairs', 'waits'], rounds: 2, pairs: 400_000, fullPairs: 10_000, waitThreads: 3, waitIterations: 30, holdUs: 300, recordSeconds: 5, warmup: 2, serverRounds: 1, serverCpu: 'steadiest',
};

const log = (s: string): void => void process.stderr.write(`contention: ${s}\n`);

// ---- pairs ----

type Mode = 'bare' | 'contention' | 'full';

/** Per-pair ns of one run of pairs.c under a mode; with the run file's event count. */
async function pairsRun(mode: Mode, args: string[], runFile: string): Promise<{ perPairNs: number; events: number }> {
  if (mode === 'bare') return { perPairNs: (await bare(args)).perPairNs, events: 0 };
  const rec = [...(mode === 'contention' ? ['--contention'] : []), '-q', '-o', runFile, '--force', '--', buildWorkload('pairs'), ...args];
  const r = await start(MUTEX_REC, rec).finished;
  const m = /pairs=(\d+) elapsed_ns=(\d+)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`mutex-rec ${mode} failed (exit ${r.code}): ${r.stderr.trim()}`);
  const events = /recorded ([\d,]+) events/.exec(r.stderr);
  return { perPairNs: Number(m[2]) / Number(m[1]), events: events ? Number(events[1].replace(/,/g, '')) : NaN };
}

interface PairsResult {
  threads: number;
  perPair: Record<Mode, Spread>;
  ratio: { contention: Spread; full: Spread }; // per round, against that round's bare
  events: { contention: Spread; full: Spread };
}

async function pairs(o: ContentionOptions, dir: string, threads: number): Promise<PairsResult> {
  buildWorkload('pairs');
  const args = [String(threads), String(o.pairs)];
  const fullArgs = [String(threads), String(o.fullPairs)];
  const per: Record<Mode, number[]> = { bare: [], contention: [], full: [] };
  const events: { contention: number[]; full: number[] } = { contention: [], full: [] };
  const ratios: { contention: number[]; full: number[] } = { contention: [], full: [] };
  for (let round = 0; round < o.rounds; round++) {
    const b = await pairsRun('bare', args, '');
    const c = await pairsRun('contention', args, join(dir, 'pairs-contention.db'));
    const f = await pairsRun('full', fullArgs, join(dir, 'pairs-full.db'));
    per.bare.push(b.perPairNs);
    per.contention.push(c.perPairNs);
    per.full.push(f.perPairNs);
    ratios.contention.push(c.perPairNs / b.perPairNs);
    ratios.full.push(f.perPairNs / b.perPairNs);
    events.contention.push(c.events);
    events.full.push(f.events);
    log(`pairs ${threads} thread(s) round ${round + 1}: bare ${fmt(b.perPairNs, 1)} ns, --contention ${fmt(c.perPairNs, 1)} ns (${c.events} events), full ${fmt(f.perPairNs, 1)} ns`);
  }
  return {
    threads,
    perPair: { bare: spreadOf(per.bare), contention: spreadOf(per.contention), full: spreadOf(per.full) },
    ratio: { contention: spreadOf(ratios.contention), full: spreadOf(ratios.full) },
    events: { contention: spreadOf(events.contention), full: spreadOf(events.full) },
  };
}

// ---- waits ----

interface WaitsRun {
  mode: 'contention' | 'full';
  workloadWaits: number;
  workloadNs: number;
  recordedWaits: number;
  recordedNs: number;
}

/** contended_waits.c under a mode: what it timed of its own contended waits, what the run file says of that mutex. */
async function waitsRun(mode: 'contention' | 'full', o: ContentionOptions, dir: string): Promise<WaitsRun> {
  const runFile = join(dir, `waits-${mode}.db`);
  const exe = buildWorkload('contended_waits');
  const args = [...(mode === 'contention' ? ['--contention'] : []), '-q', '-o', runFile, '--force', '--', exe, String(o.waitThreads), String(o.waitIterations), String(o.holdUs)];
  const r = await start(MUTEX_REC, args).finished;
  const lock = /mutex addr=(0x[0-9a-f]+)/.exec(r.stdout)?.[1];
  const truth = /waits contended=(\d+) wait_ns=(\d+)/.exec(r.stdout);
  if (r.code !== 0 || !lock || !truth) throw new Error(`mutex-rec ${mode} on contended_waits failed (exit ${r.code}): ${r.stderr.trim()}`);
  const report = JSON.parse(execFileSync(process.execPath, [ANALYZER, 'report', runFile, '--lock', lock, '--format', 'json', '-q'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  const row = report.rows.find((x: { key: string }) => x.key === lock);
  if (!row) throw new Error(`${mode}: no row for the workload's mutex ${lock}`);
  return { mode, workloadWaits: Number(truth[1]), workloadNs: Number(truth[2]), recordedWaits: row.contended, recordedNs: row.contendedWaitNs };
}

// ---- servers ----

interface ServerRun {
  mode: Mode;
  round: number;
  perSecond: number;
  events: number | null;
  loadEndedEarly: boolean;
}

interface ServerResult {
  name: string;
  counterName: string;
  runs: ServerRun[];
  load1: [number, number];
  cpu: number | null; // where the server, its load and the recorder ran (null: anywhere)
  speeds: CpuSpeed[]; // measured before its rounds ('steadiest' only)
}

/**
 * One load of its own per mode, its window after the same warmup in every mode. The recorded modes
 * attach mutex-rec --pid to the idle server first (-d until a second past the window): the window
 * measures the server while it is recorded, not the recorder's start-up (reading the server's
 * objects, loading the probes), which bench/servers.ts measures on a busy server.
 */
async function serverRun(server: Server, mode: Mode, o: ContentionOptions, dir: string, cpu: number | null): Promise<ServerRun> {
  const seconds = o.warmup + o.recordSeconds + 2;
  if (seconds > MAX_LOAD_SECONDS) throw new Error(`a load of ${seconds} s would be needed (more than ${MAX_LOAD_SECONDS} s): use a smaller --record-seconds`);
  let recorder: Running | null = null;
  if (mode !== 'bare') {
    const recordFor = o.warmup + o.recordSeconds + 1;
    const args = [...(mode === 'contention' ? ['--contention'] : []), '--pid', String(server.pid), '-d', String(recordFor), '-o', join(dir, `${server.name}-${mode}.db`), '--force'];
    recorder = runOn(cpu, MUTEX_REC, args, recordFor + 120);
    await attached(recorder);
  }
  log(`${server.name} ${mode}: ${server.loadCommand(seconds)}`);
  const load = server.load(seconds);
  await sleep(o.warmup * 1000);
  const w = await window(server, load, o.recordSeconds);
  let events: number | null = null;
  if (recorder) {
    const r = await recorder.finished;
    if (r.code !== 0) throw new Error(`mutex-rec ${mode} on ${server.name} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
    const m = /recorded ([\d,]+) events/.exec(r.stderr);
    events = m ? Number(m[1].replace(/,/g, '')) : null;
  }
  await finishLoad(server, load);
  log(`${server.name} ${mode}: ${fmt(w.perSecond, 0)}/s${events === null ? '' : `, ${fmt(events)} events`}`);
  return { mode, round: 0, perSecond: w.perSecond, events, loadEndedEarly: w.loadEndedEarly };
}

function attached(rec: Running): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer): void => {
      seen += d.toString();
      if (!seen.includes('mutex-rec: recording')) return;
      rec.child.stderr!.off('data', onData);
      resolve();
    };
    rec.child.stderr!.on('data', onData);
    void rec.finished.then((r) => reject(new Error(`mutex-rec exited before recording: ${r.stderr.trim()}`)));
  });
}

async function servers(o: ContentionOptions, dir: string): Promise<{ results: ServerResult[]; skipped: string[] }> {
  const results: ServerResult[] = [];
  const skipped: string[] = [];
  for (const make of [mariadb, memcached]) {
    let server: Server;
    try {
      server = await make();
    } catch (err) {
      if (!(err instanceof Skip)) throw err;
      skipped.push(err.message);
      continue;
    }
    try {
      const speeds = o.serverCpu === 'steadiest' ? await cpuSpeeds() : [];
      const cpu = o.serverCpu === 'any' ? null : o.serverCpu === 'steadiest' ? steadiest(speeds).cpu : o.serverCpu;
      if (speeds.length) log(`CPU speeds (spin iterations per 100 ms, median / slowest tenth): ${speedsText(speeds)}`);
      if (cpu !== null) log(`${server.name}, its load and mutex-rec on CPU ${cpu}`);
      server.pinTo(cpu);
      const before = loadavg()[0];
      const runs: ServerRun[] = [];
      // A server's throughput drifts from one load to the next (its tables grow under
      // oltp_read_write): alternating which mode goes first keeps the drift out of the ratios.
      for (let round = 1; round <= o.serverRounds; round++) {
        const order: Mode[] = round % 2 === 1 ? ['bare', 'contention'] : ['contention', 'bare'];
        for (const mode of order) runs.push({ ...(await serverRun(server, mode, o, dir, cpu)), round });
      }
      runs.push({ ...(await serverRun(server, 'full', o, dir, cpu)), round: o.serverRounds });
      results.push({ name: server.name, counterName: server.counterName, runs, load1: [before, loadavg()[0]], cpu, speeds });
    } finally {
      if (!server.started) server.pinTo(null);
      await server.stop();
    }
  }
  return { results, skipped };
}

const speedsText = (speeds: CpuSpeed[]): string => speeds.map((x) => `CPU ${x.cpu} ${fmt(x.median, 0)} / ${fmt(x.p10, 0)}`).join(', ');

/** Where a server's runs ran, as the section's heading says it. */
function placement(r: ServerResult): string {
  if (r.cpu === null) return `${r.name}: server, load and recorder on any CPU`;
  const speeds = r.speeds.length
    ? ` (the steadiest: spin iterations per 100 ms, median / slowest tenth, measured just before: ${speedsText(r.speeds)})`
    : '';
  return `${r.name}: server, load and recorder all on CPU ${r.cpu}${speeds}`;
}

// ---- the section ----

export async function runContention(o: ContentionOptions): Promise<BenchResult> {
  requireRoot('the contention benchmark');
  const dir = mkdtempSync(join(tmpdir(), 'bench-contention-'));
  mkdirSync(dir, { recursive: true });
  const figures: Figure[] = [];
  const parts: string[] = [];
  const notes: string[] = [];
  try {
    if (o.only.includes('pairs')) {
      const results = [await pairs(o, dir, 1), await pairs(o, dir, 2)];
      for (const p of results) {
        const uncontended = p.threads === 1;
        figures.push({
          name: `pairs, ${p.threads} thread${uncontended ? ' (uncontended)' : 's'}: --contention / bare per pair`,
          value: p.ratio.contention, digits: 3, ...(uncontended ? { goal: `<= ${PAIRS_GOAL}`, met: p.ratio.contention.median <= PAIRS_GOAL } : {}),
        });
        figures.push({ name: `pairs, ${p.threads} thread${uncontended ? '' : 's'}: full / bare per pair`, value: p.ratio.full, digits: 1 });
      }
      parts.push(
        `#### pairs (bench/workloads/pairs.c: ${fmt(o.pairs)} pairs a run bare and under --contention, ${fmt(o.fullPairs)} under full mode; ${o.rounds} rounds of bare, --contention, full)\n\n` +
          mdTable(
            ['threads', 'bare ns/pair', '--contention ns/pair', 'full ns/pair', '--contention / bare', 'full / bare', 'events: --contention', 'events: full'],
            results.map((p) => [
              String(p.threads), fmt(p.perPair.bare.median, 1), fmt(p.perPair.contention.median, 1), fmt(p.perPair.full.median, 1),
              fmt(p.ratio.contention.median, 3), fmt(p.ratio.full.median, 1), fmt(p.events.contention.median), fmt(p.events.full.median),
            ]),
            ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
          ),
      );
    }
    if (o.only.includes('waits')) {
      const runs: WaitsRun[] = [];
      for (let round = 0; round < o.rounds; round++) {
        for (const mode of ['contention', 'full'] as const) {
          const w = await waitsRun(mode, o, dir);
          log(`waits ${mode} round ${round + 1}: workload ${w.workloadWaits} waits ${fmt(w.workloadNs / 1e6, 1)} ms, recorded ${w.recordedWaits} ${fmt(w.recordedNs / 1e6, 1)} ms`);
          runs.push(w);
        }
      }
      const ratio = (mode: 'contention' | 'full'): Spread => spreadOf(runs.filter((r) => r.mode === mode).map((r) => r.recordedNs / r.workloadNs));
      const within = (s: Spread): boolean => s.min >= 1 - WAITS_GOAL && s.max <= 1 + WAITS_GOAL;
      const c = ratio('contention');
      const f = ratio('full');
      figures.push({ name: 'waits: --contention total / the workload\'s own', value: c, digits: 3, goal: `within ${WAITS_GOAL * 100} % (every round)`, met: within(c) });
      figures.push({ name: 'waits: full mode\'s contended wait / the workload\'s own', value: f, digits: 3, goal: `within ${WAITS_GOAL * 100} % (every round)`, met: within(f) });
      parts.push(
        `#### waits (bench/workloads/contended_waits.c: ${o.waitThreads} threads × ${o.waitIterations} lock calls, ${o.holdUs} µs holds, ${o.rounds} runs per mode)\n\n` +
          mdTable(
            ['run', 'mode', 'workload: waits', 'workload: total', 'recorded: waits', 'recorded: total', 'recorded / workload'],
            runs.map((r, i) => [
              String(Math.floor(i / 2) + 1), r.mode, fmt(r.workloadWaits), `${fmt(r.workloadNs / 1e6, 1)} ms`, fmt(r.recordedWaits), `${fmt(r.recordedNs / 1e6, 1)} ms`, fmt(r.recordedNs / r.workloadNs, 3),
            ]),
            ['r', 'l', 'r', 'r', 'r', 'r', 'r'],
          ),
      );
    }
    if (o.only.includes('servers')) {
      const { results, skipped } = await servers(o, dir);
      notes.push(...skipped.map((s) => `servers: skipped: ${s}`));
      const rows: string[][] = [];
      for (const r of results) {
        // each round's --contention against that round's bare; full mode against the last bare
        const bareOf = (round: number): ServerRun => r.runs.find((x) => x.mode === 'bare' && x.round === round)!;
        for (const x of r.runs) {
          const ratio = x.perSecond / bareOf(x.round).perSecond;
          rows.push([r.name, String(x.round), x.mode, fmt(x.perSecond, 0), fmt(ratio, 3), x.events === null ? '' : fmt(x.events), x.loadEndedEarly ? 'load ended early' : '']);
        }
        const ratios = r.runs.filter((x) => x.mode === 'contention').map((x) => x.perSecond / bareOf(x.round).perSecond);
        const c = spreadOf(ratios);
        figures.push({ name: `${r.name}: --contention / bare throughput`, value: c, digits: 3, goal: `>= ${SERVERS_GOAL}`, met: c.median >= SERVERS_GOAL });
        const full = r.runs.find((x) => x.mode === 'full')!;
        figures.push({ name: `${r.name}: full / bare throughput`, value: spreadOf([full.perSecond / bareOf(full.round).perSecond]), digits: 3 });
      }
      if (results.length > 0) {
        parts.push(
          `#### servers (loopback; the server's own counter over a ${o.recordSeconds} s window, ${o.warmup} s into a load of its own per run; ` +
            `${o.serverRounds} rounds of bare and --contention, odd rounds bare first, even rounds --contention first, then full mode once; mutex-rec attached with --pid to the idle server before the load, so its start-up is not in the window; ` +
            `${results.map(placement).join('; ')})\n\n` +
            mdTable(['server', 'round', 'mode', results.map((r) => r.counterName).join(' / '), '/ bare of its round', 'events', ''], rows, ['l', 'r', 'l', 'r', 'r', 'r', 'l']) +
            `\n\n1-min load average before/after: ${results.map((r) => `${r.name} ${r.load1[0].toFixed(2)}/${r.load1[1].toFixed(2)}`).join(', ')}`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { name: 'contention', figures, markdown: `${figureTable(figures)}\n\n${parts.join('\n\n')}`, notes };
}

function parseServerCpu(text: string): ServerCpu {
  if (text === 'steadiest' || text === 'any') return text;
  if (/^\d+$/.test(text)) return Number(text);
  process.stderr.write(`contention: --server-cpu ${text}: give steadiest, any or a CPU number\n`);
  process.exit(2);
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', default: PARTS.join(',') },
      rounds: { type: 'string' },
      'server-rounds': { type: 'string' },
      'server-cpu': { type: 'string' },
      quick: { type: 'boolean', default: false },
    },
  });
  const base = values.quick ? CONTENTION_QUICK : CONTENTION_DEFAULTS;
  const only = values.only!.split(',').filter(Boolean) as ContentionPart[];
  const unknown = only.filter((p) => !PARTS.includes(p));
  if (unknown.length) {
    process.stderr.write(`contention: unknown part ${unknown.join(', ')} (known: ${PARTS.join(', ')})\n`);
    process.exit(2);
  }
  stopServersOnSignal();
  const rounds = values.rounds ? positiveInt('rounds', values.rounds) : base.rounds;
  const serverRounds = values['server-rounds'] ? positiveInt('server-rounds', values['server-rounds']) : base.serverRounds;
  const serverCpu = values['server-cpu'] === undefined ? base.serverCpu : parseServerCpu(values['server-cpu']);
  standalone('contention', () => runContention({ ...base, only, rounds, serverRounds, serverCpu }));
}
