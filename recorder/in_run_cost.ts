import { quantileSorted } from 'simple-statistics';

import { Func, MutexFlag, Stage } from '../core/events';
import type { InRunCost } from '../core/probe_cost';
import type { EventColumns } from '../runfile/columns';

/**
 * What the probes cost in the target itself, second by second, measured by its own uncontended
 * lock calls: a pthread_mutex_lock whose mutex was free at the entry and that did not sleep takes
 * ~15 ns untraced, so its recorded wait is the probes' (core/probe_cost.ts, InRunCost). The
 * calibration at the start measures one moment in the recorder's own process; a trap costs more
 * while the target's threads trap at once and as the machine's load changes (its cost drifted by
 * up to ~25 % from the calibration within 1 s recordings here).
 */
export class InRunCostMeter {
  private readonly waits: number[][] = []; // per span: the first SAMPLES_PER_SPAN raw waits of uncontended calls
  private calls = 0;

  observe(c: EventColumns, count: number): void {
    for (let i = 0; i < count; i++) {
      if (c.stage[i] !== Stage.Acquired || c.func[i] !== Func.PthreadMutexLock || c.ret[i] !== 0) continue;
      const flags = c.flags[i];
      if (!(flags & MutexFlag.KindKnown) || flags & (MutexFlag.HeldAtRequest | MutexFlag.Blocked)) continue;
      const wait = c.ts[i] - c.requestTs[i];
      if (!(wait >= 0) || c.ts[i] < 0) continue; // NaN: no request time; before the window
      const span = Math.floor(c.ts[i] / SPAN_NS);
      const samples = this.waits[span] ?? (this.waits[span] = []);
      if (samples.length < SAMPLES_PER_SPAN) samples.push(wait);
      this.calls++;
    }
  }

  /** The medians, less the calls' own bare time (half a bare pair, as the calibration's); null without enough calls. */
  result(bareNsPerPair: number): InRunCost | null {
    const spans = Array.from(this.waits, (w) => w ?? []);
    const all = spans.flat().sort((a, b) => a - b);
    if (all.length < MIN_SAMPLES) return null;
    const net = (sorted: number[]): number => Math.max(0, quantileSorted(sorted, 0.5) - bareNsPerPair / 2);
    return {
      spanNs: SPAN_NS,
      waitNs: net(all),
      perSpanWaitNs: spans.map((w) => (w.length >= MIN_SAMPLES ? net(w.sort((a, b) => a - b)) : null)),
      calls: this.calls,
    };
  }
}

const SPAN_NS = 1e9;
const SAMPLES_PER_SPAN = 4096; // a median of the span's first ones: enough, and bounded memory
const MIN_SAMPLES = 200;
