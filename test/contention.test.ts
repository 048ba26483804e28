import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { describe, test } from 'node:test';

import { Joiner, type Acquisition, type OpenItem, type Wake } from '../core/join';
import { Func, Stage, type RawEvent } from '../core/events';
import { FutexFlag, futexKind } from '../core/futex';
import type { Report } from '../analyzer/report';
import type { BlockersReport } from '../analyzer/blockers';
import { ScratchRuns, type SyntheticEvent } from './lib/synthetic';
import { LockScript } from './lib/lockscript';
import { mutexAnalyze } from './lib/tools';
import type { ElfObject } from '../recorder/elf';
import { fullModeHint, guessRuntime, noPthreadAdvice } from '../recorder/runtimes';

const FUTEX_WAIT_PRIVATE = 128; // op FUTEX_WAIT | FUTEX_PRIVATE_FLAG
const WAIT_BITSET = 9 | 128 | 256;
const LOCK = 0x5000;
const COND_WORD = 0x6028;

describe('the kind of a futex word', () => {
  test('told from the C library function the call was made in', () => {
    assert.deepEqual(futexKind(FUTEX_WAIT_PRIVATE, '__lll_lock_wait'), { kind: 'pthread_mutex', source: 'function' });
    assert.deepEqual(futexKind(FUTEX_WAIT_PRIVATE, '__lll_lock_wait_private'), { kind: 'libc_lock', source: 'function' });
    assert.deepEqual(futexKind(FUTEX_WAIT_PRIVATE, 'syscall'), { kind: 'futex', source: 'function' }, "a program's own futex call (Rust)");
    // Go's runtime.futex is assembly, named runtime.futex.abi0: a runtime lock word followed by
    // zeros looks like a glibc mutex to the layout check, and the function must say otherwise
    assert.deepEqual(futexKind(FUTEX_WAIT_PRIVATE | FutexFlag.LayoutMutex, 'runtime.futex.abi0'), { kind: 'futex', source: 'function' }, "Go's runtime");
    assert.deepEqual(futexKind(WAIT_BITSET, '__pthread_cond_wait_common'), { kind: 'pthread_cond', source: 'function' });
    // the mutex's type comes from the layout bits when they are there
    const recursive = FUTEX_WAIT_PRIVATE | FutexFlag.LayoutMutex | (1 << FutexFlag.KindShift);
    assert.equal(futexKind(recursive, '__lll_lock_wait').kind, 'pthread_mutex:recursive');
  });

  test('else from the layout the probe saw, else futex', () => {
    assert.deepEqual(futexKind(FUTEX_WAIT_PRIVATE | FutexFlag.LayoutMutex, null), { kind: 'pthread_mutex', source: 'layout' });
    assert.deepEqual(futexKind(WAIT_BITSET | FutexFlag.LayoutCond, '__futex_abstimed_wait_common'), { kind: 'pthread_cond', source: 'layout' });
    assert.deepEqual(futexKind(WAIT_BITSET | FutexFlag.LayoutRwlock, null), { kind: 'pthread_rwlock', source: 'layout' });
    // an rwlock's __wrphase_futex waited for with 2 looks like a mutex too: its WAIT_BITSET tells
    assert.equal(futexKind(WAIT_BITSET | FutexFlag.LayoutRwlock | FutexFlag.LayoutMutex, null).kind, 'pthread_rwlock');
    assert.equal(futexKind(FUTEX_WAIT_PRIVATE | FutexFlag.LayoutRwlock | FutexFlag.LayoutMutex, null).kind, 'pthread_mutex');
    assert.deepEqual(futexKind(WAIT_BITSET | FutexFlag.LayoutCond | FutexFlag.LayoutRwlock, null), { kind: 'futex', source: 'none' }, 'two layouts: not told');
    assert.deepEqual(futexKind(FUTEX_WAIT_PRIVATE | FutexFlag.ThreadExit, '__futex_abstimed_wait_common'), { kind: 'thread_exit', source: 'layout' });
    assert.deepEqual(futexKind(6 | 128, null), { kind: 'futex:pi', source: 'none' }, 'LOCK_PI on a word that is no glibc mutex');
    assert.deepEqual(futexKind(FUTEX_WAIT_PRIVATE, 'some_function'), { kind: 'futex', source: 'none' });
  });
});

interface Wait {
  tid: number;
  from: number;
  to: number;
  lock?: number;
  flags?: number;
  holder?: number;
  caller?: number;
}

let nextId = 1;
function wait(w: Wait): RawEvent {
  return {
    id: nextId++, ts: w.to, requestTs: w.from, stage: Stage.Acquired, func: Func.FutexWait, pid: 1, tid: w.tid, lock: w.lock ?? LOCK, ret: 0,
    caller: w.caller ?? 0x401000, flags: (w.flags ?? 0) | FUTEX_WAIT_PRIVATE, holder: w.holder ?? 0,
  };
}

function wake(tid: number, at: number, caller: number, lock = LOCK): RawEvent {
  return { id: nextId++, ts: at + 1000, requestTs: at, stage: Stage.Wake, func: Func.FutexWake, pid: 1, tid, lock, ret: 1, caller, flags: 1 | 128 };
}

