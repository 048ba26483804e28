import { acquiredLock, isWaitOnly, Stage, type RawEvent } from '../core/events';
import { Joiner, type Acquisition, type FailedAttempt, type OpenItem } from '../core/join';

/**
 * The join (core/join.ts) plus where things happened, which it does not carry yet: each
 * acquisition's request stack and, for a contended one, where the blocking thread had acquired
 * the lock. It mirrors the join's pending requests (per thread) and holds (per lock) with their
 * sites, following the join's own outputs, so both always agree on who holds what.
 */

/** A raw event with its request's stack id (RunFile.events() gives one; hand-made events may not). */
export type SitedEvent = RawEvent & { stackId?: number | null };

/** Where a request was made: the lock call's return address and the request's stack id. */
export interface RequestSite {
  readonly caller: number;
  readonly stackId: number | null;
}

/** What the join does not tell of an acquisition. */
export interface AcquisitionSites {
  requestStackId: number | null;
  /** The blocker's acquisition call site (its requestCaller) when this request came; null when blockerTid is. */
  blockerCaller: number | null;
}

export interface SitedJoinSink {
  acquisition(a: Acquisition, sites: AcquisitionSites): void;
  failed(f: FailedAttempt, request: RequestSite): void;
  /** request: null for 'released-before-acquire-seen' (no request was seen). */
  open(o: OpenItem, request: RequestSite | null): void;
  anomaly(kind: string, e: RawEvent): void;
}

interface Site {
  tid: number;
  lock: number;
  caller: number;
  stackId: number | null;
  blockerCaller: number | null;
}

export class SitedJoiner {
  private readonly joiner: Joiner;
  private readonly requests = new Map<number, Site>(); // by tid, as the join's pending requests
  private readonly holds = new Map<number, Site>(); // by lock, as the join's holds
  private request: Site | undefined; // the request whose acquired event is being joined

  constructor(sink: SitedJoinSink) {
    this.joiner = new Joiner({
      acquisition: (a) => {
        // A wait-only acquisition completes at its acquired event; any other at the release that ends its hold.
        const site = isWaitOnly(a.func) ? this.request : this.holds.get(a.lock);
        if (!isWaitOnly(a.func)) this.holds.delete(a.lock);
        sink.acquisition(a, { requestStackId: site?.stackId ?? null, blockerCaller: a.blockerTid === null ? null : (site?.blockerCaller ?? null) });
      },
      failed: (f) => sink.failed(f, this.request!), // reported at the acquired event of its request
      open: (o) => {
        const site = o.kind === 'held-at-end' ? this.holds.get(o.lock) : o.kind === 'waiting-at-end' ? this.requests.get(o.tid) : undefined;
        sink.open(o, site ?? null);
      },
      anomaly: (kind, e) => sink.anomaly(kind, e),
    });
  }

  push(e: SitedEvent): void {
    if (e.stage === Stage.Request) this.onRequest(e);
    else if (e.stage === Stage.Acquired) this.onAcquired(e);
    this.joiner.push(e);
    this.request = undefined;
  }

  finish(): void {
    this.joiner.finish();
    this.requests.clear();
    this.holds.clear();
  }

  private onRequest(e: SitedEvent): void {
    // Kept for every request; only reported when the join names a blocker (it names none for a cond wait).
    const holder = this.holds.get(e.lock);
    const blockerCaller = holder !== undefined && holder.tid !== e.tid ? holder.caller : null;
    this.requests.set(e.tid, { tid: e.tid, lock: e.lock, caller: e.caller, stackId: e.stackId ?? null, blockerCaller });
  }

  private onAcquired(e: SitedEvent): void {
    const request = this.requests.get(e.tid);
    if (!request || request.lock !== e.lock) return; // the join reports it as an anomaly
    this.requests.delete(e.tid);
    this.request = request;
    if (!acquiredLock(e.func, e.ret) || isWaitOnly(e.func)) return;
    // A re-entry by the holder keeps the outermost acquisition's site.
    if (this.holds.get(e.lock)?.tid !== e.tid) this.holds.set(e.lock, request);
  }
}
