import { AddressNamer, lockIdentities } from './identity';
import type { RunFile } from './runfile';

/**
 * Names locks the way `report` does: lockIdentities over the locks in the order the join first
 * reports them, each with its first acquisition's call site. Feed it every joined item.
 */
export class LockNameCollector {
  private readonly firstCaller = new Map<number, number | null>(); // null: no acquisition yet

  /** A failed attempt or an open item of this lock. */
  seen(lock: number): void {
    if (!this.firstCaller.has(lock)) this.firstCaller.set(lock, null);
  }

  acquired(lock: number, requestCaller: number): void {
    if ((this.firstCaller.get(lock) ?? null) === null) this.firstCaller.set(lock, requestCaller);
  }

  names(run: RunFile): Map<number, string> {
    const locks = [...this.firstCaller].map(([lock, firstCaller]) => ({ lock, firstCaller: firstCaller ?? 0 }));
    const ids = lockIdentities(new AddressNamer(run), locks);
    return new Map([...ids].map(([lock, id]) => [lock, id.id]));
  }
}
