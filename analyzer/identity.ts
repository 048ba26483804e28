import { createHash } from 'node:crypto';

import { formatAddress } from '../core/events';
import { classPrefix, rowLock, rwMode } from './lockkey';
import type { SiteNamer } from './sitenames';

/**
 * A lock's identity, which survives address-space randomisation and restarts, so runs can be
 * compared:
 * - 'object': the mutex lives in a mapped object's data (a global or static): its symbol or
 *   object+offset, or a kernel global's symbol+offset;
 * - 'stack': a heap mutex, by its lock class: the call stack it is acquired from most often (the
 *   requests' stack, symbolized as function+offset or object+offset, cut where the frame-pointer
 *   walk left the mapped code, analyzer/stacks.ts). Not its first acquisition's: which call a
 *   recording sees first depends on when it attached to a running program;
 * - 'callsite': a heap mutex whose acquisitions have no stack (a run recorded with --no-stacks):
 *   its lock class is the call site it is acquired from most often;
 * - 'address': none of these is known; matching across runs by address is weak (ASLR moves it).
 * Several heap mutexes of one class (one per connection, say) share its identity: `diff` pools
 * them; `report` numbers them for display only (lockNames), in the order they were first seen.
 */
export interface LockIdentity {
  key: string; // what runs are matched by
  name: string; // readable: the object's name, `mutex@SITE` (SITE: the innermost call site), or the address
  strength: 'object' | 'stack' | 'callsite' | 'address';
  frames?: string[]; // 'stack': the frames of the stack that names it, innermost (the lock function) first, then SITE
}

/** Where a lock is acquired from: its call site and stack (0 and null when none). */
export interface RequestSite {
  caller: number;
  stackId: number | null;
}

/** A lock and the request sites its class is made of, most frequent first (none: no acquisition). */
export interface ClassUse {
  lock: number;
  sites: RequestSite[];
  prefix?: string; // what a class is called after: mutex (the default), rwlock, spin, cond (analyzer/lockkey.ts)
  mode?: 'R' | 'W' | null; // one side of an rwlock: its identity's key and name end in `:R` or `:W`
}

interface SiteCount {
  site: RequestSite;
  n: number;
}

const NO_STACK = -(2 ** 40); // outside the s32 range of stack ids

/** Sites with a smaller share of a lock's acquisitions are never part of its class. */
const MIN_CLASS_SITE_SHARE = 0.005;

/**
 * Counts the request sites a lock is acquired from: its class is the set of its main sites. A
 * site is its stack, or its call site when it has no stack. Sorted by how often each is used, the
 * main ones are those before the largest drop (the largest ratio of one count to the next, the
 * last counting against MIN_CLASS_SITE_SHARE): [40 %, 20 %, 10 %, 10 %, 10 %, 10 %, 0.1 %] has six,
 * [33 %, 33 %, 33 %, 1 %] three, [99 %, 1 %] one. Not the single most frequent site: a
 * connection's mutex taken about equally often from three places would be named by whichever won
 * by a few calls in this recording, and its twin in the next recording by another; nor a fixed
 * share, which a program's fixed call mix (a site used once per transaction of ten calls: 10 %)
 * straddles.
 */
export class SiteTally {
  private readonly entries: SiteCount[] = []; // in the order first seen
  private readonly byStack = new Map<number, Map<number, SiteCount>>(); // stack id (NO_STACK: none), then call site
  private last: SiteCount | null = null; // a lock is mostly taken again where it was last

  /** A site is its stack with its call site: a stack taken past the call site (a lock function's
   * entry skips it; a futex call's walk through a C library without frame pointers has only its
   * innermost frame) is the same for different call sites. */
  add(caller: number, stackId: number | null, n = 1): void {
    const last = this.last;
    if (last && last.site.caller === caller && last.site.stackId === stackId) {
      last.n += n;
      return;
    }
    const stackKey = stackId ?? NO_STACK;
    let callers = this.byStack.get(stackKey);
    if (!callers) this.byStack.set(stackKey, (callers = new Map()));
    let entry = callers.get(caller);
    if (entry) entry.n += n;
    else {
      callers.set(caller, (entry = { site: { caller, stackId }, n }));
      this.entries.push(entry);
    }
    this.last = entry;
  }

  /** A tally of this one's sites and another's. */
  plus(other: SiteTally): SiteTally {
    const out = new SiteTally();
    for (const tally of [this, other]) for (const { site, n } of tally.entries) out.add(site.caller, site.stackId, n);
    return out;
  }

