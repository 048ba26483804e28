#!/usr/bin/env node
/**
 * Writes a synthetic run file of N events through the recorder's own RunStore (schema.sql, its
 * PRAGMAs and batch writer), so the analyzer can be measured on runs of any size without
 * BPF. The workload is simulated event by event, in time order:
 *   16 threads of one process, each looping think -> lock -> hold -> unlock over 64 mutexes picked
 *   with Zipf-like popularity (the hottest few are contended, with FIFO hand-off on unlock),
 *   3% of user attempts are trylocks (EBUSY when the mutex is held), the last 4 mutexes are kernel
 *   mutexes (negative addresses, mutex_lock/mutex_unlock), every lock call carries a call stack;
 *   as the recorder writes them, a call is one acquired event with its request time.
 * Deterministic for a given N and seed.
 *
 *   node dist/bench/synthetic-run.js OUT.db N [--seed S]
 */
import { parseArgs } from 'node:util';

import { EBUSY, Func, Stage } from '../core/events';
import { addon } from '../recorder/addon';
import { newEventColumns } from '../runfile/columns';
import type { EventBatch } from '../runfile/rows';
import { RunStore } from '../runfile/writer';
import type { SymbolRow } from '../runfile/rows';

const THREADS = 16;
const LOCKS = 64;
const KERNEL_LOCKS = 4; // the last ones
const SITES_PER_LOCK = 2;
const PID = 4242;
const TRYLOCK_SHARE = 0.03;
const MEAN_THINK_NS = 4_000;
const MEAN_HOLD_NS = 600;
const ACQUIRE_NS = 60; // request -> acquired of a free mutex
const HANDOFF_NS = 3_000; // unlock -> the next waiter's acquired (a futex wake-up)
const BATCH = 65_536;

const USER_LOCK_BASE = 0x55d0_4a20_0000; // heap-like
const KERNEL_LOCK_BASE = Number(BigInt.asIntN(64, 0xffff_8881_0a40_0000n));
const USER_CODE_BASE = 0x55d0_4800_1000;
const KERNEL_CODE_BASE = Number(BigInt.asIntN(64, 0xffff_ffff_8110_0000n));

