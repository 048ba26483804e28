import { createHash } from 'node:crypto';

import { formatAddress } from '../core/events';
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
}

/** Where a lock is acquired from: its call site and stack (0 and null when none). */
export interface RequestSite {
  caller: number;
  stackId: number | null;
}

/** A lock and the request site that names its class (call site 0 and stack null when it has none). */
export interface ClassUse extends RequestSite {
  lock: number;
}

/**
 * Counts the request sites a lock is acquired from; its class is named by the most frequent one
 * (on a tie, the one seen first). A site is its stack, or its call site when it has no stack.
 */
export class SiteTally {
  private readonly counts = new Map<number, { site: RequestSite; n: number }>();

  add(caller: number, stackId: number | null): void {
    const key = stackId ?? -1 - caller; // stack ids are >= 0; callers then map below -1
    const entry = this.counts.get(key);
    if (entry) entry.n++;
    else this.counts.set(key, { site: { caller, stackId }, n: 1 });
  }

  mostFrequent(): RequestSite {
    let best: { site: RequestSite; n: number } | null = null;
    for (const entry of this.counts.values()) if (!best || entry.n > best.n) best = entry;
    return best?.site ?? { caller: 0, stackId: null };
  }
}

/** A group of one lock's acquisitions (analyzer/aggregate.ts), as the site that names its class. */
export function classUse(g: { key: number; sites: SiteTally }): ClassUse {
  return { lock: g.key, ...g.sites.mostFrequent() };
}

export function isLockClass(identity: LockIdentity): boolean {
  return identity.strength === 'stack' || identity.strength === 'callsite';
}

export function lockIdentity(sites: SiteNamer, { lock, caller, stackId }: ClassUse): LockIdentity {
  const object = sites.named(lock);
  if (object) return { key: object, name: object, strength: 'object' };
  const site = caller ? sites.named(caller) : null;
  if (!site) return { key: formatAddress(lock), name: formatAddress(lock), strength: 'address' };
  const name = `mutex@${site}`;
  if (stackId === null) return { key: name, name, strength: 'callsite' };
  // The frames as names, not addresses: stable across ASLR and restarts. Where the walk was cut
  // does not count: the garbage past it must not make two classes of one.
  return { key: `${name} ${sites.frames(stackId, caller).names.join(';')}`, name, strength: 'stack' };
}

export function lockIdentities(sites: SiteNamer, locks: ClassUse[]): Map<number, LockIdentity> {
  return new Map(locks.map((use) => [use.lock, lockIdentity(sites, use)]));
}

/**
 * What each identity is shown as: its name, unless another class of these shares it (two stacks
 * through one innermost call site): then a stack class's name gets `~` and 6 hex digits of a hash
 * of its frames (`mutex@rw_pr_wrlock+0xf~3fa9c1`), the same for the same stack in every run and
 * output. A class without a stack keeps the bare name.
 */
export function identityLabels(identities: Iterable<LockIdentity>): Map<string, string> {
  const byName = new Map<string, Map<string, LockIdentity>>(); // name -> key -> identity
  for (const id of identities) {
    let keys = byName.get(id.name);
    if (!keys) byName.set(id.name, (keys = new Map()));
    keys.set(id.key, id);
  }
  const labels = new Map<string, string>();
  for (const [name, keys] of byName) {
    for (const [key, id] of keys) labels.set(key, keys.size > 1 && id.strength === 'stack' ? `${name}~${shortHash(key)}` : name);
  }
  return labels;
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
