import type { JoinedItem } from './aggregate';
import type { JoinSink } from '../core/join';
import { lockIdentities, lockNames, SiteTally, type LockIdentity } from './identity';
import { classPrefix } from './lockkey';
import type { RunFile } from '../runfile/runfile';
import { SiteNamer } from './sitenames';

/**
 * Names locks the way `report` does: lockNames over the locks in the order the join first reports
 * them, each by the request sites its class is made of (analyzer/identity.ts). Feed it every joined item.
 */
export class LockNameCollector {
  private readonly sites = new Map<number, SiteTally>();
  private readonly prefixes = new Map<number, string>(); // by lock: mutex, rwlock, spin (its first item's kind)

  /** A failed attempt or an open item of this lock. */
  seen(lock: number, kind = ''): void {
    if (!this.sites.has(lock)) this.sites.set(lock, new SiteTally());
    if (kind && !this.prefixes.has(lock)) this.prefixes.set(lock, classPrefix(kind));
  }

  acquired(a: JoinedItem & { kind: string }): void {
    let tally = this.sites.get(a.lock);
    if (!tally) this.sites.set(a.lock, (tally = new SiteTally()));
    if (!this.prefixes.has(a.lock)) this.prefixes.set(a.lock, classPrefix(a.kind));
    tally.add(a.requestCaller, a.requestStackId);
  }

  names(run: RunFile): Map<number, string> {
    return lockNames(this.identities(run));
  }

  /** Each lock's identity (its lock class, for a heap mutex), in the order first seen. */
  identities(run: RunFile): Map<number, LockIdentity> {
    const uses = [...this.sites].map(([lock, tally]) => ({ lock, sites: tally.classSites(), prefix: this.prefixes.get(lock) }));
    return lockIdentities(new SiteNamer(run), uses);
  }

  /** A sink of the join that feeds this collector. */
  sink(): JoinSink {
    return { acquisition: (a) => this.acquired(a), failed: (f) => this.seen(f.lock, f.kind), open: (o) => this.seen(o.lock, o.lockKind) };
  }
}