/** mulberry32: small, fast, seeded. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const isKernel = (lock: number): boolean => lock >= LOCKS - KERNEL_LOCKS;
const lockAddress = (lock: number): number => (isKernel(lock) ? KERNEL_LOCK_BASE + lock * 0x80 : USER_LOCK_BASE + lock * 0x40);
const callSite = (lock: number, site: number): number => (isKernel(lock) ? KERNEL_CODE_BASE : USER_CODE_BASE) + lock * 0x100 + site * 0x20;
const stackIdOf = (lock: number, site: number): number => lock * SITES_PER_LOCK + site + 1;

const enum Phase {
  Think, // next: request
  Acquire, // next: acquired (ret 0)
  Fail, // next: acquired (EBUSY), trylock of a held mutex
  Hold, // next: released
  Wait, // queued on its mutex (next: never): the holder's release hands it the mutex
}

interface Thread {
  tid: number;
  phase: Phase;
  next: number; // ts of its next event
  requestTs: number; // of the lock call it is in
  lock: number;
  site: number;
  func: number;
}

/** Writes a run of exactly `events` events to `path` (replaced if it exists). */
export function writeSyntheticRun(path: string, events: number, seed = 1): void {
  const rand = random(seed);
  const exp = (mean: number): number => Math.max(1, Math.round(-mean * Math.log(1 - rand())));
  // Zipf-like popularity (weight 1/(rank+1)), sampled from a table of 4096 slots
  const weights = Array.from({ length: LOCKS }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const pick = new Uint8Array(4096);
  for (let slot = 0, lock = 0, acc = weights[0]; slot < pick.length; slot++) {
    while ((slot + 0.5) / pick.length > acc / total) acc += weights[++lock];
    pick[slot] = lock;
  }
  const threads: Thread[] = Array.from({ length: THREADS }, (_, i) => ({
    tid: PID + 1 + i, phase: Phase.Think, next: 1_000 + exp(MEAN_THINK_NS), requestTs: 0, lock: 0, site: 0, func: 0,
  }));
  const holder = new Int32Array(LOCKS).fill(-1); // thread index
  const queues: number[][] = Array.from({ length: LOCKS }, () => []);

  const store = RunStore.create(path, { force: true, lockFile: addon.lockFile });
  store.writeRun(
    {
      toolVersion: 'synthetic', host: 'bench', kernelRelease: 'synthetic', startRealtimeNs: 1_795_000_000_000_000_000n, startMonotonicNs: 1_000_000_000n,
      targetPid: PID, targetComm: 'synthetic', targetCmdline: ['synthetic', String(events)], launched: true, userProbes: true,
      kernelProbe: 'fentry', kernelScope: 'target', mode: 'full', probeCost: null, options: { synthetic: { events, seed } },
    },
    [],
  );
  const batch: EventBatch = {
    ...newEventColumns(BATCH),
    count: 0,
    threads: threads.map((t, i) => ({ ts: 0, pid: PID, tid: t.tid, comm: `worker-${i}` })),
  };
  let written = 0;
  const emit = (t: Thread, ts: number, stage: number, func: number, ret: number, caller: number, stackId: number): void => {
    const i = batch.count++;
    written++;
    batch.ts[i] = ts;
    batch.requestTs[i] = stage === Stage.Acquired ? t.requestTs : NaN;
    batch.stage[i] = stage;
    batch.func[i] = func;
    batch.pid[i] = PID;
    batch.tid[i] = t.tid;
    batch.lock[i] = lockAddress(t.lock);
    batch.ret[i] = ret;
    batch.caller[i] = caller;
    batch.cpu[i] = t.tid % 2;
    batch.stackId[i] = stackId;
    if (batch.count === BATCH) {
      store.append(batch);
      batch.count = 0;
      batch.threads = [];
    }
  };

  let now = 0;
  while (written < events) {
    let k = 0;
    for (let j = 1; j < THREADS; j++) if (threads[j].next < threads[k].next) k = j;
    const t = threads[k];
    now = t.next;
    switch (t.phase) {
      case Phase.Think: {
        t.lock = pick[Math.floor(rand() * pick.length)];
        t.site = rand() < 0.5 ? 0 : 1;
        const kernel = isKernel(t.lock);
        const trylock = !kernel && rand() < TRYLOCK_SHARE;
        t.func = kernel ? Func.MutexLock : trylock ? Func.PthreadMutexTrylock : Func.PthreadMutexLock;
        t.requestTs = now; // written with the acquired event, as the recorder does
        if (holder[t.lock] < 0) {
          holder[t.lock] = k;
          t.phase = Phase.Acquire;
          t.next = now + ACQUIRE_NS;
        } else if (trylock) {
          t.phase = Phase.Fail;
          t.next = now + ACQUIRE_NS;
        } else {
          queues[t.lock].push(k);
          t.phase = Phase.Wait;
          t.next = Infinity;
        }
        break;
      }
      case Phase.Acquire:
      case Phase.Fail: {
        const failed = t.phase === Phase.Fail;
        emit(t, now, Stage.Acquired, t.func, failed ? EBUSY : 0, callSite(t.lock, t.site), stackIdOf(t.lock, t.site));
        t.phase = failed ? Phase.Think : Phase.Hold;
        t.next = now + exp(failed ? MEAN_THINK_NS : MEAN_HOLD_NS * (isKernel(t.lock) ? 4 : 1));
        break;
      }
      case Phase.Hold: {
        emit(t, now, Stage.Released, isKernel(t.lock) ? Func.MutexUnlock : Func.PthreadMutexUnlock, 0, callSite(t.lock, t.site) + 0x10, -1);
        const waiter = queues[t.lock].shift();
        holder[t.lock] = waiter ?? -1;
        if (waiter !== undefined) {
          threads[waiter].phase = Phase.Acquire;
          threads[waiter].next = now + exp(HANDOFF_NS);
        }
        t.phase = Phase.Think;
        t.next = now + exp(MEAN_THINK_NS);
        break;
      }
    }
  }
  if (batch.count > 0) store.append(batch);

  const stacks = new Map<number, Float64Array>();
  const symbols = new Map<number, SymbolRow>();
  for (let lock = 0; lock < LOCKS; lock++) {
    const kernel = isKernel(lock);
    const module = kernel ? 'kernel' : 'synthetic';
    if (lock < 8 || kernel) symbols.set(lockAddress(lock), { name: kernel ? `kernel_mutex_${lock}` : `g_lock_${lock}`, module, kind: 'data' });
    for (let site = 0; site < SITES_PER_LOCK; site++) {
      const caller = callSite(lock, site);
      const entry = kernel ? KERNEL_CODE_BASE - 0x1000 : USER_CODE_BASE - 0x1000; // the lock function itself
      stacks.set(stackIdOf(lock, site), Float64Array.of(entry, caller + 0x400, caller + 0x800));
      symbols.set(caller, { name: `site_${lock}_${site}+0x8`, module, kind: 'code' });
      symbols.set(caller + 0x10, { name: `site_${lock}_${site}+0x18`, module, kind: 'code' });
    }
  }
  store.addStacks(stacks);
  store.addSymbols(symbols);
  store.finish({ endReason: 'target exited (code 0)', endTs: now + 1_000, dropCount: 0, targetExit: 'code 0' });
  store.close();
}

if (require.main === module) {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { seed: { type: 'string', default: '1' } } });
  const [out, n] = positionals;
  const events = Number(n);
  if (positionals.length !== 2 || !Number.isSafeInteger(events) || events <= 0) {
    process.stderr.write('usage: node dist/bench/synthetic-run.js OUT.db N [--seed S]\n');
    process.exit(2);
  }
  const started = performance.now();
  writeSyntheticRun(out, events, Number(values.seed));
  const s = (performance.now() - started) / 1000;
  process.stdout.write(`${out}: ${events} events in ${s.toFixed(1)} s (${(events / s / 1e6).toFixed(2)} M events/s)\n`);
}
