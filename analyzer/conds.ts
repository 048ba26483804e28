import { COND, ETIMEDOUT, errnoName } from '../core/events';
import type { CondOpen, CondSignal, CondWait, JoinSink } from '../core/join';
import { lockIdentities, lockNames, SiteTally } from './identity';
import type { RunFile } from '../runfile/runfile';
import { SiteNamer } from './sitenames';
import { SampleVec, type SampleSummary } from './stats/quantiles';

/**
 * Condition variables as rows of their own (kind pthread_cond): the time threads waited on each
 * (pthread_cond_wait/timedwait/clockwait, entry to return), how many of those waits timed out,
 * the signals and broadcasts it got (and how many found no waiter), and the mutexes it was used
 * with. A sink of the join (core/join.ts condWait, condSignal, condOpen), grouped per cond, per
 * thread or per call site of the wait (or of the signal).
 */

export type CondBy = 'lock' | 'thread' | 'callsite';

export interface CondStats {
  key: number; // cond address, tid or call site
  waits: SampleVec; // every cond wait that returned, net of the cond probes' cost
  timeouts: number; // waits that returned ETIMEDOUT
  failed: Map<number, number>; // other non-zero returns (EINVAL, EPERM, ...)
  slept: number; // waits in which the thread slept
  signals: number;
  broadcasts: number;
  wakesWithoutWaiters: number; // signals and broadcasts that found no waiter (glibc's count at the call)
  mutexes: Map<number, number>; // mutex -> waits with it
  waitingAtEnd: number; // waits still in progress when the recording stopped
  waitSites: SiteTally; // where it was waited on: its class (analyzer/identity.ts)
  wakeSites: SiteTally; // where it was signalled: its class when it was never waited on
}

export function newCondStats(key: number): CondStats {
  return {
    key, waits: new SampleVec(), timeouts: 0, failed: new Map(), slept: 0, signals: 0, broadcasts: 0, wakesWithoutWaiters: 0,
    mutexes: new Map(), waitingAtEnd: 0, waitSites: new SiteTally(), wakeSites: new SiteTally(),
  };
}

/** Collects the join's cond items into groups; `cond` keeps one cond only. */
export class CondTally implements JoinSink {
  readonly groups = new Map<number, CondStats>();

  constructor(readonly by: CondBy, private readonly cond?: number) {}

  private group(cond: number, tid: number, caller: number): CondStats | null {
    if (this.cond !== undefined && cond !== this.cond) return null;
    const key = this.by === 'lock' ? cond : this.by === 'thread' ? tid : caller;
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = newCondStats(key)));
    return g;
  }

  condWait(w: CondWait): void {
    const g = this.group(w.cond, w.tid, w.caller);
    if (!g) return;
    g.waits.push(w.wait);
    if (w.ret === ETIMEDOUT) g.timeouts++;
    else if (w.ret !== 0) g.failed.set(w.ret, (g.failed.get(w.ret) ?? 0) + 1);
    if (w.slept) g.slept++;
    g.mutexes.set(w.mutex, (g.mutexes.get(w.mutex) ?? 0) + 1);
    g.waitSites.add(w.caller, w.stackId);
  }

  condSignal(s: CondSignal): void {
    const g = this.group(s.cond, s.tid, s.caller);
    if (!g) return;
    if (s.broadcast) g.broadcasts++;
    else g.signals++;
    if (s.waiters === 0) g.wakesWithoutWaiters++;
    g.wakeSites.add(s.caller, null);
  }

  condOpen(o: CondOpen): void {
    const g = this.group(o.cond, o.tid, o.caller);
    if (!g) return;
    g.waitingAtEnd++;
    g.waitSites.add(o.caller, o.stackId);
  }
}

/** One row: a cond, a thread's cond waits, or a call site's. Times in ns. */
export interface CondRow {
  key: string; // cond address (hex), tid, or call site address (hex)
  name: string; // the cond's identity (its symbol, cond@SITE, or its address), the thread's comm, or the call site's name
  kind: typeof COND;
  waits: number;
  timeouts: number;
  failed: Record<string, number>; // by errno name
  slept: number;
  signals: number;
  broadcasts: number;
  wakesWithoutWaiters: number;
  wait: SampleSummary | null;
  mutexes: { lock: string; name: string; waits: number }[]; // the most used first (at most 3)
  mutexCount: number;
  open: { waitingAtEnd: number };
}

const TOP_MUTEXES = 3;

/** Each cond's name, as locks are named: its symbol, or its class `cond@SITE` (numbered #2... in first-seen order). */
export function condNames(run: RunFile, groups: Map<number, CondStats>): Map<number, string> {
  const uses = [...groups.values()].map((g) => ({ lock: g.key, sites: (g.waits.length + g.waitingAtEnd > 0 ? g.waitSites : g.wakeSites).classSites(), prefix: 'cond' }));
  return lockNames(lockIdentities(new SiteNamer(run), uses));
}

export function condRow(g: CondStats, label: { key: string; name: string }, mutexName: (lock: number) => { key: string; name: string }): CondRow {
  const failed: Record<string, number> = {};
  for (const [ret, n] of g.failed) failed[errnoName(ret)] = n;
  const mutexes = [...g.mutexes].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return {
    key: label.key,
    name: label.name,
    kind: COND,
    waits: g.waits.length,
    timeouts: g.timeouts,
    failed,
    slept: g.slept,
    signals: g.signals,
    broadcasts: g.broadcasts,
    wakesWithoutWaiters: g.wakesWithoutWaiters,
    wait: g.waits.summary(),
    mutexes: mutexes.slice(0, TOP_MUTEXES).map(([lock, waits]) => {
      const m = mutexName(lock);
      return { lock: m.key, name: m.name, waits };
    }),
    mutexCount: mutexes.length,
    open: { waitingAtEnd: g.waitingAtEnd },
  };
}
