import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { cfaRuleAt, lockCallSites, readFrameTable, type CfaRule, type CfiProgram, type LockCallSite } from '../recorder/callsite_cfa';
import { scratchDir } from './lib/workloads';

/**
 * lockCallSites against binutils: objdump finds the calls by disassembling, readelf interprets
 * .eh_frame into rows; the two together say which call sites exist and their CFA = rsp+N.
 */

const LOCK = ['pthread_mutex_lock'];
const PIGZ = '/usr/bin/pigz';
const PIGZ_BUILD_ID = '098cc978498f27b8cb0222fa07842650d4b55636'; // Debian 12's pigz 2.6-1
const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';
const LIBSTDCXX = '/usr/lib/x86_64-linux-gnu/libstdc++.so.6';
const MARIADBD = '/usr/sbin/mariadbd';

// Wrappers in the style of pigz's possess(): not inlined, callee-saved registers live across the
// lock call, a local array, so that N is neither 8 nor the same at every site. twice() is
// tail-called by main, so its caller is __libc_start_call_main.
const PROGRAM = `
#include <pthread.h>
#include <stdio.h>
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
volatile int sink;
__attribute__((noinline)) void possess(pthread_mutex_t *lock, const char *tag, int n) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s %d", tag, n);
  pthread_mutex_lock(lock);
  for (int i = 0; i < n; i++) sink += buf[i & 63] + n + (int)(long)tag;
  pthread_mutex_unlock(lock);
}
__attribute__((noinline)) int attempt(pthread_mutex_t *lock, int n) {
  int got = pthread_mutex_trylock(lock) == 0;
  if (got) { sink += n; pthread_mutex_unlock(lock); }
  return got;
}
__attribute__((noinline)) int twice(pthread_mutex_t *x, pthread_mutex_t *y, int k) {
  long big[100];
  for (int i = 0; i < 100; i++) big[i] = sink + i * k;
  pthread_mutex_lock(x);
  pthread_mutex_lock(y);
  int s = big[k % 100] + k;
  pthread_mutex_unlock(y);
  pthread_mutex_unlock(x);
  return s;
}
int main(int argc, char **argv) {
  possess(&a, argv[0], argc);
  attempt(&b, argc);
  return twice(&a, &b, argc) & 1;
}
`;

const hex = (n: number): string => `0x${n.toString(16)}`;
const show = (sites: LockCallSite[]): string[] => sites.map((s) => `${hex(s.returnOffset)} rsp+${s.cfaOffset}`);

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  // readelf exits 1 after a complaint about a separate debug file (libc6-dbg's .eh_frame is NOBITS) but has said its piece.
  const complainedOnly = command === 'readelf' && result.status === 1 && result.stdout !== '';
  if (result.status !== 0 && !complainedOnly) throw new Error(`${command} ${args.join(' ')}: ${result.error ?? result.stderr}`);
  return result.stdout;
}

// ---------------------------------------------------------------------------------------------
// The oracle: objdump and readelf

/** Return addresses (virtual) of calls objdump shows to the functions named: direct, via the PLT, or via the GOT. */
function objdumpLockCalls(path: string, names: readonly string[]): number[] {
  const definitions = definedAddresses(path, names);
  const instructions = [...run('objdump', ['-d', '-w', '--no-show-raw-insn', path]).matchAll(/^ *([0-9a-f]+):\t(.*)$/gm)].map((m) => ({
    address: parseInt(m[1], 16),
    text: m[2],
  }));
  const isLockCall = (text: string): boolean => {
    const direct = /\bcall +([0-9a-f]+) <([^>]+)>/.exec(text);
    if (direct) return definitions.has(parseInt(direct[1], 16)) || names.some((name) => direct[2] === `${name}@plt`);
    const viaGot = /\bcall +\*0x[0-9a-f]+\(%rip\) +# [0-9a-f]+ <([^@>]+)(@[^>]*)?>/.exec(text);
    return viaGot !== null && names.includes(viaGot[1]);
  };
  // The return address is where the next instruction starts.
  return instructions.flatMap((insn, i) => (isLockCall(insn.text) && i + 1 < instructions.length ? [instructions[i + 1].address] : []));
}