  /** The main sites of the lock (its class), most frequent first (on a tie, the one seen first). */
  classSites(): RequestSite[] {
    const entries = this.entries;
    const total = entries.reduce((n, e) => n + e.n, 0);
    const floor = MIN_CLASS_SITE_SHARE * total;
    const sorted = entries.map((e, order) => ({ ...e, order })).sort((a, b) => b.n - a.n || a.order - b.order);
    let cut = 1;
    let largestDrop = 0;
    for (let i = 0; i < sorted.length && sorted[i].n >= floor; i++) {
      const drop = sorted[i].n / Math.max(floor, i + 1 < sorted.length ? sorted[i + 1].n : 0);
      if (drop > largestDrop) [largestDrop, cut] = [drop, i + 1];
    }
    return sorted.slice(0, cut).map((e) => e.site);
  }
}

/** A group of one lock's acquisitions (analyzer/aggregate.ts), as the sites of its class. */
export function classUse(g: { key: number; sites: SiteTally; kind: string }): ClassUse {
  return { lock: rowLock(g.key), sites: g.sites.classSites(), prefix: classPrefix(g.kind), mode: rwMode(g.kind) };
}

export function isLockClass(identity: LockIdentity): boolean {
  return identity.strength === 'stack' || identity.strength === 'callsite';
}

export function lockIdentity(sites: SiteNamer, use: ClassUse): LockIdentity {
  const id = classIdentity(sites, use);
  if (!use.mode) return id;
  const side = `:${use.mode}`;
  return { ...id, key: `${id.key}${side}`, name: `${id.name}${side}` };
}

function classIdentity(sites: SiteNamer, use: ClassUse): LockIdentity {
  const object = sites.named(use.lock);
  if (object) return { key: object, name: object, strength: 'object' };
  const parts = use.sites.map((site) => siteIdentity(sites, site, use.prefix ?? 'mutex')).filter((p): p is LockIdentity => p !== null);
  if (parts.length === 0) return { key: formatAddress(use.lock), name: formatAddress(use.lock), strength: 'address' };
  // In an order of their own, not by frequency (which may differ between recordings): the class
  // is named by the first of its sites, with how many more it has.
  parts.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const name = parts.length > 1 ? `${parts[0].name} (+${parts.length - 1})` : parts[0].name;
  const strength = parts.some((p) => p.strength === 'stack') ? 'stack' : 'callsite';
  const frames = parts.find((p) => p.frames)?.frames;
  return { key: parts.map((p) => p.key).join(' | '), name, strength, ...(frames ? { frames } : {}) };
}

/** One request site as (part of) a class: `mutex@SITE` (or rwlock@, spin@, cond@), keyed by its whole stack when it has one. */
function siteIdentity(sites: SiteNamer, { caller, stackId }: RequestSite, prefix: string): LockIdentity | null {
  const site = caller ? sites.named(caller) : null;
  if (!site) return null;
  const name = `${prefix}@${site}`;
  if (stackId === null) return { key: name, name, strength: 'callsite' };
  // The frames as names, not addresses: stable across ASLR and restarts. Where the walk was cut
  // does not count: the garbage past it must not make two classes of one.
  const frames = sites.frames(stackId, caller).names;
  return { key: `${name} ${frames.join(';')}`, name, strength: 'stack', frames };
}

export function lockIdentities(sites: SiteNamer, locks: ClassUse[]): Map<number, LockIdentity> {
  return new Map(locks.map((use) => [use.lock, lockIdentity(sites, use)]));
}

/**
 * The identities of lock rows (analyzer/aggregate.ts groups by lock), by row key. An rwlock's two
 * sides are one lock: its class is made of the sites of both, and each side's identity is the
 * lock's with `:R` or `:W` after it.
 */
export function rowIdentities(sites: SiteNamer, groups: Iterable<{ key: number; sites: SiteTally; kind: string }>): Map<number, LockIdentity> {
  const rows = [...groups];
  const rwlocks = new Map<number, SiteTally>();
  for (const g of rows) {
    if (!rwMode(g.kind)) continue;
    const lock = rowLock(g.key);
    rwlocks.set(lock, (rwlocks.get(lock) ?? new SiteTally()).plus(g.sites));
  }
  return new Map(
    rows.map((g) => {
      const use = classUse(g);
      if (use.mode) use.sites = rwlocks.get(use.lock)!.classSites();
      return [g.key, lockIdentity(sites, use)];
    }),
  );
}

/**
 * What each identity is shown as: its name, unless other classes of these share it (stacks through
 * one innermost call site: a lock wrapper, like pigz's possess(), that every lock goes through).
 * Then a class with a stack is named by the first frame of its stack that tells it apart from the
 * others there, the wrapper's caller: `mutex@compress_thread+0x80` rather than `mutex@possess+0x12`.
 * Where no frame tells it apart (a stack that is a prefix of another, the same stack in two
 * classes, or two classes whose first distinct frames have one name), it is named by the
 * wrapper's caller all the same, and `~` and 6 hex digits of a hash of its frames follow
 * (`mutex@get_pool+0x1f~3fa9c1`), the same for the same stack in every run and output. A class
 * without a stack keeps the bare name.
 */
