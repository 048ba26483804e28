import { formatAddress } from '../core/events';
import { countAnomalies, type Acquisition, type JoinSink } from '../core/join';
import { LockNameCollector } from './locknames';
import type { RunFile } from '../runfile/runfile';
import { renderAs, type Csv, type Format } from './render';
import { runJson, runWarnings, textPreamble } from './runinfo';
import { SiteNamer } from './sitenames';
import { formatCount, formatDuration } from './stats/units';

/**
 * Who blocked whom, and where: every contended wait is credited to the thread that held the lock
 * when the wait began (the join's blockerTid) and to the call site where that thread had acquired
 * it. Rows are (holder call site, waiter call site) pairs with the wait they caused.
 */

export const BLOCKERS_SCHEMA = 'mutex-analyze.blockers/1';

/** How many of the most frequent threads and locks a row lists. */
const TOP_MEMBERS = 3;

export interface ThreadCount {
  tid: number;
  comm: string;
  waits: number;
}

export interface LockCount {
  lock: string; // address (hex)
  name: string;
  waits: number;
}

export interface BlockerRow {
  holderSite: string; // where the holding thread had acquired the lock (its lock call's return address, named)
  holderCaller: string; // that address (hex)
  waiterSite: string; // where the waiting thread asked for it
  waiterCaller: string;
  waits: number;
  wait: { total: number; mean: number; max: number }; // ns
  holders: ThreadCount[]; // the most frequent first
  holderThreads: number; // distinct holding threads in all
  waiters: ThreadCount[];
  waiterThreads: number;
  locks: LockCount[];
  lockCount: number;
}

export interface BlockersReport {
  schema: typeof BLOCKERS_SCHEMA;
  run: ReturnType<typeof runJson>;
  warnings: string[];
  lock: string | null; // only this lock (hex), or all
  contended: { waits: number; totalNs: number }; // every contended wait, attributed or not
  /** Contended waits with no known holder: the kernel's contention tracepoints see waits, never
   * holds; a wait reaching back past the holds the join keeps (core/hold_history.ts) lost its holder. */
  unattributed: { waits: number; totalNs: number };
  pairs: number; // (holder site, waiter site) pairs in all
  rows: BlockerRow[]; // the top ones by total wait
}

interface PairStats {
  holderCaller: number;
  waiterCaller: number;
  waits: number;
  total: number;
  max: number;
  holders: Map<number, number>; // tid -> waits
  waiters: Map<number, number>;
  locks: Map<number, number>;
}

/** Credits each contended wait to the holder's call site and the waiter's: a sink of the join. */
export class BlockerTally implements JoinSink {
  readonly pairs = new Map<number, Map<number, PairStats>>(); // holder caller -> waiter caller -> stats
  readonly contended = { waits: 0, totalNs: 0 };
  readonly unattributed = { waits: 0, totalNs: 0 };

  constructor(private readonly lock?: number) {}

  acquisition(a: Acquisition): void {
    if (!a.contended || a.wait === null || (this.lock !== undefined && a.lock !== this.lock)) return;
    this.contended.waits++;
    this.contended.totalNs += a.wait;
    if (a.blockerTid === null) {
      this.unattributed.waits++;
      this.unattributed.totalNs += a.wait;
      return;
    }
    const p = pairOf(this.pairs, a.blockerCaller ?? 0, a.requestCaller);
    p.waits++;
    p.total += a.wait;
    p.max = Math.max(p.max, a.wait);
    increment(p.holders, a.blockerTid);
    increment(p.waiters, a.tid);
    increment(p.locks, a.lock);
  }
}

export function buildBlockers(run: RunFile, opts: { top: number; lock?: number }): BlockersReport {
  const tally = new BlockerTally(opts.lock);
  const lockNames = new LockNameCollector();
  const anomalies = new Map<string, number>();
  run.join([
    tally,
    {
      acquisition: (a) => lockNames.acquired(a),
      failed: (f) => lockNames.seen(f.lock, f.kind),
      open: (o) => lockNames.seen(o.lock, o.lockKind),
      anomaly: countAnomalies(anomalies),
    },
  ]);
  return blockersReport(run, tally, { names: lockNames.names(run), anomalies, top: opts.top, lock: opts.lock });
}

/** The report of a tally, its locks named as `report` names them. */
export function blockersReport(
  run: RunFile,
  tally: BlockerTally,
  opts: { names: Map<number, string>; anomalies: Map<string, number>; top: number; lock?: number },
): BlockersReport {
  const all = [...tally.pairs.values()].flatMap((byWaiter) => [...byWaiter.values()]);
  all.sort((a, b) => b.total - a.total || b.waits - a.waits);
  const sites = new SiteNamer(run);
  const names = opts.names;
  const threads = (counts: Map<number, number>): ThreadCount[] =>
    mostFrequent(counts).map(([tid, waits]) => ({ tid, comm: run.threadNames.get(tid) ?? '?', waits }));
  return {
    schema: BLOCKERS_SCHEMA,
    run: runJson(run),
    warnings: runWarnings(run, opts.anomalies),
    lock: opts.lock === undefined ? null : formatAddress(opts.lock),
    contended: tally.contended,
    unattributed: tally.unattributed,
    pairs: all.length,
    rows: all.slice(0, opts.top).map((p) => ({
      holderSite: sites.site(p.holderCaller),
      holderCaller: formatAddress(p.holderCaller),
      waiterSite: sites.site(p.waiterCaller),
      waiterCaller: formatAddress(p.waiterCaller),
      waits: p.waits,
      wait: { total: p.total, mean: p.total / p.waits, max: p.max },
      holders: threads(p.holders),
      holderThreads: p.holders.size,
      waiters: threads(p.waiters),
      waiterThreads: p.waiters.size,
      locks: mostFrequent(p.locks).map(([lock, waits]) => ({ lock: formatAddress(lock), name: names.get(lock) ?? formatAddress(lock), waits })),
      lockCount: p.locks.size,
    })),
  };
}

