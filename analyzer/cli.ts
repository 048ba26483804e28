#!/usr/bin/env node
import { Command } from 'commander';

import { runCli } from '../core/errors';
import { registerDiff } from './commands/diff';
import { registerEvents } from './commands/events';
import { registerExport } from './commands/export';
import { registerHtml } from './commands/html';
import { registerLockOrder } from './commands/lockorder';
import type { ActionRunner } from './commands/options';
import { registerReport } from './commands/report';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../../package.json').version;

let action: Promise<number | void> = Promise.resolve();
const run: ActionRunner = (fn) => {
  action = fn();
};

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

runCli('mutex-analyze', async () => {
  program.parse();
  return action;
});
