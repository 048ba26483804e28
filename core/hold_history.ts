/**
 * Finished holds of each lock, in time order, kept long enough to answer "who held this lock at
 * time t?" for a wait that is seen only when it ends (a lock call is one event at its return).
 * Holds of one lock never overlap, so the last hold acquired at or before t is the only candidate.
 *
 * Holds are kept for a horizon of twice the longest wait seen so far (at least MIN_HORIZON_NS, at
 * most MAX_HORIZON_NS) before the newest release, and at most MAX_KEPT per lock: a wait longer
 * than that reaches back past what is kept, and its holder is unknown.
 */

const MIN_HORIZON_NS = 50e6;
const MAX_HORIZON_NS = 10e9;
const MAX_KEPT = 1 << 20;

export type HolderAt = { tid: number; caller: number } | 'free' | 'unknown';

class LockHolds {
  readonly acquired: number[] = [];
  readonly released: number[] = [];
  readonly tids: number[] = [];
  readonly callers: number[] = [];
  head = 0; // entries before it are forgotten
  forgotAny = false;

  push(tid: number, acquiredTs: number, releasedTs: number, caller: number): void {
    this.acquired.push(acquiredTs);
    this.released.push(releasedTs);
    this.tids.push(tid);
    this.callers.push(caller);
  }

  forgetBefore(ts: number): void {
    const n = this.acquired.length;
    while (this.head < n && (this.released[this.head] < ts || n - this.head > MAX_KEPT)) {
      this.head++;
      this.forgotAny = true;
    }
    if (this.head > 1024 && this.head * 2 > n) this.compact();
  }

  /** Index of the last hold acquired at or before ts, or -1. A wait that just ended asks about
   * the newest holds: gallop back from the newest, then bisect what that bracketed. */
  lastAcquiredBy(ts: number): number {
    const acquired = this.acquired;
    let hi = acquired.length - 1;
    if (hi < this.head) return -1;
    if (acquired[hi] <= ts) return hi;
    // acquired[hi] > ts from here on; lo steps back 1, 2, 4, ... until acquired[lo] <= ts or past head
    let step = 1;
    let lo = hi - 1;
    while (lo >= this.head && acquired[lo] > ts) {
      hi = lo;
      step *= 2;
      lo = hi - step;
    }
    lo = Math.max(lo, this.head);
    hi -= 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (acquired[mid] <= ts) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  private compact(): void {
    for (const column of [this.acquired, this.released, this.tids, this.callers]) column.splice(0, this.head);
    this.head = 0;
  }
}

export class HoldHistory {
  private readonly locks = new Map<number, LockHolds>();
  private horizonNs = MIN_HORIZON_NS;

  add(lock: number, tid: number, acquiredTs: number, releasedTs: number, caller: number): void {
    let holds = this.locks.get(lock);
    if (!holds) this.locks.set(lock, (holds = new LockHolds()));
    holds.push(tid, acquiredTs, releasedTs, caller);
    holds.forgetBefore(releasedTs - this.horizonNs);
  }

  /** A wait of this length was seen: keep holds long enough for waits like it. */
  sawWait(ns: number): void {
    if (2 * ns > this.horizonNs) this.horizonNs = Math.min(MAX_HORIZON_NS, 2 * ns);
  }

  /** Who held the lock at ts among the finished holds: another thread, nobody, or not known. */
  holderAt(lock: number, ts: number, self: number): HolderAt {
    const holds = this.locks.get(lock);
    if (!holds) return 'free';
    const i = holds.lastAcquiredBy(ts);
    if (i < 0) return holds.forgotAny ? 'unknown' : 'free';
    if (holds.released[i] <= ts || holds.tids[i] === self) return 'free';
    return { tid: holds.tids[i], caller: holds.callers[i] };
  }
}

/** Finished read holds are kept this long, and at most this many per rwlock. */
const READS_HORIZON_NS = MAX_HORIZON_NS;
const MAX_KEPT_READS = 1 << 16;
/** Releases on different CPUs reach the ring buffer a little out of time order: how far back a scan looks past its time. */
const RELEASE_ORDER_SLACK_NS = 1e6;

export interface Reader {
  tid: number;
  caller: number; // where it had acquired its read lock
  releasedTs: number; // Infinity: still held
}

/**
 * Finished read holds of each rwlock, for "which readers held it at time t?" (a writer's wait is
 * seen only when it ends, by which time its readers have let go). Read holds overlap, so the
 * candidates are every hold released after t: kept in release order, they are scanned back from
 * the newest until the releases are well before t, so a query costs the read holds released
 * during the wait. Kept READS_HORIZON_NS after their release and at most MAX_KEPT_READS per
 * lock (not the mutexes' horizon of twice the longest wait so far: a writer's first long wait is
 * seen only after its readers' holds would have been forgotten); a time before what was forgotten
 * cannot be answered ('unknown').
 */
export class ReadHoldHistory {
  private readonly locks = new Map<number, LockHolds & { forgottenUntil: number }>();

  add(lock: number, tid: number, acquiredTs: number, releasedTs: number, caller: number): void {
    let holds = this.locks.get(lock);
    if (!holds) this.locks.set(lock, (holds = Object.assign(new LockHolds(), { forgottenUntil: -Infinity })));
    holds.push(tid, acquiredTs, releasedTs, caller);
    const n = holds.released.length;
    while (holds.head < n && (n - holds.head > MAX_KEPT_READS || holds.released[holds.head] < releasedTs - READS_HORIZON_NS)) {
      holds.forgottenUntil = Math.max(holds.forgottenUntil, holds.released[holds.head]);
      holds.head++;
    }
    if (holds.head > 1024 && holds.head * 2 > n) {
      for (const column of [holds.acquired, holds.released, holds.tids, holds.callers]) column.splice(0, holds.head);
      holds.head = 0;
    }
  }

  /** The other threads' read holds that covered ts, or 'unknown' when holds that might have were forgotten. */
  readersAt(lock: number, ts: number, self: number): Reader[] | 'unknown' {
    const holds = this.locks.get(lock);
    if (!holds) return [];
    const out: Reader[] = [];
    for (let i = holds.released.length - 1; i >= holds.head && holds.released[i] > ts - RELEASE_ORDER_SLACK_NS; i--) {
      if (holds.acquired[i] <= ts && holds.released[i] > ts && holds.tids[i] !== self) {
        out.push({ tid: holds.tids[i], caller: holds.callers[i], releasedTs: holds.released[i] });
      }
    }
    return out.length === 0 && holds.forgottenUntil > ts ? 'unknown' : out;
  }
}
