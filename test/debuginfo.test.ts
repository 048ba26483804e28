import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';

import { debugSymbolsHint, findDebugFile, withDebugSymbols } from '../recorder/debuginfo';
import { readElf } from '../recorder/elf';
import { UserSymbolizer } from '../recorder/symbolize';
import { scratchDir } from './lib/workloads';

const SOURCE = `
__attribute__((noinline)) int work_one(int x) { return x * 3 + 1; }
__attribute__((noinline)) int work_two(int x) { return work_one(x) ^ 0x55; }
int main(int argc, char **argv) { (void)argv; return work_two(argc) & 1; }
`;

/** A program built with -g, its debug info moved to prog.debug, stripped, with a .gnu_debuglink to it. */
function strippedProgram(): { dir: string; prog: string; debug: string } {
  const dir = scratchDir();
  const prog = join(dir, 'prog');
  const debug = join(dir, 'prog.debug');
  writeFileSync(join(dir, 'prog.c'), SOURCE);
  execFileSync('gcc', ['-O1', '-g', '-Wl,--build-id', '-o', prog, join(dir, 'prog.c')]);
  execFileSync('objcopy', ['--only-keep-debug', prog, debug]);
  execFileSync('strip', ['--strip-all', prog]);
  execFileSync('objcopy', [`--add-gnu-debuglink=${debug}`, prog]);
  return { dir, prog, debug };
}

/** Names an address 4 bytes into work_two of the program mapped whole at BASE. */
function nameInWorkTwo(prog: string, debug: string, debugDirs: string[]): { name: string; without: string[] } {
  const BASE = 0x5555_5555_0000;
  const vaddr = readElf(debug).functions.find((f) => f.name === 'work_two')!.address;
  const elf = readElf(prog);
  const fileOffset = vaddr; // a PIE's text is mapped at its file offset
  assert.equal(elf.addressOfOffset(fileOffset), vaddr, 'text segment: vaddr = file offset');
  const symbolizer = new UserSymbolizer([{ start: BASE, end: BASE + 0x10_0000, offset: 0, path: prog } as never], { debugDirs });
  const names = symbolizer.symbolize([BASE + fileOffset + 4], []);
  return { name: names.get(BASE + fileOffset + 4)!.name, without: symbolizer.withoutSymbols() };
}

describe('separate debug info, found as gdb and perf find it', () => {
  test('a stripped object has no .symtab, a .gnu_debuglink with its file name and CRC-32, and a build-id', () => {
    const { prog, debug } = strippedProgram();
    const elf = readElf(prog);
    assert.equal(elf.hasSymtab, false);
    assert.equal(elf.debugLink?.file, 'prog.debug');
    assert.match(elf.buildId ?? '', /^[0-9a-f]{40}$/);
    assert.equal(readElf(debug).buildId, elf.buildId);
    assert.equal(readElf(debug).hasSymtab, true);
    assert.equal(elf.functions.some((f) => f.name === 'work_two'), false, 'work_two is not exported');
  });

  test('.gnu_debuglink next to the object: names from its .symtab', () => {
    const { prog, debug } = strippedProgram();
    const { name, without } = nameInWorkTwo(prog, debug, ['/nonexistent']);
    assert.equal(name, 'work_two+0x4');
    assert.deepEqual(without, []);
  });

  test('by build-id under the debug directory: DIR/.build-id/NN/REST.debug', () => {
    const { dir, prog, debug } = strippedProgram();
    const root = join(dir, 'debug-root');
    const id = readElf(prog).buildId!;
    const byId = join(root, '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`);
    mkdirSync(dirname(byId), { recursive: true });
    renameSync(debug, byId);
    assert.equal(findDebugFile(readElf(prog), [root])?.path, byId);
    assert.equal(nameInWorkTwo(prog, byId, [root]).name, 'work_two+0x4');
  });

  test('.gnu_debuglink under the debug directory, with the object\'s directory; a wrong CRC is refused', () => {
    const { dir, prog, debug } = strippedProgram();
    const root = join(dir, 'debug-root');
    const global = join(root, dirname(prog), 'prog.debug');
    mkdirSync(dirname(global), { recursive: true });
    renameSync(debug, global);
    assert.equal(findDebugFile(readElf(prog), [root])?.path, global);
    writeFileSync(join(dir, 'prog.debug'), 'not the debug file'); // next to it, found first, wrong CRC
    assert.equal(findDebugFile(readElf(prog), [root])?.path, global);
  });

  test('none found: the object is named from .dynsym or as object+offset, and listed as without symbols', () => {
    const { dir, prog, debug } = strippedProgram();
    const moved = join(dir, 'elsewhere.debug');
    renameSync(debug, moved);
    const { name, without } = nameInWorkTwo(prog, moved, [join(dir, 'no-such-dir')]);
    assert.doesNotMatch(name, /work_two/);
    assert.deepEqual(without, [prog]);
  });

  test('the hint names the Debian debug-symbol packages of the objects', { skip: spawnSync('dpkg-query', ['--version']).status === 0 ? false : 'no dpkg-query here' }, () => {
    const hint = debugSymbolsHint(['/usr/lib/x86_64-linux-gnu/libc.so.6', '/nonexistent/prog']);
    assert.match(hint, /apt install libc6-dbg/);
    assert.match(hint, /debian-debug/);
  });
});

describe('names from a debug file', () => {
  test("the object's own names win at their addresses; of the debug aliases, the plainest, without its version", () => {
    const sym = (name: string, address: number, size = 16) => ({ name, address, size });
    const merged = withDebugSymbols(
      [sym('pthread_mutex_lock', 0x100), sym('__pthread_mutex_lock', 0x100)],
      [sym('___pthread_mutex_lock', 0x100), sym('__GI___lll_lock_wait', 0x200), sym('__lll_lock_wait', 0x200), sym('lll_helper@@GLIBC_2.2.5', 0x300)],
    );
    assert.deepEqual(merged.map((s) => `${s.name}@${s.address.toString(16)}`), ['pthread_mutex_lock@100', '__pthread_mutex_lock@100', '__lll_lock_wait@200', 'lll_helper@300']);
  });
});
