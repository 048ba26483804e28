import { countAnomalies } from '../core/join';
import { ORIGIN_HEADER, originLine } from '../core/origin_format';
import type { RunFile } from '../runfile/runfile';
import { runHeader, runJson, runWarnings } from './runinfo';

export interface EventsOptions {
  tid?: number;
  lock?: number;
  fromNs?: number; // acquisitions whose request is at or after this (ns since the run start)
  toNs?: number; // ... and at or before this
}

/** Writes the joined acquisitions, one line each in the origin's format, as they complete. */
export function printEvents(run: RunFile, opts: EventsOptions, write: (text: string) => void): number {
  const anomalies = new Map<string, number>();
  let printed = 0;
  const lines: string[] = [];
  const flush = (): void => {
    if (lines.length) write(`${lines.join('\n')}\n`);
    lines.length = 0;
  };
  run.join({
    acquisition(a) {
      if (opts.tid !== undefined && a.tid !== opts.tid) return;
      if (opts.lock !== undefined && a.lock !== opts.lock) return;
      if (opts.fromNs !== undefined && a.requestTs < opts.fromNs) return;
      if (opts.toNs !== undefined && a.requestTs > opts.toNs) return;
      lines.push(originLine(a, run.threadNames.get(a.tid) ?? '?'));
      printed++;
      if (lines.length >= 4096) flush();
    },
    failed: () => undefined,
    open: () => undefined,
    anomaly: countAnomalies(anomalies),
  });
  // The warnings need the whole pass; drops are known up front and said first.
  for (const w of runWarnings(run, new Map())) write(`WARNING: ${w}\n`);
  write(`${runHeader(runJson(run)).join('\n')}\n${ORIGIN_HEADER}\n`);
  flush();
  for (const w of runWarnings(run, anomalies).filter((w) => w.includes('contradict') || w.includes('were left out'))) write(`WARNING: ${w}\n`);
  return printed;
}