export function identityLabels(identities: Iterable<LockIdentity>): Map<string, string> {
  const bySite = new Map<string, Map<string, LockIdentity>>(); // `mutex@SITE` -> key -> identity
  for (const id of identities) {
    const site = id.name.replace(/:[RW]$/, '').replace(/ \(\+\d+\)$/, ''); // a class of several sites by its first
    let keys = bySite.get(site);
    if (!keys) bySite.set(site, (keys = new Map()));
    keys.set(id.key, id);
  }
  const proposed = new Map<string, { id: LockIdentity; label: string; shared: boolean }>(); // by key
  for (const keys of bySite.values()) {
    const group = [...keys.values()];
    for (const id of group) {
      const label = group.length > 1 && id.strength === 'stack' ? throughWrapper(id, group) : id.name;
      proposed.set(id.key, { id, label, shared: group.filter((o) => o.name === id.name).length > 1 });
    }
  }
  const uses = new Map<string, number>();
  for (const p of proposed.values()) uses.set(p.label, (uses.get(p.label) ?? 0) + 1);
  const labels = new Map<string, string>();
  for (const [key, { id, label, shared }] of proposed) {
    // Still not unique (in its group, or against another class's name): its stack's hash too.
    const hashed = id.strength === 'stack' && uses.get(label)! > 1 && (shared || label !== id.name);
    labels.set(key, hashed ? `${label}~${shortHash(key)}` : label);
  }
  return labels;
}

/** `mutex@FRAME`: FRAME the first frame out from the call site at which no other class of the group has this stack. */
function throughWrapper(id: LockIdentity, group: LockIdentity[]): string {
  const frames = id.frames;
  const prefix = id.name.slice(0, id.name.indexOf('@') + 1); // mutex@, rwlock@, ...
  if (!frames || frames.length < 3 || !prefix || !id.name.startsWith(`${prefix}${frames[1]}`)) return id.name;
  const others = group.filter((o) => o !== id && o.frames).map((o) => o.frames!);
  const through = (depth: number): string => `${prefix}${frames[depth]}${id.name.slice(`${prefix}${frames[1]}`.length)}`;
  for (let depth = 2; depth < frames.length; depth++) {
    const shared = others.some((o) => o.length > depth && frames.slice(0, depth + 1).every((f, i) => o[i] === f));
    if (!shared) return through(depth);
  }
  // No frame tells it apart (another class has this very stack, or a longer one): still named
  // where the wrapper was called from, which says more than the wrapper; the hash tells it apart.
  return through(2);
}

/**
 * Lock wrappers: call sites that several lock classes with stacks share as their innermost site
 * (identityLabels names those classes through them), each with how many frames of the stack all
 * its classes share (the lock function, the site, and the wrapper's own callers, if several
 * levels): the frame after those is where a request's stack leaves the wrapper.
 */
export function lockWrappers(identities: Iterable<LockIdentity>): Map<string, number> {
  const bySite = new Map<string, Map<string, string[]>>(); // site -> class key -> frames
  for (const id of identities) {
    if (id.strength !== 'stack' || !id.frames || id.frames.length < 2) continue;
    let classes = bySite.get(id.frames[1]);
    if (!classes) bySite.set(id.frames[1], (classes = new Map()));
    classes.set(id.key, id.frames);
  }
  const wrappers = new Map<string, number>();
  for (const [site, classes] of bySite) {
    if (classes.size < 2) continue;
    const all = [...classes.values()];
    let shared = 2;
    while (all.every((frames) => frames.length > shared && frames[shared] === all[0][shared])) shared++;
    wrappers.set(site, shared);
  }
  return wrappers;
}

/** Names of one run's locks, given in the order they were first seen: a class's second instance is `LABEL#2`, and so on. */
export function lockNames(identities: Map<number, LockIdentity>): Map<number, string> {
  const labels = identityLabels(identities.values());
  const instances = new Map<string, number>();
  const names = new Map<number, string>();
  for (const [lock, id] of identities) {
    const label = labels.get(id.key)!;
    const n = isLockClass(id) ? (instances.get(id.key) ?? 0) + 1 : 1;
    instances.set(id.key, n);
    names.set(lock, n > 1 ? `${label}#${n}` : label);
  }
  return names;
}

function shortHash(key: string): string {
  return createHash('sha1').update(key).digest('hex').slice(0, 6);
}
