import { statSync } from 'node:fs';

import type { Command } from '@commander-js/extra-typings';

import { buildPage } from '../html/model';
import { renderPage } from '../html/page';
import { TextOutput } from '../output';
import { RunFile } from '../../runfile/runfile';
import { compareAlike } from './diff';
import { RAW_FLAG, RAW_HELP, type ActionRunner } from './options';

export function registerHtml(program: Command, run: ActionRunner): void {
  program
    .command('html')
    .description('one self-contained HTML page of the run: top locks, wait and hold distributions, timeline per thread, who blocks whom, lock order; with --vs, the diff')
    .argument('<run.db>', 'run file written by mutex-rec')
    .option('--vs <runs...>', 'compare with these runs (the new side; this run is the base), as `diff RUN --vs RUNS` does')
    .option('-o, --output <file>', 'write the page here (default: the run file\'s name with .html; - for stdout)')
    .option(RAW_FLAG, `${RAW_HELP}; with --vs, also when some of the runs have no measured probe cost, as diff does`)
    .action((path, o) =>
      run(async () => {
        const output = o.output ?? `${path.replace(/\.db$/, '')}.html`;
        const files = [RunFile.open(path)];
        try {
          for (const other of o.vs ?? []) files.push(RunFile.open(other));
          if (files.length > 1) compareAlike(files, o.raw === true);
          else files[0].raw = o.raw === true;
          const [main, ...vs] = files;
          const data = buildPage(main, { vs: vs.length > 0 ? vs : undefined, verdict: { alpha: 0.05, thresholdPct: 5, correction: 'holm' } });
          const out = TextOutput.open(output);
          let complete = false;
          try {
            out.write(renderPage(data));
            complete = true;
          } finally {
            if (complete) out.close();
            else out.abort();
          }
          for (const w of data.warnings) process.stderr.write(`mutex-analyze: WARNING: ${w}\n`);
          if (output !== '-') process.stderr.write(`mutex-analyze: wrote ${output} (${Math.ceil(statSync(output).size / 1024)} KB)\n`);
        } finally {
          for (const f of files) f.close();
        }
      }),
    );
}
