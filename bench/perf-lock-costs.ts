/**
 * Where mutex-rec's costs against perf lock are: what a run file's bytes are made of, and where
 * `mutex-analyze report`'s wall time goes.
 */
import Database from 'better-sqlite3';
import { median } from 'simple-statistics';

import { buildReport, renderReport } from '../analyzer/report';
import { RunFile } from '../runfile/runfile';
import { MUTEX_ANALYZE } from '../test/lib/tools';
import { recReportMs, timed } from './perf-lock-runs';

export interface RunFileComposition {
  pageSize: number;
  eventsBytes: number; // the events table's pages
  events: number;
  otherTaskEvents: number; // --all: events of tasks that are not the workload
  otherBytes: number; // every other table and index
  otherTrees: number; // how many of them: each takes at least one page
}

export function runFileComposition(path: string): RunFileComposition {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const trees = db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name').all() as { name: string; bytes: number }[];
    const events = trees.find((t) => t.name === 'events')?.bytes ?? 0;
    const counts = db
      .prepare('SELECT count(*) AS events, sum(pid != (SELECT target_pid FROM run)) AS otherTaskEvents FROM events')
      .get() as { events: number; otherTaskEvents: number };
    return {
      pageSize: db.pragma('page_size', { simple: true }) as number,
      eventsBytes: events,
      ...counts,
      otherBytes: trees.reduce((sum, t) => sum + t.bytes, 0) - events,
      otherTrees: trees.length - 1,
    };
  } finally {
    db.close();
  }
}

export interface ReportTime {
  cliMs: number; // `mutex-analyze report FILE`, whole
  nodeStartMs: number; // `node -e ''`
  versionMs: number; // `mutex-analyze --version`: node start and loading every module of the CLI
  openMs: number; // in process, from here on: RunFile.open
  scanMs: number; // reading every event row into JS, nothing else
  buildMs: number; // buildReport: its own scan, the join, the statistics
  renderMs: number;
  rows: number;
}

const elapsedMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

/** The report's wall time and its parts, each the median of `repeats`. */
export async function reportTime(path: string, repeats = 3): Promise<ReportTime> {
  const samples: ReportTime[] = [];
  for (let i = 0; i < repeats; i++) {
    const cliMs = await recReportMs(path);
    const nodeStartMs = (await timed('node', process.execPath, ['-e', ''])).ms;
    const versionMs = (await timed('mutex-analyze --version', process.execPath, [MUTEX_ANALYZE, '--version'])).ms;
    let t = process.hrtime.bigint();
    const run = RunFile.open(path);
    const openMs = elapsedMs(t);
    t = process.hrtime.bigint();
    let rows = 0;
    run.eachEvent(() => rows++);
    const scanMs = elapsedMs(t);
    t = process.hrtime.bigint();
    const report = buildReport(run, { by: 'lock', sort: 'wait', top: 20, format: 'table' });
    const buildMs = elapsedMs(t);
    t = process.hrtime.bigint();
    renderReport(report, 'table');
    const renderMs = elapsedMs(t);
    run.close();
    samples.push({ cliMs, nodeStartMs, versionMs, openMs, scanMs, buildMs, renderMs, rows });
  }
  const mid = (key: keyof ReportTime): number => median(samples.map((s) => s[key]));
  return {
    cliMs: mid('cliMs'),
    nodeStartMs: mid('nodeStartMs'),
    versionMs: mid('versionMs'),
    openMs: mid('openMs'),
    scanMs: mid('scanMs'),
    buildMs: mid('buildMs'),
    renderMs: mid('renderMs'),
    rows: samples[0].rows,
  };
}
