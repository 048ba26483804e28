import assert from 'node:assert/strict';
import { test } from 'node:test';

import { HoldHistory } from '../core/hold_history';

test('HoldHistory.holderAt: the hold that covered a time, for times near the newest holds and far back', () => {
  let seed = 7;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (const count of [1, 2, 3, 10, 1000]) {
    const history = new HoldHistory();
    const holds: { tid: number; acquired: number; released: number; caller: number }[] = [];
    let t = 1000;
    for (let i = 0; i < count; i++) {
      t += Math.floor(random() * 50); // a gap, sometimes none
      const acquired = t;
      t += 1 + Math.floor(random() * 100);
      holds.push({ tid: 1 + (i % 4), acquired, released: t, caller: 0x1000 + i });
      history.add(0xabc, 1 + (i % 4), acquired, t, 0x1000 + i);
    }
    const expected = (ts: number, self: number): unknown => {
      let last = -1;
      holds.forEach((h, i) => {
        if (h.acquired <= ts) last = i;
      });
      if (last < 0) return 'free';
      const h = holds[last];
      return h.released <= ts || h.tid === self ? 'free' : { tid: h.tid, caller: h.caller };
    };
    const times = [0, 999, 1000, t, t + 1, ...holds.flatMap((h) => [h.acquired, h.acquired - 1, h.released, h.released - 1])];
    for (let i = 0; i < 200; i++) times.push(Math.floor(random() * (t + 10)));
    for (const ts of times) {
      for (const self of [1, 9]) assert.deepEqual(history.holderAt(0xabc, ts, self), expected(ts, self), `count ${count}, ts ${ts}, self ${self}`);
    }
    assert.equal(history.holderAt(0xdef, t, 1), 'free', 'a lock never held');
  }
});
