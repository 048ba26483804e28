import type { Acquisition, JoinSink } from '../../core/join';

/** Time bins over the run: every thread's holds and waits, downsampled, whatever the run's size. */
export const TIMELINE_BINS = 500;
/** Threads drawn, the busiest (hold + wait) first. */
export const TIMELINE_THREADS = 64;

export interface TimelineData {
  binNs: number; // the width of a bin
  bins: number;
  /** Per thread: the share of each bin it spent holding and waiting for locks, in ‰ (one lock held for the whole bin is 1000; two nested, 2000). */
  threads: { tid: number; comm: string; hold: number[]; wait: number[] }[];
  threadsLeftOut: number;
  contendedWaits: number[]; // contended acquisitions per bin (by when they were acquired)
  contendedWaitNs: number[]; // their waits, per bin
}

/**
 * Holds and waits of each thread in TIMELINE_BINS equal bins over the run: each interval adds its
 * overlap with every bin it crosses, so a 10 M-event run is a few hundred numbers per thread.
 */
export class TimelineSink implements JoinSink {
  private readonly binNs: number;
  private readonly perThread = new Map<number, { hold: Float64Array; wait: Float64Array; total: number }>();
  private readonly contended = new Float64Array(TIMELINE_BINS);
  private readonly contendedNs = new Float64Array(TIMELINE_BINS);

  constructor(durationNs: number) {
    this.binNs = Math.max(1, Math.ceil(durationNs / TIMELINE_BINS));
  }

  acquisition(a: Acquisition): void {
    let t = this.perThread.get(a.tid);
    if (!t) this.perThread.set(a.tid, (t = { hold: new Float64Array(TIMELINE_BINS), wait: new Float64Array(TIMELINE_BINS), total: 0 }));
    if (a.wait !== null && a.wait > 0) {
      this.spread(t.wait, a.requestTs, a.acquiredTs);
      t.total += a.wait;
    }
    if (a.hold !== null && a.releasedTs !== null) {
      this.spread(t.hold, a.acquiredTs, a.releasedTs);
      t.total += a.hold;
    }
    if (a.contended && a.wait !== null) {
      const bin = this.bin(a.acquiredTs);
      this.contended[bin]++;
      this.contendedNs[bin] += a.wait;
    }
  }

  result(threadNames: Map<number, string>): TimelineData {
    const busiest = [...this.perThread].sort((x, y) => y[1].total - x[1].total || x[0] - y[0]);
    const shown = busiest.slice(0, TIMELINE_THREADS).sort((x, y) => x[0] - y[0]);
    const permille = (ns: Float64Array): number[] => Array.from(ns, (v) => Math.round((1000 * v) / this.binNs));
    return {
      binNs: this.binNs,
      bins: TIMELINE_BINS,
      threads: shown.map(([tid, t]) => ({ tid, comm: threadNames.get(tid) ?? '?', hold: permille(t.hold), wait: permille(t.wait) })),
      threadsLeftOut: busiest.length - shown.length,
      contendedWaits: Array.from(this.contended),
      contendedWaitNs: Array.from(this.contendedNs, Math.round),
    };
  }

  private bin(ts: number): number {
    return Math.min(TIMELINE_BINS - 1, Math.max(0, Math.floor(ts / this.binNs)));
  }

  /** Adds [from, to) to the bins it overlaps. */
  private spread(bins: Float64Array, from: number, to: number): void {
    const first = this.bin(from);
    const last = this.bin(to);
    if (first === last) {
      bins[first] += to - from;
      return;
    }
    bins[first] += (first + 1) * this.binNs - from;
    for (let b = first + 1; b < last; b++) bins[b] += this.binNs;
    bins[last] += to - last * this.binNs;
  }
}
