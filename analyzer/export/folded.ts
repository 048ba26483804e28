import { countAnomalies } from '../../core/join';
import { LockNameCollector } from '../locknames';
import type { TextOutput } from '../output';
import type { RunFile } from '../../runfile/runfile';
import { SiteNamer } from '../sitenames';

/** The outermost frame of a stack cut where its frame-pointer walk left the mapped code. */
export const TRUNCATED_ROOT = '[truncated]';

/**
 * Wait time by request stack in the folded format of flamegraph.pl and speedscope: one line per
 * stack, its frames outermost first joined by ';', a space, and the total wait in µs (an integer).
 * A request without a recorded stack is folded as its call site, then the lock's name as a leaf.
 */
export function writeFolded(run: RunFile, out: TextOutput): { lines: number; anomalies: Map<string, number> } {
  const byStack = new Map<number, Map<number, number>>(); // stack id -> call site -> wait (ns)
  const bySite = new Map<number, Map<number, number>>(); // call site -> lock -> wait (ns), for requests without a stack
  const lockNames = new LockNameCollector();
  const anomalies = new Map<string, number>();
  run.join({
    acquisition(a) {
      lockNames.acquired(a);
      if (a.wait === null || a.wait === 0) return;
      if (a.requestStackId === null) add(bySite, a.requestCaller, a.lock, a.wait);
      else add(byStack, a.requestStackId, a.requestCaller, a.wait);
    },
    failed: (f) => lockNames.seen(f.lock, f.kind),
    open: (o) => lockNames.seen(o.lock, o.lockKind),
    anomaly: countAnomalies(anomalies),
  });

  const sites = new SiteNamer(run);
  const names = lockNames.names(run);
  const folded = new Map<string, number>(); // different addresses can have the same names
  const fold = (frames: string[], ns: number): void => {
    const stack = frames.map((f) => f.replace(/[;\r\n]/g, '_')).join(';');
    folded.set(stack, (folded.get(stack) ?? 0) + ns);
  };
  for (const [stackId, byCaller] of byStack) {
    for (const [caller, ns] of byCaller) fold(sites.stack(stackId, caller, TRUNCATED_ROOT).reverse(), ns);
  }
  for (const [caller, byLock] of bySite) {
    for (const [lock, ns] of byLock) fold([sites.site(caller), names.get(lock)!], ns);
  }
  let lines = 0;
  for (const stack of [...folded.keys()].sort()) {
    const us = Math.round(folded.get(stack)! / 1000);
    if (us === 0) continue;
    out.write(`${stack} ${us}\n`);
    lines++;
  }
  return { lines, anomalies };
}

function add(totals: Map<number, Map<number, number>>, outer: number, inner: number, ns: number): void {
  let byInner = totals.get(outer);
  if (!byInner) totals.set(outer, (byInner = new Map()));
  byInner.set(inner, (byInner.get(inner) ?? 0) + ns);
}
