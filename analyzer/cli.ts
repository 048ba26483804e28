#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from 'commander';

import { runCli, UserError } from '../core/errors';
import { parseAddress } from '../core/events';
import { printEvents } from './events';
import { buildReport, renderReport, type Format, type SortKey } from './report';
import { RunFile } from './runfile';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const VERSION: string = require('../../package.json').version;

function integer(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

function lockAddress(value: string): number {
  const n = parseAddress(value);
  if (n === null) throw new InvalidArgumentError('--lock takes a lock address in hex, as the report prints it (0x7f3a...)');
  return n;
}

function seconds(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} takes seconds since the run start (>= 0)`);
    return n;
  };
}

let pending: Promise<number | void> = Promise.resolve();

const program = new Command('mutex-analyze')
  .description('Analyze mutex-rec run files: wait and hold distributions per lock, thread and call site; compare runs.')
  .version(VERSION)
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2))
  .configureOutput({ outputError: (text, write) => write(`mutex-analyze: ${text.replace(/^error: /, '').trim()} (see --help)\n`) });

program
  .command('report')
  .description('which locks (or threads) cost the most: acquisitions, contention, failed attempts, wait and hold percentiles')
  .argument('<run.db>', 'run file written by mutex-rec')
  .addOption(new Option('--by <what>', 'one row per lock or per thread').choices(['lock', 'thread']).default('lock'))
  .addOption(new Option('--sort <key>', 'order of the rows').choices(['wait', 'hold', 'count', 'contended']).default('wait'))
  .option('--top <n>', 'show the first N rows', integer('--top', 1), 20)
  .option('--lock <address>', 'one lock in depth: log2 histograms of wait and hold, and its threads', lockAddress)
  .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'))
  .action((path: string, o: { by: 'lock' | 'thread'; sort: SortKey; top: number; lock?: number; format: Format }) => {
    pending = (async () => {
      const run = RunFile.open(path);
      try {
        const report = buildReport(run, { by: o.by, sort: o.sort, top: o.top, lock: o.lock, format: o.format });
        if (o.lock !== undefined && report.groups === 0) throw new UserError(`lock ${path}: no acquisitions of lock ${o.lock.toString(16)} in this run: pick an address from the report`);
        process.stdout.write(renderReport(report, o.format));
      } finally {
        run.close();
      }
    })();
  });

program
  .command('events')
  .description("the joined acquisitions, one line each in the origin's format (times in µs since the run start)")
  .argument('<run.db>', 'run file written by mutex-rec')
  .option('--tid <tid>', 'only this thread', integer('--tid', 1))
  .option('--lock <address>', 'only this lock', lockAddress)
  .option('--from <seconds>', 'only acquisitions requested at or after this time', seconds('--from'))
  .option('--to <seconds>', 'only acquisitions requested at or before this time', seconds('--to'))
  .action((path: string, o: { tid?: number; lock?: number; from?: number; to?: number }) => {
    pending = (async () => {
      const run = RunFile.open(path);
      try {
        printEvents(run, { tid: o.tid, lock: o.lock, fromNs: o.from === undefined ? undefined : o.from * 1e9, toNs: o.to === undefined ? undefined : o.to * 1e9 }, (t) =>
          process.stdout.write(t),
        );
      } finally {
        run.close();
      }
    })();
  });

runCli('mutex-analyze', async () => {
  program.parse();
  return pending;
});
