#!/usr/bin/env node
/**
 * Ingest rate: how many events per second the whole recording path (BPF ring buffer -> addon ->
 * JS -> SQLite) sustains into the run file, with zero drops, and the recorder's peak RSS.
 * The source is build/synthetic.bpf.o (bpf/synthetic.bpf.c), loaded by mutex-rec's benchmark-only
 * --bench-object beside its own programs and writing into their ring buffer: each getppid() of the
 * workload emits one event from a tracepoint program, so no uprobe trap limits the rate. Each round records
 * once at each target rate (paced, then flat out); figures are medians over the rounds.
 * Goal: >= 1 M events/s with zero drops.
 *
 *   npm run bench:ingest [-- --rounds K --events N]
 *
 * The measurement is runIngest(), which bench/all.ts calls too.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { requireRoot, standalone } from './lib/env';
import { fmt, goalCell, mdTable, plural, positiveInt, range, spreadOf, type BenchResult, type Figure } from './lib/report';

const REPO = join(__dirname, '..', '..');
const OUT = join(REPO, 'build', 'bench');
const GOAL_RATE = 1_000_000;
const PACER_TOLERANCE = 0.99; // the workload paces itself in steps of 1000 calls

export interface Recording {
  offeredPerSec: number; // the workload's own call rate
  recordedPerSec: number; // events written / the workload's run time
  events: number;
  dropped: number;
  peakRssMb: number;
}

function build(): string {
  mkdirSync(OUT, { recursive: true });
  const exe = join(OUT, 'getppid_rate');
  execFileSync('gcc', ['-O2', '-o', exe, join(REPO, 'bench', 'workloads', 'getppid_rate.c')]);
  return exe;
}

/** Runs one recording of `events` calls at `rate` calls/s (0: flat out), sampling the recorder's peak RSS. */
function recordAt(exe: string, events: number, rate: number): Promise<Recording> {
  const db = join(OUT, 'ingest.db');
  // Run as users run it (the `mutex-rec` bin), so its shebang's Node options apply.
  const rec = spawn(join(REPO, 'dist', 'recorder', 'cli.js'), ['--bench-object', join(REPO, 'build', 'synthetic.bpf.o'), '--force', '-o', db, '--', exe, String(events), String(rate)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  rec.stdout.on('data', (d: Buffer) => (stdout += d));
  rec.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve, reject) => {
    rec.on('close', (code) => {
      if (code !== 0) return reject(new Error(`mutex-rec failed: ${stderr}`));
      const calls = /calls=(\d+) elapsed_ns=(\d+)/.exec(stdout);
      const summary = /recorded ([\d,]+) events \((\d+) dropped\)/.exec(stderr);
      const hwm = peakKb / 1024;
      if (!calls || !summary) return reject(new Error(`unexpected output: ${stdout} ${stderr}`));
      const recorded = Number(summary[1].replace(/,/g, ''));
      const seconds = Number(calls[2]) / 1e9;
      resolve({ offeredPerSec: Number(calls[1]) / seconds, recordedPerSec: recorded / seconds, events: recorded, dropped: Number(summary[2]), peakRssMb: hwm });
    });
    // VmHWM is the peak RSS so far; the last reading before the recorder exits is its peak.
    let peakKb = 0;
    const sampler = setInterval(() => {
      try {
        const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${rec.pid}/status`, 'utf8'));
        if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
      } catch {
        clearInterval(sampler);
      }
    }, 20);
    rec.on('exit', () => clearInterval(sampler));
  });
}

export interface IngestOptions {
  rounds: number;
  events: number; // per recording
  rates: number[]; // target calls/s; 0: flat out
}

export const INGEST_DEFAULTS: IngestOptions = { rounds: 3, events: 4_000_000, rates: [500_000, 1_000_000, 1_200_000, 0] };
export const INGEST_QUICK: IngestOptions = { ...INGEST_DEFAULTS, rounds: 2, events: 400_000 };

export interface IngestResult extends BenchResult {
  name: 'ingest';
  options: IngestOptions;
  byRate: { rate: number; recordings: Recording[] }[]; // one recording per round
}

const rateLabel = (rate: number): string => (rate === 0 ? 'flat out' : `${fmt(rate / 1e6, 1)} M/s`);

/** Each round records once at every target rate. Needs root. */
export async function runIngest(options: Partial<IngestOptions> = {}): Promise<IngestResult> {
  const o: IngestOptions = { ...INGEST_DEFAULTS, ...options };
  requireRoot('ingest');
  const exe = build();
  const byRate = o.rates.map((rate) => ({ rate, recordings: [] as Recording[] }));
  for (let round = 1; round <= o.rounds; round++) {
    for (const r of byRate) {
      const rec = await recordAt(exe, o.events, r.rate);
      r.recordings.push(rec);
      process.stderr.write(
        `round ${round}/${o.rounds}, ${rateLabel(r.rate)}: recorded ${fmt(rec.recordedPerSec / 1e6, 2)} M/s, ${rec.dropped} dropped, peak RSS ${fmt(rec.peakRssMb)} MB\n`,
      );
    }
  }
  const figures = ingestFigures(byRate);
  return { name: 'ingest', options: o, byRate, figures, markdown: ingestMarkdown(o, byRate, figures) };
}

/** The recorded rate at each target (goal on the 1 M/s one), and the recorder's peak RSS at the paced rates. */
const RSS_GOAL_MB = 200;

function ingestFigures(byRate: IngestResult['byRate']): Figure[] {
  const figures: Figure[] = byRate.map(({ rate, recordings }) => {
    const f: Figure = { name: `recorded, target ${rateLabel(rate)}`, value: spreadOf(recordings.map((x) => x.recordedPerSec / 1e6)), digits: 2, unit: 'M/s' };
    if (rate === GOAL_RATE) {
      f.goal = '>= 1 M/s with 0 drops';
      f.met = recordings.every((x) => x.dropped === 0 && x.recordedPerSec >= PACER_TOLERANCE * GOAL_RATE);
    }
    return f;
  });
  const paced = byRate.filter((r) => r.rate > 0).flatMap((r) => r.recordings.map((x) => x.peakRssMb));
  if (paced.length > 0) {
    const rss = spreadOf(paced);
    figures.push({ name: 'recorder peak RSS, paced rates', value: rss, digits: 0, unit: 'MB', goal: `<= ${RSS_GOAL_MB} MB in every round`, met: rss.max <= RSS_GOAL_MB });
  }
  return figures;
}

function ingestMarkdown(o: IngestOptions, byRate: IngestResult['byRate'], figures: Figure[]): string {
  const cells = (xs: number[], digits: number, unit: string): string => {
    const s = spreadOf(xs);
    return `${fmt(s.median, digits)}${unit ? ` ${unit}` : ''}${s.n > 1 ? ` (${range(s, digits)})` : ''}`;
  };
  const rows = byRate.map(({ rate, recordings: rs }, i) => [
    rateLabel(rate),
    cells(rs.map((x) => x.offeredPerSec / 1e6), 2, 'M/s'),
    cells(rs.map((x) => x.recordedPerSec / 1e6), 2, 'M/s'),
    cells(rs.map((x) => x.recordedPerSec / x.offeredPerSec), 3, ''),
    rs.map((x) => fmt(x.dropped)).join(', '),
    cells(rs.map((x) => x.peakRssMb), 0, 'MB'),
    goalCell(figures[i]),
  ]);
  const goal = figures.find((f) => f.goal !== undefined);
  return [
    `${fmt(o.events)} calls per recording, default ring buffer; ${plural(o.rounds, 'round')}, each recording once at every rate in turn; median (min–max).`,
    '',
    mdTable(['target rate', 'offered', 'recorded', 'recorded / offered', 'dropped, per round', 'recorder peak RSS', 'goal'], rows, ['l', 'r', 'r', 'r', 'l', 'r', 'l']),
    '',
    goal
      ? `Goal, ${goal.goal} (a paced 1 M/s recorded within the pacer's ${fmt(100 * (1 - PACER_TOLERANCE))}% in every round, nothing dropped): ${goal.met ? 'met' : 'NOT met'}.`
      : 'The goal (>= 1 M/s with 0 drops) is judged at a 1 M/s target, not among the rates of this run.',
  ].join('\n');
}

if (require.main === module) {
  standalone('ingest', async () => {
    const { values } = parseArgs({
      options: {
        rounds: { type: 'string', default: String(INGEST_DEFAULTS.rounds) },
        events: { type: 'string', default: String(INGEST_DEFAULTS.events) },
      },
    });
    return runIngest({ rounds: positiveInt('rounds', values.rounds!), events: positiveInt('events', values.events!) });
  });
}