function pairOf(pairs: Map<number, Map<number, PairStats>>, holderCaller: number, waiterCaller: number): PairStats {
  let byWaiter = pairs.get(holderCaller);
  if (!byWaiter) pairs.set(holderCaller, (byWaiter = new Map()));
  let p = byWaiter.get(waiterCaller);
  if (!p) {
    p = { holderCaller, waiterCaller, waits: 0, total: 0, max: 0, holders: new Map(), waiters: new Map(), locks: new Map() };
    byWaiter.set(waiterCaller, p);
  }
  return p;
}

function increment(counts: Map<number, number>, key: number): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function mostFrequent(counts: Map<number, number>): [number, number][] {
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, TOP_MEMBERS);
}

// ---- rendering ----

export const renderBlockers = (report: BlockersReport, format: Format): string => renderAs(format, report, { text: renderText, csv: csvOf });

function renderText(r: BlockersReport): string {
  const contention = r.run.mode === 'contention';
  const lines = textPreamble(
    r.warnings,
    r.run,
    contention
      ? 'Each contended futex wait is credited to the lock\'s owner its memory named at the wait (glibc mutex, rwlock writer, PI futex), else to the thread whose wake ended it, at the call site of that thread\'s wake of the word (README: "Contention mode").'
      : 'Each contended wait is credited to the thread holding the lock when the wait began, at the call site where it had acquired it (README: "report --blockers").',
  );
  const scope = r.lock ? ` of lock ${r.lock}` : '';
  if (r.contended.waits === 0) {
    lines.push(`No contended waits${scope} in this run: no thread asked for a lock while another held it.`);
    return `${lines.join('\n')}\n`;
  }
  lines.push(`${formatCount(r.contended.waits)} contended waits${scope}, ${formatDuration(r.contended.totalNs)} in all.`);
  if (r.rows.length > 0) {
    lines.push(`Top ${r.rows.length} of ${r.pairs} (holder call site, waiter call site) pairs by the wait they caused:`);
    for (const row of r.rows) {
      lines.push(
        `  ${formatDuration(row.wait.total)} in ${formatCount(row.waits)} wait${row.waits === 1 ? '' : 's'} ` +
          `(mean ${formatDuration(row.wait.mean)}, max ${formatDuration(row.wait.max)}): ` +
          `${threadList(row.waiters, row.waiterThreads)} waited in ${row.waiterSite}, ` +
          `blocked by ${threadList(row.holders, row.holderThreads)} ${contention ? 'waking it at' : 'holding since'} ${row.holderSite}; ${lockList(row.locks, row.lockCount)}`,
      );
    }
  }
  if (r.unattributed.waits > 0 && contention) {
    lines.push(
      `${formatCount(r.unattributed.waits)} contended waits (${formatDuration(r.unattributed.totalNs)}) have no known holder: the word's memory named no owner ` +
        '(not a glibc mutex or rwlock writer) and no other thread woke it during the wait (a timeout, a signal, a wake before the recording, or the kernel contention tracepoints, which see no holds).',
    );
  } else if (r.unattributed.waits > 0) {
    lines.push(
      `${formatCount(r.unattributed.waits)} contended waits (${formatDuration(r.unattributed.totalNs)}) have no known holder: ` +
        'the probes saw them wait (the mutex held by another thread at the call\'s entry, or the thread asleep in the call) while no recorded hold covered their start ' +
        '(the holder had the lock but its own return probe had not yet recorded it, or held it since before the recording), the kernel contention tracepoints ' +
        'see no holds, and a wait that began before the holds the analysis keeps has lost its holder.',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** "tid 4243 (flusher)", or "tids 4243 (flusher) ×4, 4244 (flusher) ×1 and 2 more". */
function threadList(threads: ThreadCount[], distinct: number): string {
  if (distinct === 1) return `tid ${threads[0].tid} (${threads[0].comm})`;
  return `tids ${threads.map((t) => `${t.tid} (${t.comm}) ×${t.waits}`).join(', ')}${more(distinct, threads.length)}`;
}

function lockList(locks: LockCount[], distinct: number): string {
  if (distinct === 1) return `lock ${locks[0].name}`;
  return `locks ${locks.map((l) => `${l.name} ×${l.waits}`).join(', ')}${more(distinct, locks.length)}`;
}

function more(distinct: number, listed: number): string {
  return distinct > listed ? ` and ${distinct - listed} more` : '';
}

function csvOf(r: BlockersReport): Csv {
  const header = [
    'wait_total_ns', 'waits', 'wait_mean_ns', 'wait_max_ns', 'waiter_site', 'waiter_caller', 'top_waiter_tid', 'waiter_threads',
    'holder_site', 'holder_caller', 'top_holder_tid', 'holder_threads', 'top_lock', 'locks',
  ];
  const rows = r.rows.map((row) => [
    row.wait.total, row.waits, Math.round(row.wait.mean), row.wait.max, row.waiterSite, row.waiterCaller, row.waiters[0].tid,
    row.waiterThreads, row.holderSite, row.holderCaller, row.holders[0].tid, row.holderThreads, row.locks[0].lock, row.lockCount,
  ]);
  return { header, rows };
}
