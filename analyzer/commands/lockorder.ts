import { Option, type Command } from '@commander-js/extra-typings';

import { buildLockOrder, renderLockOrder } from '../lockorder';
import { warnOnStderr, writeStdout } from '../output';
import { RunFile } from '../../runfile/runfile';
import { integer } from '../../core/cli_options';
import type { ActionRunner } from './options';
import { modeNotes } from '../runinfo';

export function registerLockOrder(program: Command, run: ActionRunner): void {
  program
    .command('lockorder')
    .description('potential deadlocks: cycles in the order threads took locks while holding others, with the call sites of each edge')
    .argument('<run.db>', 'run file written by mutex-rec')
    .option('--max-cycles <n>', 'list at most N cycles', integer('--max-cycles', 1), 100)
    .option('--fail-on-cycle', 'exit with code 1 when there is a cycle')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json'] as const).default('text' as const))
    .action((path, o) =>
      run(async () => {
        const runFile = RunFile.open(path);
        try {
          const report = buildLockOrder(runFile, { maxCycles: o.maxCycles });
          if (o.format !== 'text') warnOnStderr(report.warnings, modeNotes(report.run));
          writeStdout(renderLockOrder(report, o.format));
          return o.failOnCycle && report.cycles.length > 0 ? 1 : 0;
        } finally {
          runFile.close();
        }
      }),
    );
}
