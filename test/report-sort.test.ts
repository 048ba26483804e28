import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Report } from '../analyzer/report';
import { LockScript } from './lib/lockscript';
import { mutexAnalyze } from './lib/tools';
import { ScratchRuns } from './lib/synthetic';

// Issue 15: the default order is what contention cost, so a lock called often but never
// contended cannot top the table by its call count.
const BUSY = 0x1000; // one thread, 2,000 uncontended calls of 10 µs each: 20 ms of wait
const CONTENDED = 0x2000; // 5 waits of 1 ms behind another thread: 5 ms of wait
const runs = new ScratchRuns({ threads: { 1: 'one', 2: 'two' } });

function script(): LockScript {
  const s = new LockScript();
  for (let i = 0; i < 2000; i++) s.lock(1, BUSY, 0x401000, { waitNs: 10_000 }).unlock(1, BUSY);
  for (let i = 0; i < 5; i++) {
    s.lock(1, CONTENDED, 0x402000);
    s.request(2, CONTENDED, 0x403000);
    s.unlock(1, CONTENDED, 0, { at: undefined });
    s.acquired(2, CONTENDED, 0x403000, { at: undefined }).unlock(2, CONTENDED);
  }
  return s;
}

async function rows(path: string, extra: string[]): Promise<Report['rows']> {
  const r = await mutexAnalyze(['report', path, '--format', 'json', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as Report).rows;
}

test('report ranks locks by contended wait by default; --sort wait keeps the total-wait order', async () => {
  const path = runs.write(script().events);
  const byDefault = await rows(path, []);
  assert.deepEqual(byDefault.map((r) => [r.key, r.contended]), [['0x2000', 5], ['0x1000', 0]]);
  assert.ok(byDefault[0].contendedWaitNs > 0 && byDefault[1].contendedWaitNs === 0);
  assert.deepEqual((await rows(path, ['--sort', 'wait'])).map((r) => r.key), ['0x1000', '0x2000']);
});
