import { Command, Option } from 'commander';

import { writeChromeTrace } from '../export/chrome';
import { writeFolded } from '../export/folded';
import { TextOutput } from '../output';
import { RunFile } from '../runfile';
import { runWarnings } from '../runinfo';
import type { ActionRunner } from './options';

export function registerExport(program: Command, run: ActionRunner): void {
  program
    .command('export')
    .description('the run for other tools: wait time by stack for flame graphs (folded), or wait and hold slices per thread for Perfetto (chrome)')
    .argument('<run.db>', 'run file written by mutex-rec')
    .addOption(new Option('--format <format>', 'folded: flamegraph.pl / speedscope; chrome: Chrome trace-event JSON').choices(['folded', 'chrome']).makeOptionMandatory())
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action((path: string, o: { format: 'folded' | 'chrome'; output?: string }) =>
      run(async () => {
        const runFile = RunFile.open(path);
        try {
          const out = TextOutput.open(o.output);
          let complete = false;
          let anomalies: Map<string, number>;
          try {
            anomalies = (o.format === 'folded' ? writeFolded(runFile, out) : writeChromeTrace(runFile, out)).anomalies;
            complete = true;
          } finally {
            if (complete) out.close();
            else out.abort();
          }
          // stdout holds the data: the run's health goes to stderr.
          for (const w of runWarnings(runFile, anomalies)) process.stderr.write(`mutex-analyze: WARNING: ${w}\n`);
        } finally {
          runFile.close();
        }
      }),
    );
}
