import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { readElf } from '../recorder/elf';
import { afterRefusedEntry, chooseProbeSite, entrySite, kernelHandling, type ArgRegister } from '../recorder/probe_offsets';
import { plannedSite, planUserProbes } from '../recorder/probes';
import { readPrologueFixture } from './lib/prologues';
import { workload } from './lib/workloads';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const site = (code: string, keep: ArgRegister[] = ['rdi']) => chooseProbeSite(hex(code), keep);

// Instructions the cases are made of.
const MOV_EAX_FROM_MUTEX = '8b4710'; // mov 0x10(%rdi),%eax (reads rdi only)
const JNE8 = '7510'; // jne +0x10: emulated
const JMP32 = 'e900000000'; // jmp rel32: emulated
const PUSH_RBX = '53'; // emulated
const RET = 'c3';

describe('kernelHandling: the rules of arch/x86/kernel/uprobes.c', () => {
  const cases: [string, string, string][] = [
    ['nop', '90', 'emulated'],
    ['osp nop (x86_nops[2])', '6690', 'emulated'],
    ['nopl (x86_nops[3])', '0f1f00', 'emulated'],
    ['nopl 0(%rax,%rax) (x86_nops[5])', '0f1f440000', 'emulated'],
    ['nopw 0(%rax,%rax) (x86_nops[6])', '660f1f440000', 'emulated'],
    ['nopl 0(%rax,%rax) disp32 (x86_nops[8])', '0f1f840000000000', 'emulated'],
    ['pause (prefix + 0x90)', 'f390', 'emulated'],
    ['osp nopw disp32, 9 bytes: not in x86_nops', '660f1f840000000000', 'single-stepped'],
    ['cs nopw, 10 bytes: CS prefix', '662e0f1f840000000000', 'refused'],
    ['jmp rel8', 'eb05', 'emulated'],
    ['jmp rel32', 'e905000000', 'emulated'],
    ['call rel32', 'e805000000', 'emulated'],
    ['jne rel8', '7505', 'emulated'],
    ['jne rel32', '0f8505000000', 'emulated'],
    ['bnd jmp (f2 prefix)', 'f2e905000000', 'emulated'],
    ['0x66 jmp', '66e90500', 'refused'],
    ['0x66 jne rel8', '667505', 'refused'],
    ['ds jne (branch hint)', '3e7505', 'refused'],
    ['push %rbx', '53', 'emulated'],
    ['push %r12 (REX 0x41)', '4154', 'emulated'],
    ['rex.W push %rbx', '4853', 'single-stepped'],
    ['push %ax (0x66)', '6650', 'single-stepped'],
    ['mov 0x10(%rdi),%eax', '8b4710', 'single-stepped'],
    ['endbr64', 'f30f1efa', 'single-stepped'],
    ['jmp *%rax', 'ffe0', 'single-stepped'],
    ['ret', 'c3', 'single-stepped'],
    ['lock cmpxchg', 'f00fb117', 'refused'],
  ];
  for (const [name, bytes, expected] of cases) {
    it(`${name}: ${expected}`, () => assert.equal(kernelHandling(hex(bytes)), expected));
  }
});

