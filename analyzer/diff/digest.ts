import { analyze, type GroupStats } from '../aggregate';
import { isLockClass, rowIdentities, type LockIdentity } from '../identity';
import { runJson, runWarnings } from '../runinfo';
import type { RunFile } from '../../runfile/runfile';
import { SiteNamer } from '../sitenames';
import { quantile } from '../stats/quantiles';

/** Compared per lock and overall. Times in ns; the rates in ns of wait per second of the run's span. */
export const METRICS = ['waitP50', 'waitP99', 'holdP50', 'holdP99', 'waitPerSecond', 'contendedWaitPerSecond', 'contendedPct'] as const;
export type Metric = (typeof METRICS)[number];

/**
 * The metrics that get a verdict: the typical hold, the typical wait and the time lost waiting
 * for the lock while another thread held it (contended wait per second). The p99s and contended %
 * are shown with their change but not judged: a window of a few dozen acquisitions has no
 * meaningful p99, and contention is a cause whose cost the waits measure. All waits per second is
 * shown, not judged: on an uncontended lock it is the probes' residue and the thread's preemptions
 * inside lock calls, which vary from run to run by tens of % and are not the lock's cost.
 */
export const JUDGED_METRICS = ['holdP50', 'waitP50', 'contendedWaitPerSecond'] as const;
export type JudgedMetric = (typeof JUDGED_METRICS)[number];

/**
 * Per-window batch values: a run's span is cut into K equal time windows, K = ⌊n / 10⌋ for n samples
 * of the metric, at least 6 and at most 30; a run with fewer than 30 samples gives none. A window's
 * median needs 5 samples; a rate counts every window (one without waits waited 0 ns/s). A side needs
 * 6 window values in all for a test: a run of ~120 acquisitions is still judged, on 12 windows.
 */
export const WINDOWS = { max: 30, min: 6, samplesPerWindow: 10, minSamples: 5 } as const;

/** One lock (or all locks together) in one run. */
export interface LockDigest {
  acquisitions: number;
  contended: number;
  spanNs: number; // the run's, from its start to its last acquisition
  waitTotalNs: number;
  holdTotalNs: number;
  probeNsInsidePerHold: number; // the mean subtracted for the holders' own calls inside a hold
  values: Record<Metric, number | null>; // over the whole run; null without samples
  windows: Record<JudgedMetric, number[]>; // the metric per time window
}

export interface RunDigest {
  run: ReturnType<typeof runJson>;
  warnings: string[];
  overall: LockDigest;
  locks: Map<string, { identity: LockIdentity; digest: LockDigest }>; // by identity key; the instances of a lock class pooled
}

/** A group's samples and the time each was acquired, in parallel arrays. */
interface TimedSamples {
  waits: Float64Array;
  waitTimes: Float64Array;
  holds: Float64Array;
  holdTimes: Float64Array;
  contendedWaits: Float64Array;
  contendedWaitTimes: Float64Array;
}

/**
 * One pass over the run; keeps per lock only its values and window values, never its samples.
 * The heap mutexes of one lock class are one digest: their samples pooled, their counts summed
 * (which instance was first used first changes from run to run; the class does not).
 */
export function digestRun(run: RunFile): RunDigest {
  const { groups, anomalies } = analyze(run, { groupBy: 'lock', sampleTimes: true });
  const locks = [...groups.values()];
  const identities = rowIdentities(new SiteNamer(run), locks);
  const samples = locks.map(timedSamples);
  const all = concatenated(samples);
  const spanNs = lastTime(all);
  const members = new Map<string, { identity: LockIdentity; locks: GroupStats[]; samples: TimedSamples[] }>();
  locks.forEach((g, i) => {
    const id = identities.get(g.key)!;
    const identity = isLockClass(id) ? id : uniqueIn(members, id);
    let m = members.get(identity.key);
    if (!m) members.set(identity.key, (m = { identity, locks: [], samples: [] }));
    m.locks.push(g);
    m.samples.push(samples[i]);
  });
  const digests = new Map<string, { identity: LockIdentity; digest: LockDigest }>();
  for (const [key, m] of members) digests.set(key, { identity: m.identity, digest: digest(concatenated(m.samples), counts(m.locks), spanNs) });
  return { run: runJson(run), warnings: runWarnings(run, anomalies), overall: digest(all, counts(locks), spanNs), locks: digests };
}

interface Counts {
  acquisitions: number;
  contended: number;
  probeNsInside: number;
}

function counts(locks: GroupStats[]): Counts {
  return { acquisitions: sum(locks, 'acquisitions'), contended: sum(locks, 'contended'), probeNsInside: sum(locks, 'probeNsInside') };
}

function sum(locks: GroupStats[], count: keyof Counts): number {
  return locks.reduce((n, g) => n + g[count], 0);
}

/** Two locks of a run may share a name (statics called `lock` in two objects): numbered in first-seen order. */
function uniqueIn(taken: Map<string, unknown>, identity: LockIdentity): LockIdentity {
  let key = identity.key;
  let name = identity.name;
  for (let n = 2; taken.has(key); n++) {
    key = `${identity.key}#${n}`;
    name = `${identity.name}#${n}`;
  }
  return { ...identity, key, name };
}

