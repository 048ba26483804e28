import { groupJoined, type Analysis, type Grouping } from './aggregate';
import type { RunFile } from './runfile';

/** 'callsite': one group per request call site (the lock call's return address); 'stack': per whole request stack. */
export type SiteGrouping = 'callsite' | 'stack';

/** What a 'stack' group key stands for: one stack id serves every call site of a function (analyzer/stacks.ts). */
export interface StackSite {
  stackId: number | null;
  caller: number;
}

export interface SiteAnalysis extends Analysis {
  /** With 'stack': each group key's stack and call site. */
  stacks: Map<number, StackSite>;
}

/**
 * Groups acquisitions, failed attempts and open items by where they were requested. Releases
 * without a seen acquisition have no request site and are left out. `stacks` names the keys of
 * the 'stack' grouping.
 */
export function siteGrouping(opts: { by: SiteGrouping; lock?: number }): Grouping & { stacks: () => Map<number, StackSite> } {
  const stacks = new StackSites();
  return {
    keyOf: (item, what) => {
      if (what === 'held-at-start') return null; // no request, so no call site
      if (opts.lock !== undefined && item.lock !== opts.lock) return null;
      return opts.by === 'callsite' ? item.requestCaller : stacks.key(item.requestStackId, item.requestCaller);
    },
    stacks: () => stacks.all(),
  };
}

/** One pass over the run's events: joins them and groups what they make by call site or stack. */
export function analyzeSites(run: RunFile, opts: { by: SiteGrouping; lock?: number }): SiteAnalysis {
  const grouping = siteGrouping(opts);
  const { groups, anomalies } = groupJoined(run, [grouping]);
  return { groups: groups[0], anomalies, stacks: grouping.stacks() };
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
