import { Command, Option } from 'commander';

import { UserError } from '../../core/errors';
import { formatAddress } from '../../core/events';
import { buildReport, renderReport, type Format, type SortKey } from '../report';
import { RunFile } from '../runfile';
import { integer, lockAddress, type ActionRunner } from './options';

export function registerReport(program: Command, run: ActionRunner): void {
  program
    .command('report')
    .description('which locks (or threads) cost the most: acquisitions, contention, failed attempts, wait and hold percentiles')
    .argument('<run.db>', 'run file written by mutex-rec')
    .addOption(new Option('--by <what>', 'one row per lock or per thread').choices(['lock', 'thread']).default('lock'))
    .addOption(new Option('--sort <key>', 'order of the rows').choices(['wait', 'hold', 'count', 'contended']).default('wait'))
    .option('--top <n>', 'show the first N rows', integer('--top', 1), 20)
    .option('--lock <address>', 'one lock in depth: log2 histograms of wait and hold, and its threads', lockAddress)
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'))
    .action((path: string, o: { by: 'lock' | 'thread'; sort: SortKey; top: number; lock?: number; format: Format }) =>
      run(async () => {
        const runFile = RunFile.open(path);
        try {
          const report = buildReport(runFile, { by: o.by, sort: o.sort, top: o.top, lock: o.lock, format: o.format });
          if (o.lock !== undefined && report.groups === 0) {
            throw new UserError(`no acquisitions of lock ${formatAddress(o.lock)} in ${path}: pick an address from the report`);
          }
          process.stdout.write(renderReport(report, o.format));
        } finally {
          runFile.close();
        }
      }),
    );
}
