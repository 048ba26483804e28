import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import type { Report } from '../analyzer/report';
import { LockScript } from './lib/lockscript';
import { ScratchRuns } from './lib/synthetic';
import { mutexAnalyze } from './lib/tools';

// pigz takes every lock through one function, possess(): each lock call's innermost site is the same.
const LOCK_FN = 0x7000;
const POSSESS = 0x1012; // possess+0x12: the pthread_mutex_lock call in the wrapper
const COMPRESS = 0x2080; // compress_thread+0x80: a call of possess()
const WRITE = 0x3024; // write_thread+0x24: another
const MAIN = 0x4010;
const DIRECT = 0x5008; // log_line+0x8: a plain pthread_mutex_lock call
const [JOB_A, JOB_B, OUT, LOG] = [0x55550000a000, 0x55550000b000, 0x55550000c000, 0x55550000d000]; // heap mutexes
const STACK_COMPRESS = 1;
const STACK_WRITE = 2;
const STACK_LOG = 3;

const runs = new ScratchRuns({
  mappings: [{ start: 0x1000, end: 0x8000, path: '/usr/bin/pigz', executable: true }],
  symbols: [
    { address: LOCK_FN, name: 'pthread_mutex_lock', kind: 'code' },
    { address: POSSESS, name: 'possess+0x12', kind: 'code' },
    { address: COMPRESS, name: 'compress_thread+0x80', kind: 'code' },
    { address: WRITE, name: 'write_thread+0x24', kind: 'code' },
    { address: MAIN, name: 'main+0x10', kind: 'code' },
    { address: DIRECT, name: 'log_line+0x8', kind: 'code' },
  ],
  stacks: { [STACK_COMPRESS]: [LOCK_FN, COMPRESS, MAIN], [STACK_WRITE]: [LOCK_FN, WRITE, MAIN], [STACK_LOG]: [LOCK_FN, MAIN] },
  threads: { 1: 'compress', 2: 'write' },
});

function pigzLike(): string {
  const s = new LockScript();
  for (let i = 0; i < 3; i++) {
    s.lock(1, JOB_A, POSSESS, { stackId: STACK_COMPRESS }).unlock(1, JOB_A);
    s.lock(1, JOB_B, POSSESS, { stackId: STACK_COMPRESS }).unlock(1, JOB_B);
    s.lock(2, OUT, POSSESS, { stackId: STACK_WRITE }).unlock(2, OUT);
    s.lock(2, LOG, DIRECT, { stackId: STACK_LOG }).unlock(2, LOG);
  }
  s.lock(2, OUT, POSSESS).unlock(2, OUT); // a request whose stack was lost
  return runs.write(s.events);
}

async function report(path: string, args: string[]): Promise<Report> {
  const r = await mutexAnalyze(['report', path, '--format', 'json', '--sort', 'count', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

describe('locks taken through a wrapper', () => {
  test("report names each lock class by the wrapper's caller", async () => {
    const names = (await report(pigzLike(), [])).rows.map((r) => r.name).sort();
    assert.deepEqual(names, ['mutex@compress_thread+0x80', 'mutex@compress_thread+0x80#2', 'mutex@log_line+0x8', 'mutex@write_thread+0x24 (+1)']); // +1: the call without a stack
  });

  test('--by callsite: requests through the wrapper count at its callers; without a stack, at the wrapper', async () => {
    const rows = (await report(pigzLike(), ['--by', 'callsite'])).rows.map((r) => [r.name, r.key, r.acquisitions]);
    assert.deepEqual(rows, [
      ['compress_thread+0x80 (via possess+0x12)', '0x2080', 6],
      ['write_thread+0x24 (via possess+0x12)', '0x3024', 3],
      ['log_line+0x8', '0x5008', 3],
      ['possess+0x12', '0x1012', 1],
    ]);
  });

  test('--lock lists its call sites the same way', async () => {
    const r = await report(pigzLike(), ['--lock', `0x${OUT.toString(16)}`]);
    assert.deepEqual(r.lock!.callsites.map((c) => [c.name, c.acquisitions]), [['write_thread+0x24 (via possess+0x12)', 3], ['possess+0x12', 1]]);
  });
});