/** Addresses of defined functions (readelf -s: .symtab and .dynsym) with the names given, versions aside. */
function definedAddresses(path: string, names: readonly string[]): Set<number> {
  const addresses = new Set<number>();
  for (const m of run('readelf', ['-sW', path]).matchAll(/^ *\d+: ([0-9a-f]+) +\d+ (?:FUNC|IFUNC) +\S+ +\S+ +(\S+) +(\S+)/gm)) {
    if (m[2] !== 'UND' && names.includes(m[3].split('@')[0])) addresses.add(parseInt(m[1], 16));
  }
  return addresses;
}

interface FrameRows {
  begin: number;
  end: number;
  initial: string | null; // the CIE's CFA, for an FDE that readelf prints no rows for (no instructions)
  rows: { location: number; cfa: string }[]; // readelf's LOC and CFA columns: rsp+32, rbp+16, exp
}

/** readelf's interpretation of .eh_frame: per FDE, the CFA column of each row. */
function readelfFrames(path: string): FrameRows[] {
  const fdes: FrameRows[] = [];
  const cieCfa = new Map<string, string>();
  let cie: string | null = null; // the CIE whose rows are being read, if any
  for (const line of run('readelf', ['--debug-dump=frames-interp', path]).split('\n')) {
    const cieHeader = /^([0-9a-f]+) [0-9a-f]+ [0-9a-f]+ CIE/.exec(line);
    const fdeHeader = /^[0-9a-f]+ [0-9a-f]+ [0-9a-f]+ FDE cie=([0-9a-f]+) pc=([0-9a-f]+)\.\.([0-9a-f]+)/.exec(line);
    const row = /^([0-9a-f]{16}) +(\S+)/.exec(line);
    if (cieHeader) {
      cie = cieHeader[1];
    } else if (fdeHeader) {
      cie = null;
      fdes.push({ begin: parseInt(fdeHeader[2], 16), end: parseInt(fdeHeader[3], 16), initial: cieCfa.get(fdeHeader[1]) ?? null, rows: [] });
    } else if (row && cie !== null) {
      cieCfa.set(cie, row[2]);
    } else if (row && fdes.length > 0) {
      fdes[fdes.length - 1].rows.push({ location: parseInt(row[1], 16), cfa: row[2] });
    }
  }
  return fdes;
}

function readelfCfaAt(frames: FrameRows[], address: number): string | null {
  const fde = frames.find((f) => address >= f.begin && address < f.end);
  if (!fde) return null;
  return fde.rows.filter((r) => r.location <= address).at(-1)?.cfa ?? fde.initial;
}

/** Virtual address to file offset, by the LOAD lines of readelf -l. */
function fileOffsetOf(path: string, address: number): number {
  for (const m of run('readelf', ['-lW', path]).matchAll(/^ +LOAD +0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+)/gm)) {
    const [offset, vaddr, fileSize] = [m[1], m[2], m[3]].map((x) => parseInt(x, 16));
    if (address > vaddr && address <= vaddr + fileSize) return address - vaddr + offset;
  }
  throw new Error(`${hex(address)} is in no LOAD segment of ${path}`);
}

/** What lockCallSites should say, by binutils; and the CFA of every call it should leave out. */
function expectedSites(path: string, names: readonly string[]): { sites: LockCallSite[]; excluded: string[] } {
  const frames = readelfFrames(path);
  const sites: LockCallSite[] = [];
  const excluded: string[] = [];
  for (const returnAddress of objdumpLockCalls(path, names)) {
    const cfa = readelfCfaAt(frames, returnAddress - 1);
    const rsp = cfa && /^rsp\+(\d+)$/.exec(cfa);
    if (rsp) sites.push({ returnOffset: fileOffsetOf(path, returnAddress), cfaOffset: Number(rsp[1]) });
    else excluded.push(cfa ?? 'no FDE');
  }
  return { sites: sites.sort((x, y) => x.returnOffset - y.returnOffset), excluded };
}

function buildId(path: string): string | null {
  return /Build ID: ([0-9a-f]+)/.exec(run('readelf', ['-n', path]))?.[1] ?? null;
}

// ---------------------------------------------------------------------------------------------