describe('chooseProbeSite on hand-made functions', () => {
  it('takes the first emulated instruction after ones that keep the argument, rsp and rbp', () => {
    assert.deepEqual(site(MOV_EAX_FROM_MUTEX + '89c2' + JNE8 + RET), { offset: 5, insn: 'emulated', text: 'jne 0x0000000000000017' });
  });

  it('keeps +0 when +0 is emulated already', () => {
    assert.equal(site(PUSH_RBX + MOV_EAX_FROM_MUTEX + JNE8).offset, 0);
  });

  it('stops at a branch the kernel does not emulate: nothing after a branch is taken', () => {
    assert.deepEqual(site(MOV_EAX_FROM_MUTEX + 'e301' /* jrcxz */ + '90' + JNE8), { offset: 0, insn: 'single-stepped', text: 'mov 0x10(%rdi),%eax' });
    assert.equal(site(MOV_EAX_FROM_MUTEX + 'ffe0' /* jmp *%rax */ + JNE8).offset, 0);
    assert.equal(site(MOV_EAX_FROM_MUTEX + 'ffd0' /* call *%rax */ + JNE8).offset, 0);
    assert.equal(site(MOV_EAX_FROM_MUTEX + RET + JNE8).offset, 0);
  });

  it('stops at a write to the argument register the entry program reads', () => {
    const code = 'bf01000000' /* mov $1,%edi */ + JMP32;
    assert.equal(site(code, ['rdi']).offset, 0);
    assert.equal(site(code, ['rsi']).offset, 5, 'a cond wait reads rsi: a write to rdi does not matter');
    assert.equal(site('4088c7' /* mov %al,%dil */ + JMP32, ['rdi']).offset, 0, 'a partial write counts');
    assert.equal(site('be01000000' /* mov $1,%esi */ + JMP32, ['rdi']).offset, 5, 'unlock: glibc 2.36 sets esi, keeps rdi');
    assert.equal(site('4889f2' + '31f6' /* mov %rsi,%rdx; xor %esi,%esi */ + JMP32, ['rsi']).offset, 0);
  });

  it('stops at anything that moves rsp before the site: the return address must stay at [rsp]', () => {
    assert.equal(site('4883ec08' /* sub $8,%rsp */ + JMP32).offset, 0);
    assert.equal(site('4853' /* rex.W push %rbx, single-stepped */ + JMP32).offset, 0);
    assert.equal(site('488d6424f8' /* lea -8(%rsp),%rsp */ + JMP32).offset, 0);
    assert.equal(site('4889e5' /* mov %rsp,%rbp */ + JMP32).offset, 0, 'rbp: the user stack walk starts from it');
  });

  it('stops at a write to memory: the entry must see the mutex as the caller left it', () => {
    assert.equal(site('8907' /* mov %eax,(%rdi) */ + JMP32).offset, 0);
  });

  it("takes a nop of the kernel's x86_nops table, not a 10-byte cs nopw or a 9-byte osp nopw", () => {
    assert.deepEqual(site('89f8' /* mov %edi,%eax */ + '0f1f440000' + RET), { offset: 2, insn: 'emulated', text: 'nopl (%rax,%rax)' });
    assert.equal(site('89f8' + '662e0f1f840000000000' + JMP32).offset, 12, 'the cs nopw is passed over, the jmp taken');
    assert.equal(site('89f8' + '660f1f840000000000' + JMP32).offset, 11);
  });

  it('does not take a 0x66-prefixed jmp (refused), nor anything after it', () => {
    assert.equal(site(MOV_EAX_FROM_MUTEX + '66e90000' + PUSH_RBX).offset, 0);
  });

  it('passes over endbr64 at the entry', () => {
    const code = 'f30f1efa' + MOV_EAX_FROM_MUTEX + '0f85ac000000' + PUSH_RBX;
    assert.equal(site(code).offset, 7);
    assert.deepEqual(entrySite(hex(code)), { offset: 0, insn: 'single-stepped', text: 'endbr64' });
  });

  it('keeps +0 when a branch of the function jumps back into the prefix (the probe would hit twice)', () => {
    // mov; jne +1; ret; jmp back to the jne at +3
    assert.equal(site(MOV_EAX_FROM_MUTEX + '7501' + RET + 'ebfb').offset, 0);
    // a jump to +0 is a new call: fine
    assert.equal(site(MOV_EAX_FROM_MUTEX + '7501' + RET + 'ebf8').offset, 3);
  });

  it('looks at 16 instructions at most', () => {
    assert.equal(site('89c0'.repeat(15) + JMP32).offset, 30);
    assert.equal(site('89c0'.repeat(16) + JMP32).offset, 0);
  });

  it('keeps +0 on code it cannot decode', () => {
    assert.equal(site('').offset, 0);
    assert.equal(site('06' /* invalid in 64-bit mode */ + JMP32).offset, 0);
  });
});

// Where the probes go on Debian's glibc builds: lock +0xe (jne), unlock +5 and timedlock +5 (jmp),
// clocklock +3 (ja), trylock and the cond waits +0 (push).
const GLIBC_SITES: Record<string, number> = {
  pthread_mutex_lock: 0xe,
  pthread_mutex_trylock: 0,
  pthread_mutex_timedlock: 5,
  pthread_mutex_clocklock: 3,
  pthread_mutex_unlock: 5,
  pthread_cond_wait: 0,
  pthread_cond_timedwait: 0,
  pthread_cond_clockwait: 0,
  pthread_cond_signal: 0,
  pthread_cond_broadcast: 0,
  pthread_rwlock_rdlock: 0xd, // je, after the EDEADLK check reads __cur_writer
  pthread_rwlock_tryrdlock: 0,
  pthread_rwlock_timedrdlock: 0,
  pthread_rwlock_clockrdlock: 0,
  pthread_rwlock_wrlock: 0xd,
  pthread_rwlock_trywrlock: 0,
  pthread_rwlock_timedwrlock: 0,
  pthread_rwlock_clockwrlock: 0,
  pthread_rwlock_unlock: 0,
  pthread_spin_lock: 3, // after its `lock decl`, which cannot be probed
  pthread_spin_trylock: 0,
  pthread_spin_unlock: 0,
};
/** The probes single-stepped on glibc 2.36: nothing before a branch that the kernel emulates, or only stores and atomics. */
const SINGLE_STEPPED = new Set(['pthread_rwlock_tryrdlock', 'pthread_rwlock_trywrlock', 'pthread_spin_trylock', 'pthread_spin_unlock']);

