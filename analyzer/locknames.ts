import type { JoinedItem } from './aggregate';
import { lockIdentities, lockNames, SiteTally } from './identity';
import type { RunFile } from './runfile';
import { SiteNamer } from './sitenames';

/**
 * Names locks the way `report` does: lockNames over the locks in the order the join first reports
 * them, each by the request sites its class is made of (analyzer/identity.ts). Feed it every joined item.
 */
export class LockNameCollector {
  private readonly sites = new Map<number, SiteTally>();

  /** A failed attempt or an open item of this lock. */
  seen(lock: number): void {
    if (!this.sites.has(lock)) this.sites.set(lock, new SiteTally());
  }

  acquired(a: JoinedItem): void {
    let tally = this.sites.get(a.lock);
    if (!tally) this.sites.set(a.lock, (tally = new SiteTally()));
    tally.add(a.requestCaller, a.requestStackId);
  }

  names(run: RunFile): Map<number, string> {
    const uses = [...this.sites].map(([lock, tally]) => ({ lock, sites: tally.classSites() }));
    return lockNames(lockIdentities(new SiteNamer(run), uses));
  }
}
