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

  /** Index of the last hold acquired at or before ts, or -1. */
  lastAcquiredBy(ts: number): number {
    let lo = this.head;
    let hi = this.acquired.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.acquired[mid] <= ts) {
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

  /** How far back holds are kept, ns. */
  get horizon(): number {
    return this.horizonNs;
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

/** At most this many finished read holds are kept per rwlock: a writer's request scans them. */
const MAX_KEPT_READS = 4096;

export interface Reader {
  tid: number;
  caller: number; // where it had acquired its read lock
  releasedTs: number; // Infinity: still held
}

/**
 * Finished read holds of each rwlock, for "which readers held it at time t?" (a writer's wait is
 * seen only when it ends). Read holds overlap, so every kept hold is a candidate: they are kept for
 * the horizon of the holds' history (twice the longest wait seen) and at most MAX_KEPT_READS per
 * lock; a time before what was forgotten cannot be answered ('unknown').
 */
export class ReadHoldHistory {
  private readonly locks = new Map<number, { acquired: number[]; released: number[]; tids: number[]; callers: number[]; forgottenUntil: number }>();

  add(lock: number, tid: number, acquiredTs: number, releasedTs: number, caller: number, horizonNs: number): void {
    let holds = this.locks.get(lock);
    if (!holds) this.locks.set(lock, (holds = { acquired: [], released: [], tids: [], callers: [], forgottenUntil: -Infinity }));
    holds.acquired.push(acquiredTs);
    holds.released.push(releasedTs);
    holds.tids.push(tid);
    holds.callers.push(caller);
    let drop = 0;
    while (drop < holds.released.length && (holds.released.length - drop > MAX_KEPT_READS || holds.released[drop] < releasedTs - horizonNs)) {
      holds.forgottenUntil = Math.max(holds.forgottenUntil, holds.released[drop]);
      drop++;
    }
    if (drop > 0) for (const column of [holds.acquired, holds.released, holds.tids, holds.callers]) column.splice(0, drop);
  }

  /** The other threads' read holds that covered ts, or 'unknown' when holds that might have were forgotten. */
  readersAt(lock: number, ts: number, self: number): Reader[] | 'unknown' {
    const holds = this.locks.get(lock);
    if (!holds) return [];
    const out: Reader[] = [];
    for (let i = 0; i < holds.acquired.length; i++) {
      if (holds.acquired[i] <= ts && holds.released[i] > ts && holds.tids[i] !== self) {
        out.push({ tid: holds.tids[i], caller: holds.callers[i], releasedTs: holds.released[i] });
      }
    }
    return out.length === 0 && holds.forgottenUntil > ts ? 'unknown' : out;
  }
}