function timedSamples(g: GroupStats): TimedSamples {
  if (!g.waitTimes || !g.holdTimes || !g.contendedWaits || !g.contendedWaitTimes) throw new Error('analyze() was not asked for sample times');
  return {
    waits: g.waits.values(),
    waitTimes: g.waitTimes.values(),
    holds: g.holds.values(),
    holdTimes: g.holdTimes.values(),
    contendedWaits: g.contendedWaits.values(),
    contendedWaitTimes: g.contendedWaitTimes.values(),
  };
}

function concatenated(parts: TimedSamples[]): TimedSamples {
  const join = (pick: (s: TimedSamples) => Float64Array): Float64Array => {
    const out = new Float64Array(parts.reduce((n, s) => n + pick(s).length, 0));
    let at = 0;
    for (const s of parts) {
      out.set(pick(s), at);
      at += pick(s).length;
    }
    return out;
  };
  return {
    waits: join((s) => s.waits),
    waitTimes: join((s) => s.waitTimes),
    holds: join((s) => s.holds),
    holdTimes: join((s) => s.holdTimes),
    contendedWaits: join((s) => s.contendedWaits),
    contendedWaitTimes: join((s) => s.contendedWaitTimes),
  };
}

/**
 * The run's span ends at its last acquisition, not at the end of recording: that comes later by
 * the time the recorder takes to detach its probes, when a launched target has already exited, and
 * would make a short run look quieter per second than a long one.
 */
function lastTime(s: TimedSamples): number {
  let last = 0;
  for (const t of s.waitTimes) last = Math.max(last, t);
  for (const t of s.holdTimes) last = Math.max(last, t);
  return last;
}

function total(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum;
}

function digest(s: TimedSamples, { acquisitions, contended, probeNsInside }: Counts, spanNs: number): LockDigest {
  const waits = s.waits.slice().sort();
  const holds = s.holds.slice().sort();
  const waitTotalNs = total(s.waits);
  const contendedWaitTotalNs = total(s.contendedWaits);
  const perSecond = (ns: number): number | null => (waits.length > 0 && spanNs > 0 ? ns / (spanNs / 1e9) : null);
  return {
    acquisitions,
    contended,
    spanNs,
    waitTotalNs,
    holdTotalNs: total(s.holds),
    probeNsInsidePerHold: holds.length > 0 ? probeNsInside / holds.length : 0,
    values: {
      waitP50: percentile(waits, 0.5),
      waitP99: percentile(waits, 0.99),
      holdP50: percentile(holds, 0.5),
      holdP99: percentile(holds, 0.99),
      waitPerSecond: perSecond(waitTotalNs),
      contendedWaitPerSecond: perSecond(contendedWaitTotalNs),
      contendedPct: acquisitions > 0 ? (100 * contended) / acquisitions : null,
    },
    windows: {
      holdP50: windowMedians(s.holds, s.holdTimes, spanNs),
      waitP50: windowMedians(s.waits, s.waitTimes, spanNs),
      contendedWaitPerSecond: windowRates(s.contendedWaits, s.contendedWaitTimes, s.waits.length, spanNs),
    },
  };
}

function percentile(sorted: Float64Array, q: number): number | null {
  return sorted.length > 0 ? quantile(sorted, q) : null;
}

export function windowCount(samples: number, spanNs: number): number {
  if (samples < WINDOWS.min * WINDOWS.minSamples || spanNs <= 0) return 0;
  return Math.min(WINDOWS.max, Math.max(WINDOWS.min, Math.floor(samples / WINDOWS.samplesPerWindow)));
}

/** The window of each sample: K equal slices of [0, span], the span's end in the last one. */
function windowIndexes(times: Float64Array, k: number, spanNs: number): Int32Array {
  const index = new Int32Array(times.length);
  for (let i = 0; i < times.length; i++) index[i] = Math.min(k - 1, Math.max(0, Math.floor((times[i] / spanNs) * k)));
  return index;
}

function windowMedians(values: Float64Array, times: Float64Array, spanNs: number): number[] {
  const k = windowCount(values.length, spanNs);
  if (k === 0) return [];
  const index = windowIndexes(times, k, spanNs);
  // Counting sort of the values by window, then each window's slice sorted on its own.
  const starts = new Int32Array(k + 1);
  for (const w of index) starts[w + 1]++;
  for (let w = 0; w < k; w++) starts[w + 1] += starts[w];
  const next = starts.slice(0, k);
  const byWindow = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) byWindow[next[index[i]]++] = values[i];
  const medians: number[] = [];
  for (let w = 0; w < k; w++) {
    if (starts[w + 1] - starts[w] >= WINDOWS.minSamples) medians.push(quantile(byWindow.subarray(starts[w], starts[w + 1]).sort(), 0.5));
  }
  return medians;
}

/** A rate per window: as many windows as `samples` waits give, uncontended ones adding 0 ns. */
function windowRates(values: Float64Array, times: Float64Array, samples: number, spanNs: number): number[] {
  const k = windowCount(samples, spanNs);
  if (k === 0) return [];
  const index = windowIndexes(times, k, spanNs);
  const totals = new Array<number>(k).fill(0);
  for (let i = 0; i < values.length; i++) totals[index[i]] += values[i];
  const windowSeconds = spanNs / k / 1e9;
  return totals.map((t) => t / windowSeconds);
}
