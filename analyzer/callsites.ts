import { kindFamily, type KindFamily } from '../core/events';
import { mergeGroup, newGroup, type Analysis, type GroupStats, type Grouping } from './aggregate';
import type { SiteNamer } from './sitenames';

/** 'callsite': one group per request call site (the lock call's return address); 'stack': per whole request stack. */
export type SiteGrouping = 'callsite' | 'stack';

/** What a 'stack' group key stands for: one stack id serves every call site of a function (analyzer/stacks.ts). */
export interface StackSite {
  stackId: number | null;
  caller: number;
}

export interface SiteAnalysis extends Analysis {
  /** With 'stack': each group key's stack and call site. */
  stacks?: Map<number, StackSite>;
  /** With 'callsite': the names of rows that are not a call site's own (a wrapper's callers). */
  siteNames?: Map<number, string>;
}

/**
 * Groups acquisitions, failed attempts and open items by where they were requested: by (stack,
 * call site) pair during the pass; `foldCallSites` makes call-site rows of them after it, when the
 * lock wrappers are known. Releases without a seen acquisition have no request site and are left
 * out. `stacks` names the keys.
 */
export function siteGrouping(opts: { lock?: number; kinds?: ReadonlySet<KindFamily> }): Grouping & { stacks: () => Map<number, StackSite> } {
  const stacks = new StackSites();
  return {
    keyOf: (item, what, kind) => {
      if (what === 'held-at-start') return null; // no request, so no call site
      if (opts.lock !== undefined && item.lock !== opts.lock) return null;
      if (opts.kinds && !opts.kinds.has(kindFamily(kind))) return null;
      return stacks.key(item.requestStackId, item.requestCaller);
    },
    stacks: () => stacks.all(),
  };
}

/**
 * Call-site rows from (stack, call site) groups: each at its call site, unless that site is a lock
 * wrapper (analyzer/identity.ts lockWrappers: several lock classes are taken through it): then a
 * request with a stack counts at the frame where its stack leaves the wrapper, the wrapper's
 * caller, named `CALLER (via SITE)`. Requests without a stack, or whose stack ends inside the
 * wrapper, stay at its call site.
 */
export function foldCallSites(
  sites: SiteNamer,
  groups: Map<number, GroupStats>,
  stacks: Map<number, StackSite>,
  wrappers: Map<string, number>,
): { groups: Map<number, GroupStats>; names: Map<number, string> } {
  const folded = new Map<number, GroupStats>();
  const names = new Map<number, string>();
  for (const [key, g] of groups) {
    const { stackId, caller } = stacks.get(key)!;
    const { at, name } = callSiteOf(sites, wrappers, stackId, caller);
    if (at !== caller) names.set(at, name);
    let row = folded.get(at);
    if (!row) folded.set(at, (row = newGroup(at, false)));
    mergeGroup(row, g);
  }
  return { groups: folded, names };
}

/** Where a request counts as a call site (foldCallSites): its call site, or where its stack leaves a lock wrapper. */
export function callSiteOf(sites: SiteNamer, wrappers: Map<string, number>, stackId: number | null, caller: number): { at: number; name: string } {
  const site = sites.site(caller);
  const shared = wrappers.get(site);
  if (shared !== undefined && stackId !== null) {
    const frames = sites.frames(stackId, caller);
    if (frames.addresses.length > shared) return { at: frames.addresses[shared], name: `${frames.names[shared]} (via ${site})` };
  }
  return { at: caller, name: site };
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
