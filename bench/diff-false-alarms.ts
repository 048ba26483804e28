/**
 * How often `diff` flags a regression between two recordings of the same workload (A/A pairs):
 * the false-alarm rate of its verdicts, which is random, so measured here and not asserted in a
 * test. Each pair is two fresh recordings of one workload, diffed with the defaults (alpha 0.05,
 * Holm, 5 %, one run per side: per-window tests):
 * - busy: `mutex-rec -d SECONDS -- busy_server nested 4`, the test suite's busy target: 4 threads
 *   on 2 shared locks and one own lock each, plus a holder taking a recursive and an
 *   error-checking mutex; 5 threads on this machine's 2 CPUs, so how they share the CPUs changes
 *   from run to run;
 * - steady: `mutex-rec -- hold_loop 600 800`, two pinned threads taking turns on one lock, each
 *   holding it 800 µs (the workload diff's tests compare).
 *
 *   node dist/bench/diff-false-alarms.js [--workload busy|steady] [--pairs 40] [--seconds 1] [--out DIR]
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import type { Diff } from '../analyzer/diff';
import { REPO, mutexAnalyze, mutexRec } from '../test/lib/tools';
import { workload } from '../test/lib/workloads';
import { machine, requireRoot, utc } from './lib/env';
import { fmt, mdTable, positiveInt } from './lib/report';

interface PairOutcome {
  regressed: string[]; // "lock: metric +change%"
  improved: string[];
  untested: number;
  exit: number;
}

type Workload = 'busy' | 'steady';

function command(w: Workload, seconds: number): string[] {
  return w === 'busy' ? ['-d', String(seconds), '--', workload('busy_server'), 'nested', '4'] : ['--', workload('hold_loop'), '600', '800'];
}

async function record(path: string, w: Workload, seconds: number): Promise<void> {
  rmSync(path, { force: true });
  const r = await mutexRec(['-q', '--force', '-o', path, ...command(w, seconds)], { timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`mutex-rec failed (exit ${r.code}): ${r.stderr.trim()}`);
}

async function compare(a: string, b: string): Promise<PairOutcome> {
  const r = await mutexAnalyze(['diff', a, b, '--fail-on-regression', '--format', 'json']);
  if (r.code !== 0 && r.code !== 1 && r.code !== 3) throw new Error(`diff failed (exit ${r.code}): ${r.stderr.trim()}`);
  const d = JSON.parse(r.stdout) as Diff;
  const flagged = (verdict: 'regressed' | 'improved'): string[] =>
    d.rows.flatMap((row) =>
      d.method.judged.filter((m) => row.metrics[m].verdict === verdict).map((m) => `${row.lock}: ${m} ${changeText(row.metrics[m].changePct)}`),
    );
  return { regressed: flagged('regressed'), improved: flagged('improved'), untested: d.summary.untested, exit: r.code };
}

function changeText(pct: number | null): string {
  return pct === null ? 'from 0' : `${pct > 0 ? '+' : ''}${fmt(pct, 0)}%`;
}

/** Wilson score interval for k successes in n trials, 95 %. */
function wilson(k: number, n: number): [number, number] {
  const z = 1.96;
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = ((z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n)));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { workload: { type: 'string', default: 'busy' }, pairs: { type: 'string', default: '40' }, seconds: { type: 'string', default: '1' }, out: { type: 'string', default: join(REPO, 'build', 'bench', 'aa') } },
  });
  requireRoot('bench/diff-false-alarms');
  const pairs = positiveInt('pairs', values.pairs!);
  const seconds = positiveInt('seconds', values.seconds!);
  if (values.workload !== 'busy' && values.workload !== 'steady') throw new Error(`--workload must be busy or steady, got ${values.workload}`);
  const w: Workload = values.workload;
  mkdirSync(values.out!, { recursive: true });
  const m = machine();
  const outcomes: PairOutcome[] = [];
  for (let i = 0; i < pairs; i++) {
    const a = join(values.out!, 'a.db');
    const b = join(values.out!, 'b.db');
    await record(a, w, seconds);
    await record(b, w, seconds);
    const o = await compare(a, b);
    outcomes.push(o);
    process.stderr.write(`pair ${i + 1}/${pairs}: exit ${o.exit}${o.regressed.length ? `, regressed ${o.regressed.join('; ')}` : ''}${o.improved.length ? `, improved ${o.improved.join('; ')}` : ''}\n`);
  }
  const rate = (k: number): string => {
    const [lo, hi] = wilson(k, pairs);
    return `${k} of ${pairs} = ${fmt((100 * k) / pairs, 1)} % (95 % CI ${fmt(100 * lo, 1)}–${fmt(100 * hi, 1)} %)`;
  };
  const regressed = outcomes.filter((o) => o.regressed.length > 0).length;
  const improved = outcomes.filter((o) => o.improved.length > 0).length;
  const exit3 = outcomes.filter((o) => o.exit === 3).length;
  const byMetric = new Map<string, number>();
  for (const o of outcomes) for (const f of [...o.regressed, ...o.improved]) {
    const metric = f.replace(/^.*: (\w+) .*$/, '$1');
    byMetric.set(metric, (byMetric.get(metric) ?? 0) + 1);
  }
  console.log(`Measured ${utc(m.date)}: ${m.nproc} CPUs (${m.cpuModel}), kernel ${m.kernel}, load ${m.load1.toFixed(2)} at the start; ${pairs} A/A pairs of \`mutex-rec ${command(w, seconds).join(' ').replace(/\S*\/build\/test-workloads\//g, '')}\`.\n`);
  console.log(
    mdTable(
      ['pairs flagged', 'rate (Wilson 95 % interval)', 'goal'],
      [
        ['regressed (exit 1)', rate(regressed), `≤ 10 %: ${regressed / pairs <= 0.1 ? 'met' : 'NOT met'}`],
        ['improved', rate(improved), ''],
        ['inconclusive (exit 3)', rate(exit3), ''],
      ],
    ),
  );
  console.log(`\nflagged metrics (regressed or improved, all rows): ${[...byMetric].map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}.`);
}

main().catch((err: unknown) => {
  process.stderr.write(`diff-false-alarms: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
