import { Option, type Command } from '@commander-js/extra-typings';

import { UserError } from '../../core/errors';
import { buildDiff, digestRun, failExitCode, renderDiff } from '../diff';
import { FORMATS } from '../render';
import { warnOnStderr, writeStdout } from '../output';
import { RunFile } from '../../runfile/runfile';
import { modeNotes } from '../runinfo';
import { sharedProbeCost, type ProbeCost } from '../../core/probe_cost';
import { nonNegative, probability } from '../../core/cli_options';
import { RAW_FLAG, RAW_HELP, type ActionRunner } from './options';

export function registerDiff(program: Command, run: ActionRunner): void {
  program
    .command('diff')
    .description('did locking get worse? per lock and overall: wait and hold p50/p99, wait per second, contention, with a verdict')
    .argument('<runs...>', 'BASE.db NEW.db; or, with --vs, the base runs')
    .option('--vs <runs...>', 'the new runs, compared with the base runs given before --vs')
    .option('--alpha <p>', 'significance level of the corrected p-values', probability('--alpha'), 0.05)
    .option('--threshold <pct>', 'noise threshold: smaller changes (in %) are never a regression', nonNegative('--threshold'), 5)
    .addOption(new Option('--correction <method>', 'correction for testing many locks and metrics at once').choices(['holm', 'bh', 'none'] as const).default('holm' as const))
    .addOption(new Option('--format <format>', 'output format').choices(FORMATS).default('table' as const))
    .option('--fail-on-regression', 'exit 1 when any lock (or the overall row) regressed; 3 when none did but a lock that matters (≥1% of the wait or hold) changed beyond the threshold in a metric too few samples could test (?)')
    .option(RAW_FLAG, `${RAW_HELP}; also when some of the runs have no measured probe cost, so both sides compare alike`)
    .action((positional, o) =>
      run(async () => {
        const { base, after } = sides(positional, o.vs);
        const files = openAll([...base, ...after]);
        try {
          compareAlike(files, o.raw === true);
          const digests = files.map(digestRun);
          const diff = buildDiff(digests.slice(0, base.length), digests.slice(base.length), {
            alpha: o.alpha,
            thresholdPct: o.threshold,
            correction: o.correction,
          });
          if (o.format !== 'table') warnOnStderr(diff.warnings, modeNotes(files[0].meta));
          writeStdout(renderDiff(diff, o.format));
          return o.failOnRegression ? failExitCode(diff) : 0;
        } finally {
          for (const f of files) f.close();
        }
      }),
    );
}

/**
 * Runs compared subtract one probe cost, or none: raw when asked, or when some run has no measured
 * cost. One calibration for all: each run's own differs by a few %, which on holds of about the
 * probes' cost would read as a change of tens of %. What each run's own calls measured during it
 * (InRunCost) stays its own when every run has it: that is how dear its probes really were.
 */
export function compareAlike(files: RunFile[], askedRaw: boolean): void {
  checkSameMode(files);
  const raw = askedRaw || files.some((f) => f.meta.userProbes && f.meta.probeCost === null);
  const shared = raw ? null : sharedProbeCost(files.map((f) => f.meta.probeCost).filter((c): c is ProbeCost => c !== null));
  const everyInRun = files.every((f) => f.meta.probeCost?.inRun); // else none: a run corrected by it and one not would differ by it
  for (const f of files) {
    f.raw = raw;
    const inRun = everyInRun ? f.meta.probeCost!.inRun : undefined;
    f.probeCostOverride = shared && inRun ? { ...shared, inRun } : shared;
  }
}

/** Runs of different modes measure different things (every lock call vs contended waits only): never compared. */
function checkSameMode(files: RunFile[]): void {
  const first = files[0];
  const other = files.find((f) => f.meta.mode !== first.meta.mode);
  if (!other) return;
  const [full, contention] = first.meta.mode === 'full' ? [first, other] : [other, first];
  throw new UserError(
    `cannot compare runs of different modes: ${full.meta.path} recorded every lock call (full mode), ${contention.meta.path} contended waits only (--contention): record both the same way`,
  );
}

function sides(positional: string[], vs: string[] | undefined): { base: string[]; after: string[] } {
  if (vs !== undefined) return { base: positional, after: vs };
  if (positional.length !== 2) {
    throw new UserError(`diff takes two run files (base, then new), or the base runs, --vs and the new runs; got ${positional.length} without --vs`);
  }
  return { base: [positional[0]], after: [positional[1]] };
}

/** Opens every file before reading any, so a bad one is reported before minutes of work. */
function openAll(paths: string[]): RunFile[] {
  const files: RunFile[] = [];
  try {
    for (const path of paths) files.push(RunFile.open(path));
  } catch (err) {
    for (const f of files) f.close();
    throw err;
  }
  return files;
}
