import type { Command } from '@commander-js/extra-typings';

import { printEvents } from '../events';
import { UserError } from '../../core/errors';
import { writeStdout } from '../output';
import { RunFile } from '../../runfile/runfile';
import { integer, lockAddress, seconds } from '../../core/cli_options';
import { RAW_FLAG, RAW_HELP, type ActionRunner } from './options';

export function registerEvents(program: Command, run: ActionRunner): void {
  program
    .command('events')
    .description("the joined acquisitions, one line each: PID TID COMM LOCK, request, acquired and released times (µs since the run start), wait and hold (µs)")
    .argument('<run.db>', 'run file written by mutex-rec')
    .option('--tid <tid>', 'only this thread', integer('--tid', 1))
    .option('--lock <address>', 'only this lock', lockAddress)
    .option('--from <seconds>', 'only acquisitions requested at or after this time', seconds('--from'))
    .option('--to <seconds>', 'only acquisitions requested at or before this time', seconds('--to'))
    .option(RAW_FLAG, RAW_HELP)
    .action((path, o) =>
      run(async () => {
        if (o.from !== undefined && o.to !== undefined && o.from > o.to) {
          throw new UserError(`--from ${o.from} is after --to ${o.to}: give the earlier time with --from`);
        }
        const runFile = RunFile.open(path);
        runFile.raw = o.raw === true;
        try {
          const window = { fromNs: o.from === undefined ? undefined : o.from * 1e9, toNs: o.to === undefined ? undefined : o.to * 1e9 };
          printEvents(runFile, { tid: o.tid, lock: o.lock, ...window }, writeStdout);
        } finally {
          runFile.close();
        }
      }),
    );
}
