import { formatAddress } from '../../core/events';
import { countAnomalies, type Acquisition } from '../../core/join';
import { LockNameCollector } from '../locknames';
import type { TextOutput } from '../output';
import type { RunFile } from '../../runfile/runfile';
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
 * slices that overlap it (whole, not cut at its edges). One pass over the events: the lock names
 * (`report`'s, which need the whole run) and the acquisitions to write are collected together,
 * the acquisitions in compact columns, and written once the names are known.
 */
export function writeChromeTrace(run: RunFile, out: TextOutput, window: TimeWindow = {}): { slices: number; bytes: number; anomalies: Map<string, number> } {
  const names = new LockNameCollector();
  const kept = new KeptAcquisitions();
  const anomalies = new Map<string, number>();
  const from = window.fromNs ?? -Infinity;
  const to = window.toNs ?? Infinity;
  const inWindow = (start: number, end: number): boolean => end >= from && start <= to;
  run.join({
    acquisition(a: Acquisition) {
      names.acquired(a);
      const waited = a.wait !== null && a.wait > 0 && inWindow(a.requestTs, a.acquiredTs);
      const held = a.hold !== null && inWindow(a.acquiredTs, a.releasedTs!);
      if (waited || held) kept.push(a, waited, held);
    },
    failed: (f) => names.seen(f.lock, f.kind),
    open: (o) => names.seen(o.lock, o.lockKind),
    anomaly: countAnomalies(anomalies),
  });
  const lockNames = names.names(run);
  const sites = new SiteNamer(run);

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
    if (event.ph === 'X') slices++;
  };
  for (const event of metadata(run)) emit(event);
  kept.forEach((k) => {
    const lock = formatAddress(k.lock);
    const name = lockNames.get(k.lock) ?? lock;
    const callsite = sites.site(k.requestCaller);
    if (k.waited) {
      const args: TraceEvent['args'] = { lock, callsite };
      if (k.blockerTid !== null) args.blockedByTid = k.blockerTid;
      emit({ ph: 'X', name, cat: 'wait', ts: k.requestTs / 1000, dur: k.wait / 1000, pid: k.pid, tid: k.tid, args });
    }
    if (k.held) emit({ ph: 'X', name, cat: 'hold', ts: k.acquiredTs / 1000, dur: k.hold / 1000, pid: k.pid, tid: k.tid, args: { lock, callsite } });
  });
  write('\n]}\n');
  return { slices, bytes, anomalies };
}

/** What a slice of the trace needs of one acquisition. */
interface KeptAcquisition {
  lock: number;
  requestCaller: number;
  requestTs: number;
  acquiredTs: number;
  wait: number; // as the join gives it: net of the probes' cost unless raw
  hold: number;
  pid: number;
  tid: number;
  blockerTid: number | null;
  waited: boolean;
  held: boolean;
}

const TIMES = 4; // requestTs, acquiredTs, wait, hold
const IDS = 5; // lock index, call site index, pid, tid, blocker tid (-1: none)

/**
 * The acquisitions to write, in the order the join completed them: 32 bytes of times and 21 of ids
 * and flags each (a run's 3.4 M acquisitions in ~180 MB), locks and callers interned.
 */
class KeptAcquisitions {
  private times = new Float64Array(TIMES * 1024);
  private ids = new Int32Array(IDS * 1024);
  private flags = new Uint8Array(1024);
  private count = 0;
  private readonly locks: number[] = [];
  private readonly lockIndex = new Map<number, number>();
  private readonly callers: number[] = [];
  private readonly callerIndex = new Map<number, number>();

  push(a: Acquisition, waited: boolean, held: boolean): void {
    if (this.count === this.flags.length) this.grow();
    const i = this.count++;
    this.times.set([a.requestTs, a.acquiredTs, a.wait ?? 0, a.hold ?? 0], TIMES * i);
    this.ids.set([intern(a.lock, this.locks, this.lockIndex), intern(a.requestCaller, this.callers, this.callerIndex), a.pid, a.tid, a.blockerTid ?? -1], IDS * i);
    this.flags[i] = (waited ? 1 : 0) | (held ? 2 : 0);
  }

  forEach(visit: (k: KeptAcquisition) => void): void {
    for (let i = 0; i < this.count; i++) {
      const t = TIMES * i;
      const d = IDS * i;
      visit({
        requestTs: this.times[t],
        acquiredTs: this.times[t + 1],
        wait: this.times[t + 2],
        hold: this.times[t + 3],
        lock: this.locks[this.ids[d]],
        requestCaller: this.callers[this.ids[d + 1]],
        pid: this.ids[d + 2],
        tid: this.ids[d + 3],
        blockerTid: this.ids[d + 4] === -1 ? null : this.ids[d + 4],
        waited: (this.flags[i] & 1) !== 0,
        held: (this.flags[i] & 2) !== 0,
      });
    }
  }

  private grow(): void {
    const grown = <T extends Float64Array | Int32Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const next = make(old.length * 2);
      next.set(old);
      return next;
    };
    this.times = grown(this.times, (n) => new Float64Array(n));
    this.ids = grown(this.ids, (n) => new Int32Array(n));
    this.flags = grown(this.flags, (n) => new Uint8Array(n));
  }
}

function intern(value: number, values: number[], index: Map<number, number>): number {
  let i = index.get(value);
  if (i === undefined) {
    i = values.length;
    values.push(value);
    index.set(value, i);
  }
  return i;
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
