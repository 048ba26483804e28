import type { JoinedItem } from './aggregate';
import { lockIdentities, lockNames, type FirstUse } from './identity';
import type { RunFile } from './runfile';
import { SiteNamer } from './sitenames';

/**
 * Names locks the way `report` does: lockNames over the locks in the order the join first reports
 * them, each with its first acquisition's request. Feed it every joined item.
 */
export class LockNameCollector {
  private readonly firstUse = new Map<number, FirstUse | null>(); // null: no acquisition yet

  /** A failed attempt or an open item of this lock. */
  seen(lock: number): void {
    if (!this.firstUse.has(lock)) this.firstUse.set(lock, null);
  }

  acquired(a: JoinedItem): void {
    if ((this.firstUse.get(a.lock) ?? null) === null) {
      this.firstUse.set(a.lock, { lock: a.lock, firstCaller: a.requestCaller, firstStackId: a.requestStackId });
    }
  }

  names(run: RunFile): Map<number, string> {
    const uses = [...this.firstUse].map(([lock, use]) => use ?? { lock, firstCaller: 0, firstStackId: null });
    return lockNames(lockIdentities(new SiteNamer(run), uses));
  }
}
