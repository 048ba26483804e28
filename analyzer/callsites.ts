import { addAcquisition, addFailed, addOpen, newGroup, type Analysis, type GroupStats } from './aggregate';
import type { RunFile } from './runfile';
import { Joiner } from '../core/join';

/** 'callsite': one group per request call site (the lock call's return address); 'stack': per whole request stack. */
export type SiteGrouping = 'callsite' | 'stack';

/** What a 'stack' group key stands for: one stack id serves every call site of a function (RunFile.requestStack). */
export interface StackSite {
  stackId: number | null;
  caller: number;
}

export interface SiteAnalysis extends Analysis {
  /** With 'stack': each group key's stack and call site. */
  stacks: Map<number, StackSite>;
}

/**
 * One pass over the run's events: joins them and groups the acquisitions, failed attempts and
 * open items by where they were requested. Releases without a seen acquisition have no request
 * site and are left out.
 */
export function analyzeSites(run: RunFile, opts: { by: SiteGrouping; lock?: number }): SiteAnalysis {
  const groups = new Map<number, GroupStats>();
  const anomalies = new Map<string, number>();
  const stacks = new StackSites();
  const groupOf = (lock: number, caller: number, stackId: number | null): GroupStats | null => {
    if (opts.lock !== undefined && lock !== opts.lock) return null;
    const key = opts.by === 'callsite' ? caller : stacks.key(stackId, caller);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = newGroup(key, false)));
    return g;
  };
  const joiner = new Joiner({
    acquisition(a) {
      const g = groupOf(a.lock, a.requestCaller, a.requestStackId);
      if (g) addAcquisition(g, a);
    },
    failed(f) {
      const g = groupOf(f.lock, f.requestCaller, f.requestStackId);
      if (g) addFailed(g, f);
    },
    open(o) {
      // a release without a seen acquisition has no request, so no call site
      const g = o.kind !== 'released-before-acquire-seen' && groupOf(o.lock, o.requestCaller, o.requestStackId);
      if (g) addOpen(g, o);
    },
    anomaly(kind) {
      anomalies.set(kind, (anomalies.get(kind) ?? 0) + 1);
    },
  });
  for (const e of run.events()) joiner.push(e);
  joiner.finish();
  return { groups, anomalies, stacks: stacks.all() };
}

/** Numbers each (stack id, call site) pair seen. */
class StackSites {
  private readonly keys = new Map<number | null, Map<number, number>>(); // stack id -> caller -> key
  private readonly sites = new Map<number, StackSite>();

  key(stackId: number | null, caller: number): number {
    let byCaller = this.keys.get(stackId);
    if (!byCaller) this.keys.set(stackId, (byCaller = new Map()));
    let key = byCaller.get(caller);
    if (key === undefined) {
      key = this.sites.size;
      byCaller.set(caller, key);
      this.sites.set(key, { stackId, caller });
    }
    return key;
  }

  all(): Map<number, StackSite> {
    return this.sites;
  }
}