function joinAll(events: RawEvent[]): { acquisitions: Acquisition[]; wakes: Wake[]; open: OpenItem[]; anomalies: string[] } {
  const out = { acquisitions: [] as Acquisition[], wakes: [] as Wake[], open: [] as OpenItem[], anomalies: [] as string[] };
  const joiner = new Joiner({
    acquisition: (a) => out.acquisitions.push(a),
    wake: (w) => out.wakes.push(w),
    open: (o) => out.open.push(o),
    anomaly: (kind) => out.anomalies.push(kind),
  });
  for (const e of events) joiner.push(e);
  joiner.finish();
  return out;
}

describe('the join of futex waits', () => {
  test("a slow path's retries are one wait, from the first entry to the last return; the next lock call is another", () => {
    const { acquisitions, anomalies } = joinAll([
      wait({ tid: 2, from: 1000, to: 5000, holder: 3, flags: FutexFlag.HolderWaker }),
      wait({ tid: 2, from: 5010, to: 9000, holder: 4, flags: FutexFlag.Retry | FutexFlag.HolderWaker }),
      wait({ tid: 2, from: 20_000, to: 25_000, holder: 3, flags: FutexFlag.HolderWaker }),
    ]);
    assert.deepEqual(anomalies, []);
    assert.deepEqual(
      acquisitions.map((a) => [a.requestTs, a.acquiredTs, a.wait, a.hold, a.contended, a.blockerTid]),
      [
        [1000, 9000, 8000, null, true, 4], // the waker of the last wait ended it
        [20_000, 25_000, 5000, null, true, 3],
      ],
    );
  });

  test("an owner the lock's memory named at the first wait stays the blocker through the retries", () => {
    const { acquisitions } = joinAll([
      wait({ tid: 2, from: 1000, to: 5000, holder: 7, flags: FutexFlag.HolderOwner | FutexFlag.LayoutMutex }),
      wait({ tid: 2, from: 5010, to: 9000, holder: 8, flags: FutexFlag.Retry | FutexFlag.HolderWaker | FutexFlag.LayoutMutex }),
    ]);
    assert.deepEqual(acquisitions.map((a) => [a.wait, a.blockerTid, a.kind]), [[8000, 7, 'pthread_mutex']]);
  });

  test('a retry on another word, or another thread\'s wait, does not extend a wait', () => {
    const { acquisitions } = joinAll([
      wait({ tid: 2, from: 1000, to: 5000 }),
      wait({ tid: 3, from: 1500, to: 6000, flags: FutexFlag.Retry }),
      wait({ tid: 2, from: 5010, to: 9000, lock: LOCK + 8, flags: FutexFlag.Retry }),
    ]);
    assert.equal(acquisitions.length, 3);
  });

  test("the blocker's call site is that of its wake of the word", () => {
    const { acquisitions, wakes } = joinAll([wake(3, 4000, 0x402222), wait({ tid: 2, from: 1000, to: 5000, holder: 3, flags: FutexFlag.HolderWaker })]);
    assert.deepEqual(acquisitions.map((a) => [a.blockerTid, a.blockerCaller]), [[3, 0x402222]]);
    assert.deepEqual(wakes.map((w) => [w.tid, w.lock, w.woken, w.caller]), [[3, LOCK, 1, 0x402222]]);
  });

  test("a condition variable's waits are waits, not contention", () => {
    const { acquisitions } = joinAll([wait({ tid: 2, from: 1000, to: 5000, lock: COND_WORD, holder: 3, flags: FutexFlag.LayoutCond | FutexFlag.HolderWaker })]);
    assert.deepEqual(acquisitions.map((a) => [a.kind, a.wait, a.contended, a.blockerTid]), [['pthread_cond', 4000, false, null]]);
  });

  test('a wait that continues at the end is waiting since its first entry', () => {
    const waiting: RawEvent = { ...wait({ tid: 2, from: 0, to: 5010, flags: FutexFlag.Retry }), stage: Stage.Request, requestTs: null };
    const { acquisitions, open } = joinAll([wait({ tid: 2, from: 1000, to: 5000 }), waiting]);
    assert.deepEqual(acquisitions, []);
    assert.deepEqual(open.map((o) => [o.kind, o.tid, o.ts]), [['waiting-at-end', 2, 1000]]);
  });
});

const runs = new ScratchRuns({ threads: { 2: 'waiter', 3: 'holder' }, mode: 'contention' });
const NOTE = 'contention mode: contended waits only, no holds';

function contentionEvents(): SyntheticEvent[] {
  const events: SyntheticEvent[] = [];
  for (let i = 0; i < 30; i++) {
    const t = i * 100_000;
    events.push({ ts: t + 40_000, requestTs: t + 1000, stage: Stage.Acquired, func: Func.FutexWait, tid: 2, lock: LOCK, ret: 0, flags: FUTEX_WAIT_PRIVATE | FutexFlag.LayoutMutex | FutexFlag.HolderOwner, holder: 3, caller: 0x401010 });
    events.push({ ts: t + 39_000, requestTs: t + 38_000, stage: Stage.Wake, func: Func.FutexWake, tid: 3, lock: LOCK, ret: 1, flags: 1 | 128, caller: 0x402020 });
  }
  return events;
}

