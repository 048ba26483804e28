import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { Func, MutexFlag, Stage, type RawEvent } from '../core/events';
import { inRunScale, type ProbeCost } from '../core/probe_cost';
import { newEventColumns } from '../runfile/columns';
import { InRunCostMeter } from '../recorder/in_run_cost';
import { join } from './lib/tools';

/** What the target's own uncontended lock calls say the probes cost (core/probe_cost.ts, InRunCost). */

const NORMAL = MutexFlag.KindKnown;

function calls(rows: { ts: number; wait: number; flags?: number; func?: number; ret?: number }[]): ReturnType<typeof newEventColumns> & { count: number } {
  const c = newEventColumns(rows.length);
  rows.forEach((r, i) => {
    c.ts[i] = r.ts;
    c.requestTs[i] = r.ts - r.wait;
    c.stage[i] = Stage.Acquired;
    c.func[i] = r.func ?? Func.PthreadMutexLock;
    c.flags[i] = r.flags ?? NORMAL;
    c.ret[i] = r.ret ?? 0;
  });
  return Object.assign(c, { count: rows.length });
}

const calibrated: ProbeCost = { waitNs: 5000, holdNs: 4000, callNs: 6000, pairs: 2000, waitIqrNs: [4900, 5100], holdIqrNs: [3900, 4100], bareNsPerPair: 20 };

describe('in-run probe cost', () => {
  test("the median wait of the target's uncontended pthread_mutex_lock calls, per second and over the run, less half a bare pair", () => {
    const meter = new InRunCostMeter();
    const rows = [
      ...Array.from({ length: 300 }, (_, i) => ({ ts: 1e6 + i * 1e5, wait: 5010 + (i % 3) })), // second 0: ~5 µs
      ...Array.from({ length: 300 }, (_, i) => ({ ts: 1e9 + i * 1e5, wait: 8010 + (i % 3) })), // second 1: dearer
      ...Array.from({ length: 100 }, (_, i) => ({ ts: 2e9 + i, wait: 6010 })), // second 2: too few of its own
      // never counted: the mutex was held at the entry, the call slept, a trylock, a failed call
      ...Array.from({ length: 400 }, (_, i) => ({ ts: 1e6 + i, wait: 1e6, flags: NORMAL | MutexFlag.HeldAtRequest })),
      ...Array.from({ length: 400 }, (_, i) => ({ ts: 1e6 + i, wait: 1e6, flags: NORMAL | MutexFlag.Blocked })),
      ...Array.from({ length: 400 }, (_, i) => ({ ts: 1e6 + i, wait: 1e6, func: Func.PthreadMutexTrylock })),
      ...Array.from({ length: 400 }, (_, i) => ({ ts: 1e6 + i, wait: 1e6, ret: 22 })),
    ];
    const batch = calls(rows);
    meter.observe(batch, batch.count);
    const inRun = meter.result(20)!;
    assert.equal(inRun.calls, 700);
    assert.deepEqual(inRun.perSpanWaitNs, [5001, 8001, null]);
    assert.equal(inRun.waitNs, 6000); // the median of all 700: the second 2's
    assert.equal(new InRunCostMeter().result(20), null, 'no uncontended calls: no measure');
  });

  test("every cost at an event's time is scaled by that second's measure against the calibration", () => {
    const cost: ProbeCost = { ...calibrated, inRun: { spanNs: 1e9, waitNs: 6000, perSpanWaitNs: [5000, 7500, null], calls: 700 } };
    assert.equal(inRunScale(cost, 5e8), 1);
    assert.equal(inRunScale(cost, 1.5e9), 1.5);
    assert.equal(inRunScale(cost, 2.5e9), 1.2, 'a second without its own: the run');
    assert.equal(inRunScale(cost, 9e9), 1.2, 'past the last second measured: the run');
    assert.equal(inRunScale(calibrated, 1.5e9), 1, 'no in-run measure: the calibration as it is');

    // one call in second 1: it waited 20 µs, held 30 µs with one inner lock/unlock pair inside
    const L = Func.PthreadMutexLock;
    const U = Func.PthreadMutexUnlock;
    const t = 1.2e9;
    const events: RawEvent[] = [
      { id: 1, ts: t, requestTs: t - 20_000, stage: Stage.Acquired, func: L, pid: 1, tid: 7, lock: 0xa0, ret: 0, caller: 0, flags: NORMAL },
      { id: 2, ts: t + 10_000, requestTs: t + 2_000, stage: Stage.Acquired, func: L, pid: 1, tid: 7, lock: 0xb0, ret: 0, caller: 0, flags: NORMAL },
      { id: 3, ts: t + 20_000, stage: Stage.Released, func: U, pid: 1, tid: 7, lock: 0xb0, ret: 0, caller: 0, flags: 0 },
      { id: 4, ts: t + 30_000, stage: Stage.Released, func: U, pid: 1, tid: 7, lock: 0xa0, ret: 0, caller: 0, flags: 0 },
    ];
    const outer = join(events, { probeCost: cost }).acquisitions.find((a) => a.lock === 0xa0)!;
    assert.equal(outer.wait, 20_000 - 1.5 * 5000);
    assert.equal(outer.hold, 30_000 - 1.5 * 4000 - 2 * 1.5 * 6000, 'its own probes and the inner lock and unlock calls');
    assert.equal(outer.probeNsInside, 2 * 1.5 * 6000);
  });
});