describe('lockCallSites on programs built here, against objdump and readelf', () => {
  let dir: string;
  const exe: Record<'plt' | 'ibtPlt' | 'noPlt' | 'framePointer' | 'static', string> = { plt: '', ibtPlt: '', noPlt: '', framePointer: '', static: '' };
  const libcArchive = run('gcc', ['-print-file-name=libc.a']).trim();
  const canLinkStatic = libcArchive.startsWith('/') && existsSync(libcArchive);

  before(() => {
    dir = scratchDir();
    const source = join(dir, 'wrappers.c');
    writeFileSync(source, PROGRAM);
    const build = (name: keyof typeof exe, flags: string[]): void => {
      exe[name] = join(dir, name);
      execFileSync('gcc', ['-O2', '-pthread', ...flags, '-o', exe[name], source]);
    };
    build('plt', ['-fomit-frame-pointer']);
    build('ibtPlt', ['-fomit-frame-pointer', '-fcf-protection', '-Wl,-z,ibtplt']);
    build('noPlt', ['-fomit-frame-pointer', '-fno-plt']);
    build('framePointer', ['-fno-omit-frame-pointer']);
    if (canLinkStatic) build('static', ['-fomit-frame-pointer', '-static']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('calls through the PLT: every site objdump finds, with the CFA readelf gives', () => {
    const expected = expectedSites(exe.plt, LOCK);
    assert.equal(expected.sites.length, 3, `possess() and twice() x2: ${show(expected.sites)}`);
    assert.deepEqual(show(lockCallSites(exe.plt, LOCK)), show(expected.sites));
    assert.ok(expected.sites.every((s) => s.cfaOffset > 64), 'the frames hold a 64-byte array or more');
  });

  test('-fcf-protection -z ibtplt: calls into .plt.sec, whose stubs start with endbr64', () => {
    assert.match(run('readelf', ['-SW', exe.ibtPlt]), /\.plt\.sec/);
    const expected = expectedSites(exe.ibtPlt, LOCK);
    assert.equal(expected.sites.length, 3, show(expected.sites).join(', '));
    assert.deepEqual(show(lockCallSites(exe.ibtPlt, LOCK)), show(expected.sites));
  });

  test('-fno-plt: call *GOT(%rip)', () => {
    const expected = expectedSites(exe.noPlt, LOCK);
    assert.equal(expected.sites.length, 3, show(expected.sites).join(', '));
    assert.deepEqual(show(lockCallSites(exe.noPlt, LOCK)), show(expected.sites));
  });

  test('only the functions named; several at once', () => {
    const trylock = expectedSites(exe.plt, ['pthread_mutex_trylock']);
    assert.equal(trylock.sites.length, 1, 'attempt()');
    assert.deepEqual(show(lockCallSites(exe.plt, ['pthread_mutex_trylock'])), show(trylock.sites));
    const both = expectedSites(exe.noPlt, ['pthread_mutex_lock', 'pthread_mutex_trylock']);
    assert.equal(both.sites.length, 4);
    assert.deepEqual(show(lockCallSites(exe.noPlt, ['pthread_mutex_lock', 'pthread_mutex_trylock'])), show(both.sites));
    assert.deepEqual(lockCallSites(exe.plt, ['pthread_mutex_timedlock']), [], 'not called here');
  });

  test('frame-pointer code: the calls are there, with rbp-based rules, and none is kept', () => {
    const expected = expectedSites(exe.framePointer, LOCK);
    assert.deepEqual(expected.sites, []);
    assert.deepEqual(expected.excluded, ['rbp+16', 'rbp+16', 'rbp+16']);
    assert.deepEqual(lockCallSites(exe.framePointer, LOCK), []);
  });

  test('a static binary: direct calls of pthread_mutex_lock (its aliases too), at file offsets != addresses', { skip: !canLinkStatic && 'no libc.a (libc6-dev)' }, () => {
    const expected = expectedSites(exe.static, LOCK);
    const actual = lockCallSites(exe.static, LOCK);
    assert.ok(expected.sites.length >= 3, show(expected.sites).join(', '));
    assert.deepEqual(show(actual), show(expected.sites));
    const textAddress = /^ +\[ *\d+\] \.text +PROGBITS +([0-9a-f]+) ([0-9a-f]+)/m.exec(run('readelf', ['-SW', exe.static]))!;
    assert.notEqual(textAddress[1].replace(/^0+/, ''), textAddress[2].replace(/^0+/, ''), 'the test needs an address != offset');
  });

  test('under gdb, at the lock call\'s first instruction, the word at SP + cfaOffset is the wrapper\'s return address', { skip: !hasGdb() && 'no gdb' }, () => {
    for (const path of [exe.plt, exe.noPlt, ...(canLinkStatic ? [exe.static] : [])]) {
      const sites = new Map(lockCallSites(path, LOCK).map((s) => [s.returnOffset, s.cfaOffset]));
      // Stops from calls through a pointer (ld.so's, libc's) have no site: nothing to check.
      const stops = gdbLockStops(path, [...new Set(sites.values())]).filter((stop) => sites.has(stop.returnOffset));
      assert.ok(stops.length >= 3, `${path}: a stop per lock call of the program`);
      for (const stop of stops) {
        const cfaOffset = sites.get(stop.returnOffset)!;
        assert.equal(hex(stop.words.get(cfaOffset)!), hex(stop.callerPc), `${path} ${hex(stop.returnOffset)}: SP+${cfaOffset} holds frame #2's pc`);
      }
    }
  });
});

function hasGdb(): boolean {
  return spawnSync('gdb', ['--version'], { stdio: 'ignore' }).status === 0;
}

interface GdbStop {
  returnOffset: number; // [SP] as a file offset in the program; -1 when it is in another object
  words: Map<number, number>; // [SP + n]
  callerPc: number; // gdb's own unwind: frame #2's pc
}

/** Runs the program under gdb and stops on pthread_mutex_lock's first instruction, reading [SP + n] for each n. */
function gdbLockStops(path: string, offsets: number[]): GdbStop[] {
  const script = `${path}.gdb`;
  writeFileSync(
    script,
    [
      'set pagination off',
      'set confirm off',
      'set debuginfod enabled off',
      'set startup-with-shell off',
      'break main', // where libc is loaded: `break *pthread_mutex_lock` needs it to be
      'run',
      'delete',
      'break *pthread_mutex_lock',
      'commands',
      'silent',
      'printf "stop\\n"',
      ...[0, ...offsets].map((n) => `printf "word ${n} %lx\\n", *(unsigned long *)($sp + ${n})`),
      'bt 3',
      'info proc mappings',
      'continue',
      'end',
      'continue',
      '',
    ].join('\n'),
  );
  const output = execFileSync('gdb', ['-nx', '-batch', '-x', script, path], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return output
    .split('stop\n')
    .slice(1)
    .map((stop) => {
      const words = new Map([...stop.matchAll(/^word (\d+) ([0-9a-f]+)$/gm)].map((m) => [Number(m[1]), parseInt(m[2], 16)]));
      const frame = (n: number): number => parseInt(new RegExp(`^#${n} +0x([0-9a-f]+) in`, 'm').exec(stop)![1], 16);
      const returnAddress = words.get(0)!;
      assert.equal(hex(frame(1)), hex(returnAddress), 'gdb agrees that [SP] is the lock call\'s return address');
      const mappings = [...stop.matchAll(/^ +0x([0-9a-f]+) +0x([0-9a-f]+) +0x[0-9a-f]+ +0x([0-9a-f]+) +\S+ +(\S+)$/gm)].map((m) => ({
        start: parseInt(m[1], 16),
        end: parseInt(m[2], 16),
        offset: parseInt(m[3], 16),
        file: m[4],
      }));
      const mapping = mappings.find((m) => m.file === path && returnAddress > m.start && returnAddress <= m.end);
      return { returnOffset: mapping ? returnAddress - mapping.start + mapping.offset : -1, words, callerPc: frame(2) };
    });
}

describe('lockCallSites on Debian\'s pigz (stripped, no frame pointers)', () => {
  const skip = !existsSync(PIGZ) ? 'pigz is not installed' : false;

  test('possess(): pthread_mutex_lock returns to 0x11082 with CFA = rsp+32', { skip }, (t) => {
    if (buildId(PIGZ) !== PIGZ_BUILD_ID) return t.skip(`pigz's build-id is not ${PIGZ_BUILD_ID}`);
    assert.equal(fileOffsetOf(PIGZ, 0x11082), 0x11082, 'in this binary the address is the file offset');
    assert.deepEqual(
      lockCallSites(PIGZ, LOCK).find((s) => s.returnOffset === 0x11082),
      { returnOffset: 0x11082, cfaOffset: 32 },
    );
  });

  test('every site, against objdump and readelf', { skip }, () => {
    const expected = expectedSites(PIGZ, LOCK);
    assert.ok(expected.sites.length >= 5, show(expected.sites).join(', '));
    assert.deepEqual(show(lockCallSites(PIGZ, LOCK)), show(expected.sites));
  });
});

describe('readFrameTable against every row readelf prints', () => {
  const REGISTERS = ['rax', 'rdx', 'rcx', 'rbx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip'];
  const asReadelf = (rule: CfaRule | null): string =>
    rule === null ? 'none' : rule.kind === 'expression' ? 'exp' : `${REGISTERS[rule.register] ?? `r${rule.register}`}${rule.offset >= 0 ? '+' : ''}${rule.offset}`;

  // libstdc++'s CIEs are "zPLR" (a personality pointer before the FDE encoding), libc has a "zRS" one.
  for (const path of [PIGZ, LIBC, LIBSTDCXX]) {
    test(path, { skip: !existsSync(path) && 'not installed' }, () => {
      const table = readFrameTable(path);
      const frames = readelfFrames(path);
      let checked = 0;
      for (const fde of frames) {
        fde.rows.forEach((row, i) => {
          const rowEnd = (fde.rows[i + 1]?.location ?? fde.end) - 1;
          for (const address of new Set([row.location, rowEnd])) {
            assert.equal(asReadelf(table.cfaRuleAt(address)), row.cfa, `${hex(address)} in the FDE at ${hex(fde.begin)}`);
            checked++;
          }
        });
      }
      assert.ok(checked > 1000, `${checked} rows`);
    });
  }
});

describe('cfaRuleAt over hand-made call frame instructions', () => {
  // The usual x86-64 CIE: CFA = rsp+8, return address at CFA-8.
  const CIE = [0x0c, 0x07, 0x08, 0x90, 0x01];
  const program = (instructions: number[], options: Partial<CfiProgram> = {}): CfiProgram => ({
    codeAlignment: 1,
    dataAlignment: -8,
    initialInstructions: Uint8Array.from(CIE),
    instructions: Uint8Array.from(instructions),
    pcBegin: 0x1000,
    ...options,
  });
  const rsp = (offset: number): CfaRule => ({ kind: 'register', register: 7, offset });
  const rbp = (offset: number): CfaRule => ({ kind: 'register', register: 6, offset });
  const rulesAt = (p: CfiProgram, pcs: number[]): (CfaRule | null)[] => pcs.map((pc) => cfaRuleAt(p, pc));

  test('the CIE\'s rule holds until the FDE\'s first advance; a row starts at its location, not before', () => {
    const p = program([0x41, 0x0e, 0x10, 0x43, 0x0e, 0x18]); // +1: cfa rsp+16; +3: rsp+24
    assert.deepEqual(rulesAt(p, [0x1000, 0x1001, 0x1003, 0x1004, 0x1100]), [rsp(8), rsp(16), rsp(16), rsp(24), rsp(24)]);
  });

  test('advance_loc1/2/4 and a code alignment factor', () => {
    const p = program([0x02, 0xff, 0x0e, 0x10, 0x03, 0x34, 0x12, 0x0e, 0x18, 0x04, 0x45, 0x23, 0x01, 0x00, 0x0e, 0x20]);
    const at1 = 0x1000 + 0xff;
    const at2 = at1 + 0x1234;
    const at4 = at2 + 0x12345;
    assert.deepEqual(rulesAt(p, [at1 - 1, at1, at2 - 1, at2, at4 - 1, at4]), [rsp(8), rsp(16), rsp(16), rsp(24), rsp(24), rsp(32)]);
    const aligned = program([0x42, 0x0e, 0x10], { codeAlignment: 4 }); // advance 2 * 4
    assert.deepEqual(rulesAt(aligned, [0x1007, 0x1008]), [rsp(8), rsp(16)]);
  });

  test('remember_state / restore_state keep the CFA rule, register included, on a stack', () => {
    const p = program([
      0x41, 0x0e, 0x10, // +1: rsp+16 (push rbp)
      0x41, 0x0d, 0x06, // +2: rbp+16 (mov rsp, rbp)
      0x41, 0x0a, 0x0c, 0x07, 0x08, // +3: remember; rsp+8 (an early return's leave; ret)
      0x41, 0x0a, 0x0e, 0x40, // +4: remember; rsp+64
      0x41, 0x0b, // +5: restore: rsp+8
      0x41, 0x0b, // +6: restore: rbp+16
      0x41, 0x0b, 0x0e, 0x20, // +7: a restore with nothing saved changes nothing; then offset 32
    ]);
    assert.deepEqual(rulesAt(p, [0x1001, 0x1002, 0x1003, 0x1004, 0x1005, 0x1006, 0x1007]), [rsp(16), rbp(16), rsp(8), rsp(64), rsp(8), rbp(16), rbp(32)]);
  });

  test('def_cfa_sf and def_cfa_offset_sf are factored by the data alignment (-8)', () => {
    const p = program([0x41, 0x13, 0x7e, 0x41, 0x12, 0x06, 0x7d]); // +1: offset -2 * -8; +2: rbp, -3 * -8
    assert.deepEqual(rulesAt(p, [0x1001, 0x1002]), [rsp(16), rbp(24)]);
  });

  test('def_cfa_expression makes the rule unusable until a def_cfa', () => {
    const p = program([0x41, 0x0f, 0x03, 0x77, 0x08, 0x06, 0x41, 0x0e, 0x10, 0x41, 0x0c, 0x07, 0x08]);
    assert.deepEqual(rulesAt(p, [0x1000, 0x1001, 0x1002, 0x1003]), [rsp(8), { kind: 'expression' }, null, rsp(8)]);
  });

  test('the operands of every other instruction are skipped, however long', () => {
    const p = program([
      0x05, 0x10, 0x01, // offset_extended r16, 1
      0x09, 0x03, 0x06, // register r3 in r6
      0x10, 0x06, 0x03, 0x0e, 0xc0, 0x00, // expression r6, a 3-byte block that reads as def_cfa_offset 64
      0x16, 0x03, 0x02, 0x0e, 0x30, // val_expression r3, a block that reads as def_cfa_offset 48
      0x86, 0x81, 0x01, // offset r6, 129 (a 2-byte uleb)
      0xc6, // restore r6
      0x06, 0x06, 0x07, 0x03, 0x08, 0x0c, // restore_extended, undefined, same_value
      0x11, 0x0c, 0x7f, 0x14, 0x0d, 0x02, 0x15, 0x0e, 0x7e, // offset_extended_sf, val_offset, val_offset_sf
      0x2e, 0x80, 0x01, 0x2f, 0x0f, 0x01, 0x00, // GNU_args_size 128, GNU_negative_offset_extended, nop
      0x41, 0x0e, 0x18, // +1: rsp+24
    ]);
    assert.deepEqual(rulesAt(p, [0x1000, 0x1001]), [rsp(8), rsp(24)]);
  });

  test('set_loc moves to an address', () => {
    const p = program([0x01, ...[0x10, 0x10, 0, 0, 0, 0, 0, 0], 0x0e, 0x10]); // absptr 0x1010
    assert.deepEqual(rulesAt(p, [0x100f, 0x1010]), [rsp(8), rsp(16)]);
  });

  test('an unknown opcode or truncated operands: no rule rather than a wrong one', () => {
    assert.equal(cfaRuleAt(program([0x41, 0x0e, 0x10, 0x3f]), 0x1001), null);
    assert.equal(cfaRuleAt(program([0x41, 0x0c, 0x07]), 0x1001), null);
    assert.deepEqual(cfaRuleAt(program([0x41, 0x0c, 0x07]), 0x1000), rsp(8), 'the bad part is past pc');
  });
});

describe('speed', () => {
  const candidates = [MARIADBD, LIBSTDCXX, LIBC].filter(existsSync);
  const biggest = candidates.sort((a, b) => statSync(b).size - statSync(a).size)[0];

  test(`the biggest object at hand (${biggest}) takes under 2 s`, { skip: !biggest && 'none installed' }, (t) => {
    const started = process.hrtime.bigint();
    const sites = lockCallSites(biggest, LOCK);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    t.diagnostic(`${biggest} (${(statSync(biggest).size / 1e6).toFixed(1)} MB): ${sites.length} sites in ${ms.toFixed(0)} ms`);
    assert.ok(ms < 2000, `${ms.toFixed(0)} ms`);
  });
});
