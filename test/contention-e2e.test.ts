// tier: probes
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { describe, test } from 'node:test';

import Database from 'better-sqlite3';

import type { BlockersReport } from '../analyzer/blockers';
import type { Report, ReportRow } from '../analyzer/report';
import { Func, formatAddress } from '../core/events';
import { functionOfSite } from './lib/sites';
import { address, collect, MUTEX_REC, mutexAnalyze, mutexRec, mutexRecHanging, waitFor } from './lib/tools';
import { goWorkload, parseLines, rustWorkload, scratchDir, workload } from './lib/workloads';

const NOTE = 'contention mode: contended waits only, no holds';

async function report(path: string, ...args: string[]): Promise<Report> {
  const r = await mutexAnalyze(['report', path, '--format', 'json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Report;
}

async function blockers(path: string, lock: string): Promise<BlockersReport> {
  const r = await mutexAnalyze(['report', path, '--blockers', '--lock', lock, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as BlockersReport;
}

function row(r: Report, lock: string): ReportRow {
  const found = r.rows.find((x) => x.key === lock);
  assert.ok(found, `no row for ${lock} in ${r.rows.map((x) => x.key).join(', ')}`);
  return found;
}

/** Futex events (func 64-79) and every other event of a run file. */
function eventCounts(path: string): { futex: number; other: number; kernel: number } {
  const db = new Database(path, { readonly: true });
  try {
    const c = db.prepare('SELECT sum(func BETWEEN 64 AND 79) AS futex, sum(func = ?) AS kernel, count(*) AS total FROM events').get(Func.KernelContention) as Record<string, number | null>;
    return { futex: c.futex ?? 0, kernel: c.kernel ?? 0, other: (c.total ?? 0) - (c.futex ?? 0) - (c.kernel ?? 0) };
  } finally {
    db.close();
  }
}

describe('contention mode on a lock built on futex(2) as Rust\'s is (test/workloads/futex_lock.c)', () => {
  const THREADS = 4;
  const ITERATIONS = 60;
  const HOLD_US = 500;

  test("its waits are counted (≥ 95 %) and their total is within 10 % of the threads' own timing of their slow paths", async () => {
    const exe = workload('futex_lock');
    const path = joinPath(scratchDir(), 'futex.db');
    const r = await mutexRec(['--contention', '-o', path, '--', exe, String(THREADS), String(ITERATIONS), String(HOLD_US)]);
    assert.equal(r.code, 0, r.stderr);
    const lock = parseLines(r.stdout, 'lock')[0].addr;
    const slow = parseLines(r.stdout, 'slow');
    assert.equal(slow.length, THREADS);
    const waits = slow.reduce((n, s) => n + Number(s.waits), 0);
    const waitNs = slow.reduce((n, s) => n + Number(s.wait_ns), 0);
    assert.ok(waits >= THREADS * ITERATIONS * 0.5, `the workload contended: ${waits} slow paths waited`);

    const rows = await report(path);
    assert.equal(rows.run.mode, 'contention');
    const word = row(rows, lock);
    assert.equal(word.kind, 'futex');
    assert.equal(word.acquisitions, word.contended);
    assert.equal(word.hold, null, 'no holds in contention mode');
    assert.ok(word.acquisitions >= 0.95 * waits && word.acquisitions <= 1.05 * waits, `${word.acquisitions} waits recorded, the threads counted ${waits}`);
    const total = word.wait!.total;
    assert.ok(Math.abs(total - waitNs) <= 0.1 * waitNs, `recorded ${total} ns of waiting, the threads timed ${waitNs} ns`);

    // each wait is credited to the worker whose wake ended it, at its unlock
    const b = await blockers(path, lock);
    const workers = new Set(parseLines(r.stdout, 'slow').map((s) => Number(s.tid)));
    assert.ok(b.unattributed.waits <= 0.05 * word.contended, `${b.unattributed.waits} of ${word.contended} waits without a holder`);
    for (const x of b.rows) for (const h of x.holders) assert.ok(workers.has(h.tid), `holder ${h.tid} is a worker`);
    const fn = (site: string): string | undefined => functionOfSite(exe, site)?.replace(/\.constprop\.\d+$/, '');
    assert.deepEqual(new Set(b.rows.map((x) => fn(x.waiterSite))), new Set(['futex_wait']), 'waited in its futex_wait');
    assert.deepEqual(new Set(b.rows.map((x) => fn(x.holderSite))), new Set(['futex_wake_one']), 'woken from its futex_wake_one');
  });
});

describe('contention mode on pthread mutexes and condition variables', () => {
  test('a contended pthread mutex: every wait is credited to the thread that held it (test/workloads/blockers.c)', async () => {
    const ROUNDS = 4;
    const exe = workload('blockers');
    const path = joinPath(scratchDir(), 'blockers.db');
    const r = await mutexRec(['--contention', '-o', path, '--', exe, String(ROUNDS), '20']);
    assert.equal(r.code, 0, r.stderr);
    const lock = parseLines(r.stdout, 'lock')[0].addr;
    const tids = new Map(parseLines(r.stdout, 'thread').map((t) => [t.name, Number(t.tid)]));
    const word = row(await report(path), lock);
    assert.equal(word.kind, 'pthread_mutex');
    assert.equal(word.name, 'journal_lock');
    const b = await blockers(path, lock);
    assert.equal(b.contended.waits, ROUNDS);
    assert.equal(b.unattributed.waits, 0);
    assert.deepEqual(b.rows.map((x) => [x.waiters.map((t) => t.tid), x.holders.map((t) => t.tid), functionOfSite(exe, x.waiterSite)]), [
      [[tids.get('flusher')], [tids.get('compactor')], 'flush_journal'],
    ]);
    assert.ok(b.contended.totalNs > ROUNDS * 20e6 * 0.5);
  });

  test('condition variable waits are kind pthread_cond and never contention (test/workloads/contention.c cond)', async () => {
    const ROUNDS = 20;
    const exe = workload('contention');
    const path = joinPath(scratchDir(), 'cond.db');
    const r = await mutexRec(['--contention', '-o', path, '--', exe, 'cond', String(ROUNDS), '5']);
    assert.equal(r.code, 0, r.stderr);
    const cond = address(parseLines(r.stdout, 'cond')[0].addr);
    const consumer = Number(parseLines(r.stdout, 'thread').find((t) => t.name === 'consumer')!.tid);
    const rows = (await report(path)).rows.filter((x) => {
      const a = address(x.key);
      return a >= cond && a < cond + 48; // its __g_signals words
    });
    const waits = rows.reduce((n, x) => n + x.acquisitions, 0);
    assert.ok(waits >= ROUNDS * 0.75 && waits <= ROUNDS, `${waits} cond waits for ${ROUNDS} signals`);
    for (const x of rows) {
      assert.equal(x.kind, 'pthread_cond', x.name);
      assert.equal(x.contended, 0);
      assert.match(x.name, /^queue_ready\+0x2[8c]$/);
    }
    const byThread = await report(path, '--by', 'thread');
    assert.ok(byThread.rows.some((x) => x.key === String(consumer)), 'the consumer waited');
  });

  test('uncontended pthread lock/unlock pairs record no event (test/workloads/contention.c pairs)', async () => {
    const path = joinPath(scratchDir(), 'pairs.db');
    const r = await mutexRec(['--contention', '-o', path, '--', workload('contention'), 'pairs', '200000']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /done pairs=400000/);
    assert.deepEqual(eventCounts(path), { futex: 0, other: 0, kernel: 0 });
    const a = await mutexAnalyze(['report', path]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /contention mode records only contended waits: no thread of the target waited on a futex/);
  });

  test('--kernel adds the kernel\'s contended locks to the same run (test/workloads/contention.c mmap)', async () => {
    const path = joinPath(scratchDir(), 'kernel.db');
    const r = await mutexRec(['--contention', '--kernel', '-o', path, '--', workload('contention'), 'mmap', '4', '1500']);
    assert.equal(r.code, 0, r.stderr);
    const counts = eventCounts(path);
    assert.ok(counts.kernel > 0, 'the threads contended the mmap lock in the kernel');
    assert.ok(counts.futex > 0, "the main thread's joins waited on futexes");
    assert.equal(counts.other, 0);
    const rows = await report(path);
    assert.equal(rows.run.probes.kernel, 'tracepoint');
    assert.ok(rows.rows.some((x) => x.kind.startsWith('rwsem')), rows.rows.map((x) => x.kind).join(', '));
  });

  test('a deadlock: the waits still in progress at the stop are requests on each other\'s mutex, the owner named (test/workloads/order.c deadlock)', async () => {
    const path = joinPath(scratchDir(), 'deadlock.db');
    const exe = workload('order');
    const { code, stdout, stderr } = await mutexRecHanging(['--contention', '-d', '2', '-o', path, '--', exe, 'deadlock']);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /deadlocked/);
    const db = new Database(path, { readonly: true });
    const [locks] = parseLines(stdout, 'locks');
    const tids = new Map(parseLines(stdout, 'thread').map((t) => [t.name, Number(t.tid)]));
    const waiting = db.prepare('SELECT tid, lock, func, holder FROM events WHERE stage = 0 ORDER BY tid').all() as { tid: number; lock: number; func: number; holder: number }[];
    db.close();
    assert.deepEqual(
      waiting.map((w) => [w.tid, formatAddress(w.lock), w.func, w.holder]).sort(),
      [[tids.get('t-ab'), locks.b, Func.FutexWait, tids.get('t-ba')], [tids.get('t-ba'), locks.a, Func.FutexWait, tids.get('t-ab')]].sort(),
      't-ab waits for b, which t-ba holds, and t-ba for a',
    );
    const rows = (await report(path)).rows.filter((x) => x.open.waitingAtEnd > 0);
    assert.deepEqual(rows.map((x) => x.key).sort(), [locks.a, locks.b].sort());
  });

  test('--pid: attached to a running process, -d keeps that many seconds', async () => {
    const child = spawn(workload('futex_lock'), ['3', '4000', '500'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await waitFor(child.stdout!, /lock addr=/);
      const path = joinPath(scratchDir(), 'attached.db');
      const r = await mutexRec(['--contention', '--pid', String(child.pid), '-d', '1', '-o', path]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /recording contended futex waits and wakes of pid \d+/);
      const rows = await report(path);
      assert.ok(rows.run.durationNs >= 1e9 && rows.run.durationNs < 1.2e9, String(rows.run.durationNs));
      assert.ok(rows.rows[0].acquisitions > 100, `${rows.rows[0].acquisitions} waits in 1 s`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('every command works on a contention run and says so in its header', async () => {
    const path = joinPath(scratchDir(), 'all.db');
    const r = await mutexRec(['--contention', '-o', path, '--', workload('futex_lock'), '2', '30', '300']);
    assert.equal(r.code, 0, r.stderr);
    const out = scratchDir();
    for (const args of [
      ['report', path], ['report', path, '--by', 'callsite', '--stack'], ['report', path, '--blockers'], ['lockorder', path], ['events', path],
      ['diff', path, path], ['export', path, '--format', 'chrome', '-o', joinPath(out, 't.json')], ['html', path, '-o', joinPath(out, 'p.html')],
    ]) {
      const a = await mutexAnalyze(args);
      assert.equal(a.code, 0, `${args.join(' ')}: ${a.stderr}`);
      const written = args.includes('-o') ? readFileSync(args[args.indexOf('-o') + 1], 'utf8') : '';
      assert.ok((a.stdout + a.stderr + written).includes(NOTE), args.join(' '));
    }
  });
});

describe('other languages', () => {
  test('Rust (Debian rustc): full mode sees none of its locks and says to use --contention, which sees its std::sync::Mutex', async () => {
    const exe = rustWorkload('rust_mutex');
    const full = await mutexRec(['-o', joinPath(scratchDir(), 'rust-full.db'), '--', exe, '4', '30', '500']);
    assert.equal(full.code, 0, full.stderr);
    assert.match(full.stderr, /no lock taken by .*rust_mutex's own code was recorded, and it is a Rust program \(Rust symbols\).*record it with --contention/);

    const path = joinPath(scratchDir(), 'rust.db');
    const r = await mutexRec(['--contention', '-o', path, '--', exe, '4', '30', '500']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /record it with --contention/);
    const { addr, size } = parseLines(r.stdout, 'lock')[0];
    const mutex = address(addr);
    const [top] = (await report(path)).rows;
    assert.ok(address(top.key) >= mutex && address(top.key) < mutex + Number(size), `the most waited word ${top.key} is inside the Mutex at ${addr}`);
    assert.equal(top.kind, 'futex');
    assert.ok(top.contended >= 30, `${top.contended} contended waits of 120 lock calls`);
    assert.match(top.name, /std::sys::unix::(futex::futex_wait|locks::futex_mutex)/, 'named by its call site in Rust\'s std');
  });

  test('Go (Debian golang-go, static): full mode refuses it with advice to use --contention, not --lib; contention mode records its runtime\'s futex waits', async () => {
    const exe = goWorkload('go_mutex');
    const full = await mutexRec(['-o', joinPath(scratchDir(), 'go-full.db'), '--', exe, '4', '30', '500']);
    assert.equal(full.code, 2);
    assert.equal(full.stderr.trim().split('\n').length, 1, full.stderr);
    assert.match(full.stderr, /is a Go program \(a Go build-id note\): its locks are not pthread mutexes; record them with --contention/);
    assert.doesNotMatch(full.stderr, /--lib/);

    const path = joinPath(scratchDir(), 'go.db');
    const r = await mutexRec(['--contention', '-o', path, '--', exe, '4', '30', '500']);
    assert.equal(r.code, 0, r.stderr);
    const rows = (await report(path)).rows;
    assert.ok(rows.reduce((n, x) => n + x.acquisitions, 0) > 0);
    for (const x of rows) assert.equal(x.kind, 'futex', x.name);
  });
});

test('bad input: --contention is refused with --user, --all, --lib, or without a target, in one line', async () => {
  for (const args of [['--contention', '--user', '--pid', '1'], ['--contention', '--all'], ['--contention', '--lib', '/bin/true', '--pid', '1'], ['--contention']]) {
    const child = spawn(process.execPath, [MUTEX_REC, ...args, '-o', joinPath(scratchDir(), 'x.db')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const r = await collect(child, 30_000);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^mutex-rec: .*--contention/, r.stderr);
  }
});
