import { Option, type Command } from '@commander-js/extra-typings';

import { chromeTraceSizeWarning, writeChromeTrace } from '../export/chrome';
import { writeFolded } from '../export/folded';
import { buildPprof, encodePprof } from '../export/pprof';
import { UserError } from '../../core/errors';
import { TextOutput, warnOnStderr } from '../output';
import { RunFile } from '../../runfile/runfile';
import { modeNotes, runWarnings } from '../runinfo';
import { seconds } from '../../core/cli_options';
import { RAW_FLAG, RAW_HELP, type ActionRunner } from './options';

export function registerExport(program: Command, run: ActionRunner): void {
  program
    .command('export')
    .description('the run for other tools: wait time by stack for flame graphs (folded), wait and hold slices per thread for Perfetto (chrome), a mutex profile for go tool pprof and Pyroscope (pprof)')
    .argument('<run.db>', 'run file written by mutex-rec')
    .addOption(
      new Option('--format <format>', 'folded: flamegraph.pl / speedscope; chrome: Chrome trace-event JSON; pprof: gzipped protobuf (Go mutex profile)')
        .choices(['folded', 'chrome', 'pprof'] as const)
        .makeOptionMandatory(),
    )
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option(RAW_FLAG, RAW_HELP)
    .option('--from <seconds>', 'chrome: only the slices that end at or after this time (seconds since the run start)', seconds('--from'))
    .option('--to <seconds>', 'chrome: only the slices that begin at or before this time', seconds('--to'))
    .action((path, o) =>
      run(async () => {
        if ((o.from !== undefined || o.to !== undefined) && o.format !== 'chrome') {
          throw new UserError('--from and --to cut a Chrome trace to a time window: use them with --format chrome');
        }
        if (o.from !== undefined && o.to !== undefined && o.from > o.to) throw new UserError(`--from ${o.from} is after --to ${o.to}: give the window's start first`);
        if (o.format === 'pprof' && (o.output === undefined || o.output === '-') && process.stdout.isTTY) {
          throw new UserError('a pprof profile is binary: write it to a file with -o run.pb.gz (or redirect stdout)');
        }
        const runFile = RunFile.open(path);
        runFile.raw = o.raw === true;
        try {
          const out = TextOutput.open(o.output);
          let complete = false;
          let anomalies: Map<string, number>;
          try {
            if (o.format === 'pprof') {
              const { profile, summary } = buildPprof(runFile);
              out.writeBytes(encodePprof(profile));
              anomalies = summary.anomalies;
            } else if (o.format === 'folded') anomalies = writeFolded(runFile, out).anomalies;
            else {
              const window = { fromNs: o.from === undefined ? undefined : o.from * 1e9, toNs: o.to === undefined ? undefined : o.to * 1e9 };
              const trace = writeChromeTrace(runFile, out, window);
              anomalies = trace.anomalies;
              const tooBig = chromeTraceSizeWarning(trace);
              if (tooBig) process.stderr.write(`mutex-analyze: WARNING: ${tooBig}\n`);
            }
            complete = true;
          } finally {
            if (complete) out.close();
            else out.abort();
          }
          // stdout holds the data: the run's health goes to stderr.
          warnOnStderr(runWarnings(runFile, anomalies), modeNotes(runFile.meta));
        } finally {
          runFile.close();
        }
      }),
    );
}
