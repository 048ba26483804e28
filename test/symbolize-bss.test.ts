import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

import { UserSymbolizer } from '../recorder/symbolize';
import { workload } from './lib/workloads';

// A global mutex initialized to zero lives in .bss, an anonymous mapping after its object's data
// that only /proc/PID/maps shows. A target that lives a few ms can be gone before that is read:
// its lock must still be named from the object's file mapping below it.
test('a .bss global is named when only the file-backed mapping of its data segment was recorded', () => {
  const exe = workload('names', ['-rdynamic']);
  const load = execFileSync('readelf', ['-lW', exe], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /^\s*LOAD\s/.test(l) && /\sRW\s/.test(l))
    .map((l) => l.trim().split(/\s+/).slice(1, 6).map((x) => Number(x)))[0];
  const [offset, vaddr, , fileSize, memSize] = load;
  const symbol = execFileSync('nm', [exe], { encoding: 'utf8' }).split('\n').find((l) => l.endsWith(' g_cache_lock'))!;
  const lockVaddr = Number(`0x${symbol.split(' ')[0]}`);
  assert.ok(lockVaddr >= vaddr + fileSize && lockVaddr < vaddr + memSize, 'g_cache_lock is in .bss');

  const base = 0x5555_0000_0000;
  const pageStart = vaddr - (vaddr % 0x1000);
  // the data segment's file-backed part only, ending where its file data ends
  const mapping = { start: base + pageStart, end: base + vaddr + fileSize, offset: offset - (offset % 0x1000), path: exe, buildId: null, executable: false };
  const names = new UserSymbolizer([mapping]).symbolize([], [base + lockVaddr]);
  assert.equal(names.get(base + lockVaddr)?.name, 'g_cache_lock');
  // and an address far past every mapping is no one's
  assert.equal(new UserSymbolizer([mapping]).symbolize([], [base + 0x1000_0000]).size, 0);
});

// The same in a stripped program: no symbol names the .bss global, so it is its object+offset,
// the name the analyzer gives it from a /proc/PID/maps tail mapping (runfile mappings): a
// short-lived target that left no time to read that must get the same name.
test('a stripped program\'s .bss global is object+offset when only the file-backed mapping below it was recorded', () => {
  const exe = `${workload('names', ['-rdynamic'])}-stripped`;
  execFileSync('strip', ['--strip-all', '-o', exe, workload('names', ['-rdynamic'])]);
  const load = execFileSync('readelf', ['-lW', exe], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /^\s*LOAD\s/.test(l) && /\sRW\s/.test(l))
    .map((l) => l.trim().split(/\s+/).slice(1, 6).map((x) => Number(x)))[0];
  const [offset, vaddr, , fileSize, memSize] = load;
  const base = 0x5555_0000_0000;
  const pageStart = vaddr - (vaddr % 0x1000);
  const mapping = { start: base + pageStart, end: base + vaddr + fileSize, offset: offset - (offset % 0x1000), path: exe, buildId: null, executable: false };
  const inBss = base + vaddr + fileSize + 8;
  assert.ok(vaddr + fileSize + 8 < vaddr + memSize, 'the data segment has a .bss past its file data');
  const name = new UserSymbolizer([mapping]).symbolize([], [inBss]).get(inBss)?.name;
  assert.equal(name, `names-rdynamic-stripped+0x${(inBss - mapping.start + mapping.offset).toString(16)}`);
  // past the segment's memory (the heap after it): no name
  assert.equal(new UserSymbolizer([mapping]).symbolize([], [base + vaddr + memSize + 0x2000]).size, 0);
});
