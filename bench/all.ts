#!/usr/bin/env node
/**
 * `npm run bench`: every benchmark of bench/ in turn, one summary table on stdout, and the figures
 * refreshed in bench/README.md (only the text between its `<!-- bench:NAME begin/end -->` markers).
 *
 *   node dist/bench/all.js [--only NAME[,NAME]] [--quick] [--no-readme] [--readme PATH]
 *
 *   --only       recorder, perf-lock, probe-cost, ingest, analyzer, contention (default: all, in that order)
 *   --quick      small sizes and few rounds, a smoke run: never writes bench/README.md
 *   --no-readme  print only
 *   --readme     the README to refresh (default bench/README.md); with --quick it must be another
 *                file (a copy), for checking the rewriting
 *
 * A section whose prerequisite is missing and cannot be installed is skipped with the reason; one
 * that fails is reported as failed; the others run and are written either way. Exit status 1 when
 * a section failed (not when one was skipped).
 */
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { ANALYZER_DEFAULTS, ANALYZER_QUICK, runAnalyzer } from './analyzer';
import { CONTENTION_DEFAULTS, CONTENTION_QUICK, runContention } from './contention';
import { INGEST_DEFAULTS, INGEST_QUICK, runIngest } from './ingest';
import { machine, Skip, utc, type Machine } from './lib/env';
import { BENCH_NAMES, readSection, replaceSection, summaryTable, type BenchName, type BenchResult, type SectionOutcome } from './lib/report';
import { PERF_LOCK_DEFAULTS, PERF_LOCK_QUICK, runPerfLock } from './perf-lock';
import { PROBE_COST_DEFAULTS, PROBE_COST_QUICK, runProbeCost } from './probe-cost';
import { RECORDER_DEFAULTS, RECORDER_QUICK, runRecorderOverhead } from './recorder-overhead';

const REPO = join(__dirname, '..', '..');
export const README = join(REPO, 'bench', 'README.md');

/** Each section at the defaults (what the README's figures are) and for --quick. */
const SECTIONS: Record<BenchName, (quick: boolean) => Promise<BenchResult>> = {
  recorder: (quick) => runRecorderOverhead(quick ? RECORDER_QUICK : RECORDER_DEFAULTS),
  'perf-lock': (quick) => runPerfLock(quick ? PERF_LOCK_QUICK : PERF_LOCK_DEFAULTS),
  'probe-cost': (quick) => runProbeCost(quick ? PROBE_COST_QUICK : PROBE_COST_DEFAULTS),
  ingest: (quick) => runIngest(quick ? INGEST_QUICK : INGEST_DEFAULTS),
  analyzer: (quick) => runAnalyzer(quick ? ANALYZER_QUICK : ANALYZER_DEFAULTS),
  contention: (quick) => runContention(quick ? CONTENTION_QUICK : CONTENTION_DEFAULTS),
};

const minutes = (s: number): string => (s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);

/** What a run did, for the README. */
export interface RunSummary {
  run: Machine; // at the start
  outcomes: SectionOutcome[];
  totalSeconds: number;
  quick: boolean;
}

const isComplete = (r: RunSummary): boolean => !r.quick && BENCH_NAMES.every((n) => r.outcomes.some((o) => o.name === n));
const LAST_COMPLETE = '- last complete run at the defaults:';

/** The line that opens a section's generated figures: when, under what load, how long. */
export function sectionStamp(o: SectionOutcome, r: RunSummary): string {
  return (
    `_Measured ${utc(r.run.date)} by ${r.quick ? '`npm run bench -- --quick` (a smoke run: NOT the defaults)' : '`npm run bench`'}: ` +
    `1-min load average ${o.load1AtStart.toFixed(2)} at the start of this section, which took ${minutes(o.seconds)}._`
  );
}

/**
 * The machine block: the run's date and machine, what it refreshed and what it did not. The line
 * of the last complete run (every section at the defaults: its date and total time) is carried
 * over from `previous` when this run is not one.
 */