describe('afterRefusedEntry: a function that starts with its lock (a LOCK prefix cannot be probed)', () => {
  it("glibc's pthread_spin_lock: `lock decl (%rdi)`, then the probe on its jne", () => {
    assert.deepEqual(afterRefusedEntry(hex('f0ff0f 750b 31c0 c3')), { offset: 3, insn: 'emulated', text: 'jne 0x0000000000000010' });
  });
  it('an entry that can be probed is kept', () => assert.equal(afterRefusedEntry(hex(`${PUSH_RBX}${JNE8}${RET}`)), null));
  it('not past a refused instruction that moves the stack or the lock argument', () => {
    assert.equal(afterRefusedEntry(hex(`f0480fc13f ${JNE8} ${RET}`)), null); // lock xadd %rdi,(%rdi): writes rdi
  });
});

describe("the planned sites on Debian's glibc prologues (test/fixtures/glibc-prologues.txt)", () => {
  const fixture = readPrologueFixture(join(__dirname, '..', '..', 'test', 'fixtures', 'glibc-prologues.txt'));
  it('has bookworm and trixie', () => assert.deepEqual([...fixture.keys()], ['libc6 2.36-9+deb12u14', 'libc6 2.41-12+deb13u5']));
  for (const [version, functions] of fixture) {
    it(version, () => {
      const got = Object.fromEntries([...functions].map(([name, code]) => [name, plannedSite(name, code)!]));
      const expected = Object.fromEntries(Object.entries(GLIBC_SITES).filter(([name]) => functions.has(name)));
      assert.deepEqual(Object.fromEntries(Object.entries(got).map(([n, s]) => [n, s.offset])), expected);
      for (const [name, s] of Object.entries(got)) assert.equal(s.insn, SINGLE_STEPPED.has(name) ? 'single-stepped' : 'emulated', name);
    });
  }
  it('the cond waits keep the cond (rdi) and the mutex (rsi) for their entry program', () => {
    const code = fixture.get('libc6 2.36-9+deb12u14')!.get('pthread_cond_wait')!;
    assert.equal(chooseProbeSite(code, ['rdi', 'rsi'] as ArgRegister[]).offset, 0);
  });
});

function plannedSites(path: string): Record<string, { offset: number; insn: string }> {
  const plan = planUserProbes([readElf(path)]);
  const entries = plan.probes.filter((p) => p.kind === 'uprobe').map((p) => [p.symbol, { offset: p.funcOffset, insn: p.insn }]);
  return Object.fromEntries(entries);
}

describe('planUserProbes at record time', () => {
  const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
  const isBookworm = (() => {
    try {
      return readFileSync(LIBC).includes('GNU C Library (Debian GLIBC 2.36-');
    } catch {
      return false;
    }
  })();

  it("this machine's glibc (2.36)", { skip: !isBookworm && 'not Debian 12 glibc 2.36' }, () => {
    const sites = plannedSites(LIBC);
    assert.deepEqual(Object.fromEntries(Object.entries(sites).map(([n, s]) => [n, s.offset])), GLIBC_SITES);
    const plan = planUserProbes([readElf(LIBC)]);
    const lock = plan.probes.filter((p) => p.symbol === 'pthread_mutex_lock');
    assert.deepEqual(lock.map((p) => [p.kind, p.funcOffset]), [['uprobe', 0xe], ['uretprobe', 0xe]], 'entry and return at one site');
  });

  it('--probe-offsets entry keeps +0, except where +0 cannot be probed', () => {
    const plan = planUserProbes([readElf(LIBC)], 'entry');
    assert.ok(plan.probes.every((p) => p.funcOffset === 0 || (p.symbol === 'pthread_spin_lock' && isBookworm)), JSON.stringify(plan.probes.filter((p) => p.funcOffset !== 0)));
    const lock = plan.probes.find((p) => p.symbol === 'pthread_mutex_lock')!;
    assert.equal(lock.insn, isBookworm ? 'single-stepped' : lock.insn);
  });

  it('a static executable (gcc -static -pthread)', () => {
    const sites = plannedSites(workload('mutex_workload', ['-static']));
    assert.equal(sites.pthread_mutex_lock?.offset, 0xe);
    assert.equal(sites.pthread_mutex_unlock?.offset, 5);
    for (const [name, s] of Object.entries(sites)) assert.equal(s.insn, SINGLE_STEPPED.has(name) ? 'single-stepped' : 'emulated', name);
  });
});
