#!/usr/bin/env node
import { Command } from '@commander-js/extra-typings';

import { runCli, setVerbose, UserError } from '../core/errors';
import { ClosedPipe } from './output';
import { progressSettings } from '../core/progress';
import { registerDiff } from './commands/diff';
import { registerEvents } from './commands/events';
import { registerExport } from './commands/export';
import { registerHtml } from './commands/html';
import { registerLockOrder } from './commands/lockorder';
import type { ActionRunner } from './commands/options';
import { registerReport } from './commands/report';

const VERSION: string = require('../../package.json').version;

let action: Promise<number | void> = Promise.resolve();
const run: ActionRunner = (fn) => {
  action = fn().catch(ending);
};

/** A closed stdout ends the analysis quietly (`| head`); a damaged file is one line, exit 2. */
function ending(err: unknown): number {
  if (err instanceof ClosedPipe) return 0;
  const code = (err as { code?: string }).code ?? '';
  const message = err instanceof Error ? err.message : String(err);
  if (/^SQLITE_(CORRUPT|NOTADB)/.test(code) || /malformed|file is not a database/.test(message)) {
    throw new UserError(`the run file is damaged (${message}): record again (sqlite3 FILE .recover may save what is left)`);
  }
  throw err;
}

const program = new Command('mutex-analyze')
  .description('Analyze mutex-rec run files: wait and hold distributions per lock and thread; compare runs.')
  .version(VERSION)
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .configureOutput({ outputError: (text, write) => write(`mutex-analyze: ${text.replace(/^error: /, '').trim()} (see --help)\n`) });

registerReport(program, run);
registerEvents(program, run);
registerDiff(program, run);
registerLockOrder(program, run);
registerExport(program, run);
registerHtml(program, run);

// --quiet, on every command: no progress line.
for (const command of program.commands) {
  command.option('-q, --quiet', 'no progress line on the terminal');
  command.option('-v, --verbose', "an internal error's stack trace");
}
program.hook('preAction', (_program, command) => {
  progressSettings.quiet = command.opts().quiet === true;
  setVerbose(command.opts().verbose === true);
});

runCli('mutex-analyze', async () => {
  program.parse();
  return action;
});