export function machineBlock(r: RunSummary, previous: string | null): string {
  const complete = isComplete(r);
  const names = r.outcomes.map((o) => o.name);
  const refreshed = r.outcomes.filter((o) => o.status === 'ok').map((o) => o.name);
  const how = [r.quick ? '--quick' : '', complete ? '' : `--only ${names.join(',')}`].filter(Boolean).join(' ');
  const carried = previous?.split('\n').find((l) => l.startsWith(LAST_COMPLETE)) ?? `${LAST_COMPLETE} none recorded yet`;
  const lines = [
    `Last run of \`npm run bench${how ? ` -- ${how}` : ''}\`: **${utc(r.run.date)}**, ${minutes(r.totalSeconds)} in all.`,
    '',
    `- machine: \`nproc\` ${r.run.nproc}, ${r.run.cpuModel}, ${r.run.memGiB.toFixed(0)} GiB, kernel ${r.run.kernel}, Node ${r.run.node}`,
    `- 1-minute load average at the start: ${r.run.load1.toFixed(2)}`,
    complete ? `${LAST_COMPLETE} ${utc(r.run.date)}, ${minutes(r.totalSeconds)} (${r.outcomes.map((o) => `${o.name} ${o.status === 'ok' ? minutes(o.seconds) : o.status}`).join(', ')})` : carried,
    `- refreshed by the last run: ${refreshed.length ? refreshed.join(', ') : 'none'}`,
  ];
  for (const o of r.outcomes.filter((x) => x.status !== 'ok')) {
    lines.push(`- ${o.name}: ${o.status} (${o.reason}); its figures below are from the earlier run dated in its section`);
  }
  const untouched = BENCH_NAMES.filter((n) => !names.includes(n));
  if (untouched.length) lines.push(`- not run: ${untouched.join(', ')}; their figures below are from the earlier runs dated in their sections`);
  return lines.join('\n');
}

/**
 * The README with this run's figures: each section that ran gets its stamp and figures between
 * its markers, the machine block is rewritten, and nothing outside the markers changes.
 */
export function refreshReadme(doc: string, r: RunSummary): string {
  let out = replaceSection(doc, 'machine', machineBlock(r, readSection(doc, 'machine')));
  for (const o of r.outcomes) {
    if (o.status === 'ok' && o.result) out = replaceSection(out, o.name, `${sectionStamp(o, r)}\n\n${o.result.markdown}`);
  }
  return out;
}

function parseOnly(value: string | undefined): BenchName[] {
  if (value === undefined) return [...BENCH_NAMES];
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(BENCH_NAMES as readonly string[]).includes(n));
  if (unknown.length || names.length === 0) throw new Error(`--only takes ${BENCH_NAMES.join(', ')}; got ${value}`);
  return BENCH_NAMES.filter((n) => names.includes(n)); // in the run's order, once each
}

const samePath = (a: string, b: string): boolean => {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'no-readme': { type: 'boolean', default: false },
      readme: { type: 'string', default: README },
    },
  });
  const names = parseOnly(values.only);
  const quick = values.quick!;
  const readme = values.readme!;
  let write = !values['no-readme'];
  if (quick && write && samePath(readme, README)) {
    write = false; // quick figures never replace the real ones
  }
  if (write) replaceSection(readFileSync(readme, 'utf8'), 'machine', ''); // the markers are there: fail now, not after the run

  const run = machine();
  const started = performance.now();
  const outcomes: SectionOutcome[] = [];
  for (const name of names) {
    process.stderr.write(`\n=== ${name}${quick ? ' (quick)' : ''} ===\n`);
    const load1AtStart = machine().load1;
    const t = performance.now();
    let outcome: SectionOutcome;
    try {
      const result = await SECTIONS[name](quick);
      outcome = { name, result, status: 'ok', seconds: (performance.now() - t) / 1000, load1AtStart };
    } catch (err) {
      const message = err instanceof Error ? err.message.trim() : String(err);
      const reason = message.split('\n')[0]; // for the summary and the README; the whole of it on stderr
      outcome = { name, result: null, status: err instanceof Skip ? 'skipped' : 'failed', reason, seconds: (performance.now() - t) / 1000, load1AtStart };
      process.stderr.write(`${name}: ${outcome.status}: ${message}\n`);
    }
    outcomes.push(outcome);
  }
  const totalSeconds = (performance.now() - started) / 1000;

  console.log(`npm run bench${quick ? ' --quick (smoke run: small sizes, few rounds; figures not comparable)' : ''}: ${utc(run.date)}`);
  console.log(`nproc ${run.nproc}, ${run.cpuModel}, kernel ${run.kernel}, Node ${run.node}, 1-min load ${run.load1.toFixed(2)} at the start; ${minutes(totalSeconds)} in all`);
  console.log(outcomes.map((o) => `${o.name} ${minutes(o.seconds)}`).join(', '));
  console.log('');
  console.log(summaryTable(outcomes));
  console.log('');

  if (write) {
    writeFileSync(readme, refreshReadme(readFileSync(readme, 'utf8'), { run, outcomes, totalSeconds, quick }));
    console.log(`${readme}: refreshed ${outcomes.filter((o) => o.status === 'ok').map((o) => o.name).join(', ') || 'the machine block only'}`);
  } else {
    console.log(quick && !values['no-readme'] ? `--quick: ${readme} not written` : 'README not written (--no-readme)');
  }
  if (outcomes.some((o) => o.status === 'failed')) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
