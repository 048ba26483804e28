#!/usr/bin/env node
/**
 * Probe placement (issue 14): what putting the probes on instructions the kernel emulates
 * (mutex-rec's default) saves against +0 (`--probe-offsets entry`). Interleaved rounds of
 *
 *   pairs   bench/workloads/pairs.c (lock/unlock pairs, 2 threads, 1 in 4 on a shared mutex):
 *           bare; the empty programs (build/empty.bpf.o) at +0 and at the chosen sites (the probes'
 *           own floor); mutex-rec; mutex-rec --probe-offsets entry; mutex-rec --no-stacks.
 *           Per pair ns and the ratio to bare of the same round.
 *   perturb bench/workloads/perturb.c (4 threads, one mutex, 100 ns held, a call every 20 µs):
 *           the share of lock calls slower than 2 µs by the workload's own clock, untraced, under
 *           mutex-rec and under mutex-rec --probe-offsets entry; and the contended % that
 *           mutex-analyze reports for the two recordings.
 *   getppid bench/workloads/getppid_rate.c, untraced: what one kernel entry costs at the time, for
 *           reading the probes' costs (a probe hit is a trap into the kernel).
 *
 *   node dist/bench/probe-offsets.js [--rounds K] [--pairs M] [--calls C]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { PACKAGE_ROOT } from '../recorder/addon';
import { requireRoot, standalone } from './lib/env';
import { fmt, mdTable, plural, positiveInt, range, spreadOf } from './lib/report';
import { bare, buildWorkload, floor, rec, start } from './recorder-overhead';

const MUTEX_ANALYZE = join(PACKAGE_ROOT, 'dist', 'analyzer', 'cli.js');
const PAIRS_GOAL_NS = 3000; // default mutex-rec, per uncontended pair
const NO_STACKS_GOAL_NS = 1500;

const PAIR_VARIANTS = ['bare', 'floor +0', 'floor chosen', 'rec', 'rec --probe-offsets entry', 'rec --no-stacks'] as const;
type PairVariant = (typeof PAIR_VARIANTS)[number];
const PERTURB_VARIANTS = ['untraced', 'rec', 'rec --probe-offsets entry'] as const;
type PerturbVariant = (typeof PERTURB_VARIANTS)[number];

interface Options {
  rounds: number;
  pairs: number;
  calls: number; // perturb: lock calls per thread
}

async function getppidNs(exe: string): Promise<number> {
  const r = await start(exe, ['200000', '0']).finished;
  const m = /calls=(\d+) elapsed_ns=(\d+)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`getppid_rate failed (exit ${r.code}): ${r.stderr.trim()}`);
  return Number(m[2]) / Number(m[1]);
}

interface Perturbation {
  slowPct: number; // lock calls > 2 µs by the workload's clock
  contendedPct: number | null; // the recorded lock's, by mutex-analyze report
}

async function pairsRound(dir: string, pairs: number): Promise<Record<PairVariant, number>> {
  const args = ['2', String(pairs)];
  const runFile = join(dir, 'pairs.db');
  return {
    bare: (await bare(args)).perPairNs,
    'floor +0': (await floor(args, 'entry')).perPairNs,
    'floor chosen': (await floor(args, 'emulated')).perPairNs,
    rec: (await rec(args, [], runFile)).perPairNs,
    'rec --probe-offsets entry': (await rec(args, ['--probe-offsets', 'entry'], runFile)).perPairNs,
    'rec --no-stacks': (await rec(args, ['--no-stacks'], runFile)).perPairNs,
  };
}

async function perturbOnce(exe: string, calls: number, recArgs: string[] | null, runFile: string): Promise<Perturbation> {
  const workload = [exe, '4', String(calls), '100', '20000'];
  const command = recArgs ? [join(PACKAGE_ROOT, 'dist', 'recorder', 'cli.js'), ...recArgs, '-o', runFile, '--force', '--', ...workload] : workload;
  const r = await start(command[0], command.slice(1)).finished;
  const m = /calls=(\d+) slow=(\d+)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`perturb failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  const slowPct = (100 * Number(m[2])) / Number(m[1]);
  if (!recArgs) return { slowPct, contendedPct: null };
  const report = JSON.parse(execFileSync(process.execPath, [MUTEX_ANALYZE, 'report', runFile, '--format', 'json'], { encoding: 'utf8' })) as {
    rows: { name: string; acquisitions: number; contendedPct: number }[];
  };
  const lock = report.rows.find((row) => row.name === 'lock'); // the workload's static mutex, by its symbol
  if (!lock) throw new Error(`no row for the workload's lock in ${runFile}`);
  return { slowPct, contendedPct: lock.contendedPct };
}

async function run(o: Options): Promise<{ markdown: string }> {
  requireRoot('probe-offsets');
  buildWorkload('pairs');
  const perturb = buildWorkload('perturb');
  const getppid = buildWorkload('getppid_rate');
  const syscallNs: number[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'mutex-bench-'));
  const pairs: Record<PairVariant, number[]> = Object.fromEntries(PAIR_VARIANTS.map((v) => [v, []])) as unknown as Record<PairVariant, number[]>;
  const perturbation: Record<PerturbVariant, Perturbation[]> = { untraced: [], rec: [], 'rec --probe-offsets entry': [] };
  try {
    for (let round = 1; round <= o.rounds; round++) {
      syscallNs.push(await getppidNs(getppid));
      const p = await pairsRound(dir, o.pairs);
      for (const v of PAIR_VARIANTS) pairs[v].push(p[v]);
      perturbation.untraced.push(await perturbOnce(perturb, o.calls, null, ''));
      perturbation.rec.push(await perturbOnce(perturb, o.calls, [], join(dir, 'perturb.db')));
      perturbation['rec --probe-offsets entry'].push(await perturbOnce(perturb, o.calls, ['--probe-offsets', 'entry'], join(dir, 'perturb.db')));
      process.stderr.write(`round ${round}/${o.rounds}: ${PAIR_VARIANTS.map((v) => `${v} ${fmt(p[v], 1)}`).join(', ')} ns per pair; ` +
        `slow calls ${PERTURB_VARIANTS.map((v) => `${v} ${fmt(perturbation[v][round - 1].slowPct, 2)}%`).join(', ')}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { markdown: markdown(o, pairs, perturbation, syscallNs) };
}

function markdown(o: Options, pairs: Record<PairVariant, number[]>, perturbation: Record<PerturbVariant, Perturbation[]>, syscallNs: number[]): string {
  const ratioToBare = (v: PairVariant) => spreadOf(pairs[v].map((x, i) => x / pairs.bare[i]));
  const pairRows = PAIR_VARIANTS.map((v) => {
    const s = spreadOf(pairs[v]);
    const r = ratioToBare(v);
    return [v, fmt(s.median, 1), range(s, 1), fmt(r.median, 0), range(r, 0)];
  });
  const perturbRows = PERTURB_VARIANTS.map((v) => {
    const slow = spreadOf(perturbation[v].map((p) => p.slowPct));
    const contended = perturbation[v][0].contendedPct === null ? null : spreadOf(perturbation[v].map((p) => p.contendedPct!));
    return [v, fmt(slow.median, 2), range(slow, 2), contended ? fmt(contended.median, 2) : '–', contended ? range(contended, 2) : '–'];
  });
  const recMedian = spreadOf(pairs.rec).median;
  const noStacksMedian = spreadOf(pairs['rec --no-stacks']).median;
  const chosenOverEntry = spreadOf(pairs['floor chosen'].map((x, i) => x / pairs['floor +0'][i]));
  const recOverEntry = spreadOf(pairs.rec.map((x, i) => x / pairs['rec --probe-offsets entry'][i]));
  return [
    `pairs: ${fmt(o.pairs)} lock/unlock pairs over 2 threads (1 in 4 on a shared mutex); perturb: 4 threads × ${fmt(o.calls)} lock calls, ` +
      `100 ns held, one every 20 µs; ${plural(o.rounds, 'interleaved round')}; median (min–max). ` +
      `An untraced getppid() took ${fmt(spreadOf(syscallNs).median, 0)} (${range(spreadOf(syscallNs), 0)}) ns per call meanwhile.`,
    '',
    mdTable(['pairs variant', 'per pair, ns', 'min–max', '× bare', 'min–max'], pairRows, ['l', 'r', 'l', 'r', 'l']),
    '',
    `Empty programs at the chosen sites / at +0, per round: ${fmt(chosenOverEntry.median, 3)} (${range(chosenOverEntry, 3)}); ` +
      `mutex-rec / mutex-rec --probe-offsets entry: ${fmt(recOverEntry.median, 3)} (${range(recOverEntry, 3)}).`,
    '',
    mdTable(['perturb variant', 'lock calls > 2 µs, %', 'min–max', 'recorded contended, %', 'min–max'], perturbRows, ['l', 'r', 'l', 'r', 'l']),
    '',
    `Goals: mutex-rec ${fmt(recMedian, 0)} ns per pair, <= ${fmt(PAIRS_GOAL_NS)} ns: ${recMedian <= PAIRS_GOAL_NS ? 'met' : 'NOT met'}; ` +
      `mutex-rec --no-stacks ${fmt(noStacksMedian, 0)} ns per pair, <= ${fmt(NO_STACKS_GOAL_NS)} ns: ${noStacksMedian <= NO_STACKS_GOAL_NS ? 'met' : 'NOT met'}.`,
  ].join('\n');
}

if (require.main === module) {
  standalone('probe-offsets', async () => {
    const { values } = parseArgs({
      options: {
        rounds: { type: 'string', default: '3' },
        pairs: { type: 'string', default: '20000' },
        calls: { type: 'string', default: '10000' },
      },
    });
    return run({ rounds: positiveInt('rounds', values.rounds!), pairs: positiveInt('pairs', values.pairs!), calls: positiveInt('calls', values.calls!) });
  });
}
