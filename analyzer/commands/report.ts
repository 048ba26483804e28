import { Option, type Command } from '@commander-js/extra-typings';

import { UserError } from '../../core/errors';
import { formatAddress, KIND_FAMILIES, type KindFamily } from '../../core/events';
import { buildBlockers, renderBlockers } from '../blockers';
import { buildReport, renderReport, type ReportBy } from '../report';
import { FORMATS } from '../render';
import { warnOnStderr, writeStdout } from '../output';
import { RunFile } from '../../runfile/runfile';
import { integer, kinds, lockAddress } from '../../core/cli_options';
import { RAW_FLAG, RAW_HELP, type ActionRunner } from './options';
import { modeNotes } from '../runinfo';

export function registerReport(program: Command, run: ActionRunner): void {
  program
    .command('report')
    .description('which locks and condition variables (or threads, or call sites) cost the most: acquisitions, contention, failed attempts, wait and hold percentiles; cond waits, timeouts, signals')
    .argument('<run.db>', 'run file written by mutex-rec')
    .addOption(new Option('--by <what>', 'one row per lock, per thread, or per call site (of the lock call)').choices(['lock', 'thread', 'callsite'] as const).default('lock' as const))
    .option('--stack', 'with --by callsite: one row per whole call stack of the request')
    .option('--blockers', 'who blocked whom: (holder call site, waiter call site) pairs by the wait they caused')
    .addOption(new Option('--sort <key>', 'order of the rows: cont-wait = total wait of contended acquisitions (what contention cost); wait = total wait of all').choices(['cont-wait', 'wait', 'hold', 'count', 'contended'] as const).default('cont-wait' as const))
    .option('--top <n>', 'show the first N rows', integer('--top', 1), 20)
    .option('--lock <address>', 'one lock (or condition variable) in depth: log2 histograms of wait and hold, its threads and call sites; an rwlock\'s two sides together', lockAddress)
    .addOption(
      new Option(
        '--kind <kinds>',
        'which kinds: mutex (pthread and kernel mutexes), rwlock (pthread_rwlock:R and :W rows; kernel rwsems), spin (pthread spin locks, kernel spinlocks), cond (condition variables: their waits, timeouts, signals, mutexes), all; comma-separated',
      )
        .argParser(kinds)
        .default(new Set(KIND_FAMILIES) as ReadonlySet<KindFamily>, 'all'),
    )
    .addOption(new Option('--format <format>', 'output format').choices(FORMATS).default('table' as const))
    .option(RAW_FLAG, RAW_HELP)
    .action((path, o) =>
      run(async () => {
        if (o.stack && o.by !== 'callsite') throw new UserError('--stack groups call sites by their whole stack: use it with --by callsite');
        if (o.blockers && o.by !== 'lock') throw new UserError('--blockers has its own rows (holder and waiter call sites): drop --by');
        const runFile = RunFile.open(path);
        runFile.raw = o.raw === true;
        try {
          if (o.blockers) {
            const blockers = buildBlockers(runFile, { top: o.top, lock: o.lock });
            if (o.format !== 'table') warnOnStderr(blockers.warnings, modeNotes(blockers.run));
            writeStdout(renderBlockers(blockers, o.format));
            return;
          }
          const by: ReportBy = o.stack ? 'stack' : o.by;
          if (by === 'stack' && !runFile.hasStacks()) {
            throw new UserError(`${path} has no call stacks (recorded with --no-stacks, or by a mutex-rec without them): use --by callsite without --stack`);
          }
          const report = buildReport(runFile, { by, sort: o.sort, top: o.top, lock: o.lock, format: o.format, kinds: o.kind });
          if (o.lock !== undefined && report.groups === 0 && !report.cond) {
            throw new UserError(`no acquisitions of lock ${formatAddress(o.lock)} in ${path}: pick an address from the report`);
          }
          if (o.format !== 'table') warnOnStderr(report.warnings, modeNotes(report.run));
          writeStdout(renderReport(report, o.format));
        } finally {
          runFile.close();
        }
      }),
    );
}
