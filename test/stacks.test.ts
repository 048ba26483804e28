import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { describe, test } from 'node:test';

import type { Report } from '../analyzer/report';
import { RunFile } from '../runfile/runfile';
import { TRUNCATED_FRAME, UNWOUND_FRAME } from '../analyzer/sitenames';
import { StackReader } from '../analyzer/stacks';
import { LockScript } from './lib/lockscript';
import { mutexAnalyze } from './lib/tools';
import { ScratchRuns, type SyntheticRunOptions } from './lib/synthetic';

const L = 0xa000;
const INSERT = 0x401010; // call site, in the program's code
const LOCK_FN = 0x7f0000001000; // in libc's code
const HANDLE = 0x402040;
const MAIN = 0x403010;
const IN_DATA = 0x601000; // in the program's data: no return address
const GARBAGE = 0x6f72726520646000; // ASCII bytes, as a frame-pointer walk through pigz (no frame pointers) gave
const KERNEL = -0x5000;

const MAPPINGS: SyntheticRunOptions['mappings'] = [
  { start: 0x400000, end: 0x500000, path: '/usr/bin/prog', executable: true },
  { start: 0x600000, end: 0x700000, offset: 0x100000, path: '/usr/bin/prog', executable: false },
  { start: 0x7f0000000000, end: 0x7f0000100000, path: '/usr/lib/libc.so.6', executable: true },
];
const SYMBOLS: SyntheticRunOptions['symbols'] = [
  { address: INSERT, name: 'cache_insert+0x1c', kind: 'code' },
  { address: LOCK_FN, name: 'pthread_mutex_lock', kind: 'code' },
  { address: HANDLE, name: 'handle_request+0x40', kind: 'code' },
  { address: MAIN, name: 'main+0x10', kind: 'code' },
];
const runs = new ScratchRuns({ symbols: SYMBOLS, mappings: MAPPINGS, threads: { 1: 'one' } });

/** One acquisition of L at INSERT per stack id given. */
function record(stacks: Record<number, number[]>, opts: SyntheticRunOptions = {}): string {
  const s = new LockScript();
  for (const id of Object.keys(stacks)) s.lock(1, L, INSERT, { stackId: Number(id), waitNs: 2_000 * Number(id) }).unlock(1, L);
  return runs.write(s.events, { stacks, ...opts });
}

async function stackNames(path: string): Promise<string[]> {
  const r = await mutexAnalyze(['report', path, '--by', 'callsite', '--stack', '--format', 'json', '--sort', 'wait']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as Report).rows.map((row) => row.name);
}

describe('stacks: the outer caller found by .eh_frame (code without frame pointers)', () => {
  test('it replaces what the walk read through rbp, and the stack says where it ends; a walk that agrees is kept whole', async () => {
    const s = new LockScript();
    s.lock(1, L, INSERT, { stackId: 1, outerCaller: HANDLE, waitNs: 4_000 }).unlock(1, L); // the walk read garbage that lies in code
    s.lock(1, L, INSERT, { stackId: 2, outerCaller: HANDLE, waitNs: 2_000 }).unlock(1, L); // a walk through frame pointers: agrees
    s.lock(1, L, INSERT, { stackId: 1, outerCaller: MAIN, waitNs: 1_000 }).unlock(1, L); // the same recorded stack, another outer caller
    const path = runs.write(s.events, { stacks: { 1: [LOCK_FN, HANDLE + 0x100, MAIN], 2: [LOCK_FN, HANDLE, MAIN] } });
    assert.deepEqual(await stackNames(path), [
      `pthread_mutex_lock;cache_insert+0x1c;handle_request+0x40;${UNWOUND_FRAME}`,
      'pthread_mutex_lock;cache_insert+0x1c;handle_request+0x40;main+0x10',
      `pthread_mutex_lock;cache_insert+0x1c;main+0x10;${UNWOUND_FRAME}`,
    ]);
  });
});

describe('stacks: a frame outside the executable mappings ends the stack', () => {
  test('report --stack shows the frames up to it and the truncation marker, never the address', async () => {
    const path = record({ 1: [LOCK_FN, HANDLE, GARBAGE, MAIN], 2: [LOCK_FN, HANDLE, MAIN] });
    assert.deepEqual(await stackNames(path), [
      'pthread_mutex_lock;cache_insert+0x1c;handle_request+0x40;main+0x10', // inside the mappings: unchanged
      `pthread_mutex_lock;cache_insert+0x1c;handle_request+0x40;${TRUNCATED_FRAME}`,
    ]);
    const text = await mutexAnalyze(['report', path, '--by', 'callsite', '--stack', '--sort', 'wait']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /handle_request\+0x40;\[truncated: frame-pointer walk left the mapped code\]/);
    assert.doesNotMatch(text.stdout, /0x6f72/);
  });

  test('a frame in a mapped file that is not executable (data) ends it too', async () => {
    const names = await stackNames(record({ 1: [LOCK_FN, IN_DATA, HANDLE] }));
    assert.deepEqual(names, [`pthread_mutex_lock;cache_insert+0x1c;${TRUNCATED_FRAME}`]);
  });

  test('kernel frames are kept as they are', () => {
    const run = RunFile.open(record({ 1: [KERNEL, KERNEL - 0x100] }));
    assert.deepEqual(new StackReader(run).request(1, 0), { frames: [KERNEL, KERNEL - 0x100], truncated: false, unwound: false });
    run.close();
  });

  test('mappings of unknown permissions count as code; a run without mappings keeps every frame', () => {
    const unknown = MAPPINGS!.map((m) => ({ ...m, executable: null }));
    let run = RunFile.open(record({ 1: [LOCK_FN, IN_DATA, GARBAGE] }, { mappings: unknown }));
    assert.deepEqual(new StackReader(run).request(1, INSERT), { frames: [LOCK_FN, INSERT, IN_DATA], truncated: true, unwound: false });
    run.close();
    run = RunFile.open(record({ 1: [LOCK_FN, GARBAGE] }, { mappings: [] }));
    assert.deepEqual(new StackReader(run).request(1, INSERT), { frames: [LOCK_FN, INSERT, GARBAGE], truncated: false, unwound: false });
    run.close();
  });

  test('a run file from before mappings.executable: every file mapping counts as code', () => {
    const path = record({ 1: [LOCK_FN, IN_DATA, GARBAGE] });
    const db = new Database(path);
    db.exec('ALTER TABLE mappings DROP COLUMN executable');
    db.close();
    const run = RunFile.open(path);
    assert.deepEqual(new StackReader(run).request(1, INSERT), { frames: [LOCK_FN, INSERT, IN_DATA], truncated: true, unwound: false });
    run.close();
  });
});
