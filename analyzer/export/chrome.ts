import { formatAddress } from '../../core/events';
import { type Acquisition } from '../../core/join';
import { LockNameCollector } from '../locknames';
import type { TextOutput } from '../output';
import type { RunFile } from '../runfile';
import { runJson } from '../runinfo';
import { SiteNamer } from '../sitenames';

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
 * its release, named by the lock; thread and process names as metadata. Two passes over the
 * events: the first names the locks as `report` does, the second writes the slices as the join
 * completes them.
 */
export function writeChromeTrace(run: RunFile, out: TextOutput): { slices: number; anomalies: Map<string, number> } {
  const lockNames = namesOfLocks(run);
  const sites = new SiteNamer(run);
  const anomalies = new Map<string, number>();
  let slices = 0;
  out.write(`{"otherData":${JSON.stringify({ schema: CHROME_TRACE_SCHEMA, run: runJson(run) })},\n"traceEvents":[\n`);
  let first = true;
  const emit = (event: TraceEvent): void => {
    out.write(`${first ? '' : ',\n'}${JSON.stringify(event)}`);
    first = false;
  };
  for (const event of metadata(run)) emit(event);
  run.join({
    acquisition(a: Acquisition) {
      const lock = formatAddress(a.lock);
      const name = lockNames.get(a.lock) ?? lock;
      const callsite = sites.site(a.requestCaller);
      if (a.wait !== null && a.wait > 0) {
        const args: TraceEvent['args'] = { lock, callsite };
        if (a.blockerTid !== null) args.blockedByTid = a.blockerTid;
        emit({ ph: 'X', name, cat: 'wait', ts: a.requestTs / 1000, dur: a.wait / 1000, pid: a.pid, tid: a.tid, args });
        slices++;
      }
      if (a.hold !== null) {
        emit({ ph: 'X', name, cat: 'hold', ts: a.acquiredTs / 1000, dur: a.hold / 1000, pid: a.pid, tid: a.tid, args: { lock, callsite } });
        slices++;
      }
    },
    failed: () => undefined,
    open: () => undefined,
    anomaly: (kind) => anomalies.set(kind, (anomalies.get(kind) ?? 0) + 1),
  });
  out.write('\n]}\n');
  return { slices, anomalies };
}

function namesOfLocks(run: RunFile): Map<number, string> {
  const names = new LockNameCollector();
  run.join({
    acquisition: (a) => names.acquired(a),
    failed: (f) => names.seen(f.lock),
    open: (o) => names.seen(o.lock),
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
