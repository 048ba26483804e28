import type { Acquisition, JoinSink } from '../../core/join';

/** Histogram buckets on a log time axis: BUCKETS_PER_DECADE per power of ten from 1 ns; bucket k holds [10^(k/B), 10^((k+1)/B)) ns. */
export const BUCKETS_PER_DECADE = 4;
const BUCKETS = 12 * BUCKETS_PER_DECADE; // 1 ns .. 1000 s

export function logBucket(ns: number): number {
  if (ns < 1) return 0;
  return Math.min(BUCKETS - 1, Math.floor(Math.log10(ns) * BUCKETS_PER_DECADE));
}

/** What one thread, call site or stack did with one lock. Times in ns. */
export interface Share {
  acquisitions: number;
  contended: number;
  waitNs: number;
  contendedWaitNs: number;
  holdNs: number;
}

export interface LockDetail {
  waitHistogram: number[]; // counts per logBucket
  holdHistogram: number[];
  threads: Map<number, Share>; // by tid
  stacks: Map<number | null, Map<number, Share>>; // by stack id, then call site
}

/** Per lock: wait and hold histograms on a log axis, and what each thread and (stack, call site) contributed. */
export class LockDetailSink implements JoinSink {
  readonly locks = new Map<number, LockDetail>();
  private lastLock = NaN; // the previous acquisition's lock and detail: often the same
  private lastDetail: LockDetail | undefined;

  acquisition(a: Acquisition): void {
    let d = a.lock === this.lastLock ? this.lastDetail : this.locks.get(a.lock);
    if (!d) {
      d = { waitHistogram: new Array(BUCKETS).fill(0), holdHistogram: new Array(BUCKETS).fill(0), threads: new Map(), stacks: new Map() };
      this.locks.set(a.lock, d);
    }
    this.lastLock = a.lock;
    this.lastDetail = d;
    if (a.wait !== null) d.waitHistogram[logBucket(a.wait)]++;
    if (a.hold !== null) d.holdHistogram[logBucket(a.hold)]++;
    addShare(shareOf(d.threads, a.tid), a);
    addShare(this.siteShare(d, a), a);
  }

  // the previous acquisition's site and its share: a lock is mostly taken again where it was last
  private lastSite: { detail: LockDetail; stackId: number | null; caller: number; share: Share } | null = null;

  private siteShare(d: LockDetail, a: Acquisition): Share {
    const last = this.lastSite;
    if (last && last.detail === d && last.stackId === a.requestStackId && last.caller === a.requestCaller) return last.share;
    let byCaller = d.stacks.get(a.requestStackId);
    if (!byCaller) d.stacks.set(a.requestStackId, (byCaller = new Map()));
    const share = shareOf(byCaller, a.requestCaller);
    this.lastSite = { detail: d, stackId: a.requestStackId, caller: a.requestCaller, share };
    return share;
  }
}

export function emptyShare(): Share {
  return { acquisitions: 0, contended: 0, waitNs: 0, contendedWaitNs: 0, holdNs: 0 };
}

export function shareOf<K>(shares: Map<K, Share>, key: K): Share {
  let s = shares.get(key);
  if (!s) shares.set(key, (s = emptyShare()));
  return s;
}

export function addShare(s: Share, a: Acquisition): void {
  s.acquisitions++;
  if (a.contended) s.contended++;
  if (a.wait !== null) {
    s.waitNs += a.wait;
    if (a.contended) s.contendedWaitNs += a.wait;
  }
  if (a.hold !== null) s.holdNs += a.hold;
}