describe('every output of a contention run says so', () => {
  const path = runs.write(contentionEvents());

  test('text outputs: report, --blockers, lockorder, events, diff', async () => {
    for (const args of [['report', path], ['report', path, '--blockers'], ['lockorder', path], ['events', path], ['diff', path, path]]) {
      const r = await mutexAnalyze(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stdout.split('\n').slice(0, 6).some((l) => l.includes(NOTE)), `${args.join(' ')} header:\n${r.stdout.slice(0, 600)}`);
    }
  });

  test('data outputs: JSON carries it, CSV and exports say it on stderr, the HTML page shows it', async () => {
    const json = await mutexAnalyze(['report', path, '--format', 'json']);
    const report = JSON.parse(json.stdout) as Report;
    assert.equal(report.run.mode, 'contention');
    assert.equal(report.run.modeNote, NOTE);
    assert.deepEqual(report.rows.map((r) => [r.kind, r.acquisitions, r.contended, r.hold]), [['pthread_mutex', 30, 30, null]]);
    for (const args of [['report', path, '--format', 'csv'], ['export', path, '--format', 'folded'], ['export', path, '--format', 'pprof', '-o', joinPath(runs.dir, 'p.pb.gz')]]) {
      const r = await mutexAnalyze(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`^mutex-analyze: ${NOTE}$`, 'm'), args.join(' '));
    }
    const html = joinPath(runs.dir, 'page.html');
    const r = await mutexAnalyze(['html', path, '-o', html]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(readFileSync(html, 'utf8').includes(NOTE));
  });

  test('--blockers credits the owner the mutex named, at the call site of its wake', async () => {
    const r = await mutexAnalyze(['report', path, '--blockers', '--format', 'json']);
    const b = JSON.parse(r.stdout) as BlockersReport;
    assert.equal(b.contended.waits, 30);
    assert.deepEqual(b.rows.map((row) => [row.holders.map((h) => h.tid), row.waiters.map((w) => w.tid), row.holderCaller, row.waiterCaller]), [
      [[3], [2], '0x402020', '0x401010'],
    ]);
  });
});

test('diff refuses runs of different modes in one line', async () => {
  const full = runs.write(new LockScript().lock(2, LOCK, 0x401000).unlock(2, LOCK).events, { mode: 'full' });
  const contention = runs.write(contentionEvents());
  for (const args of [['diff', full, contention], ['diff', contention, '--vs', full], ['html', full, '--vs', contention, '-o', joinPath(runs.dir, 'x.html')]]) {
    const r = await mutexAnalyze(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /cannot compare runs of different modes: .* \(full mode\), .* contended waits only \(--contention\)/);
  }
});

describe('which programs full mode cannot see (recorder/runtimes.ts)', () => {
  const elf = (over: Partial<ElfObject>): ElfObject => ({
    path: '/bin/x', buildId: null, functions: [], data: [], addressOfOffset: () => null, interpreter: '/lib64/ld-linux-x86-64.so.2',
    hasSymtab: true, debugLink: null, sections: ['.text'], comment: 'GCC: (Debian 12.2.0-14) 12.2.0', ...over,
  });
  const fn = (name: string) => ({ name, address: 0x1000, fileOffset: 0x1000, size: 16, isDefaultVersion: true });

  test('Go by its build-id note, Rust by rustc or its symbols, anything static without a C library; a C program is none', () => {
    assert.deepEqual(guessRuntime(elf({ sections: ['.text', '.note.go.buildid'], interpreter: null })), { language: 'Go', evidence: 'a Go build-id note' });
    assert.deepEqual(guessRuntime(elf({ comment: 'rustc version 1.63.0\nGCC: (Debian 12.2.0-14) 12.2.0' })), { language: 'Rust', evidence: 'built by rustc' });
    assert.deepEqual(guessRuntime(elf({ functions: [fn('_ZN3std2rt10lang_start17h0123456789abcdefE')] })), { language: 'Rust', evidence: 'Rust symbols' });
    assert.deepEqual(guessRuntime(elf({ interpreter: null })), { language: null, evidence: 'statically linked without a C library' });
    assert.equal(guessRuntime(elf({ interpreter: null, functions: [fn('pthread_mutex_lock')] })), null, 'static with a C library: --lib works');
    assert.equal(guessRuntime(elf({})), null);
  });

  test('the advice names --contention, never --lib', () => {
    const go = { language: 'Go' as const, evidence: 'a Go build-id note' };
    assert.equal(noPthreadAdvice(go), 'it is a Go program (a Go build-id note): its locks are not pthread mutexes; record them with --contention (futex waits and wakes, any language)');
    assert.match(fullModeHint('/srv/app', { language: 'Rust', evidence: 'Rust symbols' }), /^no lock taken by \/srv\/app's own code was recorded, and it is a Rust program \(Rust symbols\): .*record it with --contention$/);
  });
});
