import { formatAddress } from '../../core/events';
import { countAnomalies, type Acquisition } from '../../core/join';
import { LockNameCollector } from '../locknames';
import type { TextOutput } from '../output';
import type { RunFile } from '../runfile';
import { runJson } from '../runinfo';
import { SiteNamer } from '../sitenames';
import { formatCount } from '../stats/units';

export const CHROME_TRACE_SCHEMA = 'mutex-analyze.chrome-trace/1';

/** A Chrome trace-event ("X" complete or "M" metadata) event, as Perfetto and chrome://tracing read it. */
export interface TraceEvent {
  ph: 'X' | 'M';
  name: string;
  cat?: 'wait' | 'hold';
  ts?: number; // µs since the run start
  dur?: number; // µs
  pid: number;
  tid: number;
  args: Record<string, string | number>;
}

/**
 * The run as a Chrome trace (JSON object form): per thread, a "wait" slice from each request to
 * its acquisition (when there was an observable wait) and a "hold" slice from each acquisition to
 * its release, named by the lock; thread and process names as metadata. With a window, only the
 * slices that overlap it (whole, not cut at its edges). Two passes over the
 * events: the first names the locks as `report` does, the second writes the slices as the join
 * completes them.
 */
export function writeChromeTrace(run: RunFile, out: TextOutput, window: TimeWindow = {}): { slices: number; bytes: number; anomalies: Map<string, number> } {
  const lockNames = namesOfLocks(run);
  const sites = new SiteNamer(run);
  const anomalies = new Map<string, number>();
  const from = window.fromNs ?? -Infinity;
  const to = window.toNs ?? Infinity;
  const inWindow = (start: number, end: number): boolean => end >= from && start <= to;
  let slices = 0;
  let bytes = 0;
  const write = (text: string): void => {
    out.write(text);
    bytes += text.length; // UTF-16 units: bytes for the ASCII a trace mostly is
  };
  const otherData = { schema: CHROME_TRACE_SCHEMA, run: runJson(run), ...(window.fromNs !== undefined || window.toNs !== undefined ? { window: windowJson(window) } : {}) };
  write(`{"otherData":${JSON.stringify(otherData)},\n"traceEvents":[\n`);
  let first = true;
  const emit = (event: TraceEvent): void => {
    write(`${first ? '' : ',\n'}${JSON.stringify(event)}`);
    first = false;
  };
  for (const event of metadata(run)) emit(event);
  run.join({
    acquisition(a: Acquisition) {
      const lock = formatAddress(a.lock);
      const name = lockNames.get(a.lock) ?? lock;
      const callsite = sites.site(a.requestCaller);
      if (a.wait !== null && a.wait > 0 && inWindow(a.requestTs, a.acquiredTs)) {
        const args: TraceEvent['args'] = { lock, callsite };
        if (a.blockerTid !== null) args.blockedByTid = a.blockerTid;
        emit({ ph: 'X', name, cat: 'wait', ts: a.requestTs / 1000, dur: a.wait / 1000, pid: a.pid, tid: a.tid, args });
        slices++;
      }
      if (a.hold !== null && inWindow(a.acquiredTs, a.releasedTs!)) {
        emit({ ph: 'X', name, cat: 'hold', ts: a.acquiredTs / 1000, dur: a.hold / 1000, pid: a.pid, tid: a.tid, args: { lock, callsite } });
        slices++;
      }
    },
    failed: () => undefined,
    open: () => undefined,
    anomaly: countAnomalies(anomalies),
  });
  write('\n]}\n');
  return { slices, bytes, anomalies };
}

/** A Chrome trace larger than this is hard to open in a browser tab (Perfetto UI, chrome://tracing). */
export const CHROME_TRACE_WARN_BYTES = 100e6;

/** What to say about a trace too big to open comfortably, or null. */
export function chromeTraceSizeWarning(trace: { bytes: number; slices: number }): string | null {
  if (trace.bytes <= CHROME_TRACE_WARN_BYTES) return null;
  return (
    `the trace is ${formatCount(Math.round(trace.bytes / 1e6))} MB (${formatCount(trace.slices)} slices): a browser tab (Perfetto UI, chrome://tracing) ` +
    'may fail to open it; export a part with --from and --to (seconds since the run start), or see the whole run with `mutex-analyze html`'
  );
}

/** A part of the run: ns since its start, either end open. */
export interface TimeWindow {
  fromNs?: number;
  toNs?: number;
}

function windowJson(w: TimeWindow): { fromSeconds: number | null; toSeconds: number | null } {
  return { fromSeconds: w.fromNs === undefined ? null : w.fromNs / 1e9, toSeconds: w.toNs === undefined ? null : w.toNs / 1e9 };
}

function namesOfLocks(run: RunFile): Map<number, string> {
  const names = new LockNameCollector();
  run.join({
    acquisition: (a) => names.acquired(a),
    failed: (f) => names.seen(f.lock, f.kind),
    open: (o) => names.seen(o.lock, o.lockKind),
    anomaly: () => undefined,
  });
  return names.names(run);
}

/** Process and thread names: the process is named after its main thread (tid = pid). */
function metadata(run: RunFile): TraceEvent[] {
  const threads = run.threads();
  const commOf = new Map(threads.map((t) => [t.tid, t.comm]));
  const events: TraceEvent[] = [];
  for (const pid of new Set(threads.map((t) => t.pid))) {
    const comm = commOf.get(pid) ?? (pid === run.meta.targetPid ? run.meta.targetComm : null);
    if (comm) events.push({ ph: 'M', name: 'process_name', pid, tid: pid, args: { name: comm } });
  }
  for (const t of threads) events.push({ ph: 'M', name: 'thread_name', pid: t.pid, tid: t.tid, args: { name: t.comm } });
  return events;
}
