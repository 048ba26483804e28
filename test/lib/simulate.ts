import { EBUSY, Func, Stage, type RawEvent } from '../../core/events';

/**
 * Three threads on three mutexes, simulated: a lock call blocks while another thread holds the
 * lock (locks are taken in address order, or re-entered, so it never deadlocks), a trylock fails
 * with EBUSY then, a cond wait lets its mutex go and takes it back; and 1 event in 50 is lost, as
 * a full ring buffer would lose it. Each lock call is one acquired event carrying its request time,
 * call site and stack id, as the recorder writes it.
 */
export function simulatedEvents(seed: number, steps: number): (RawEvent & { stackId: number })[] {
  const random = mulberry32(seed);
  const events: (RawEvent & { stackId: number })[] = [];
  let clock = 0;
  const now = (): number => (clock += 10);
  const call = (): { ts: number; caller: number; stackId: number } => ({ ts: now(), caller: 0x1000 + 16 * random(8), stackId: random(4) });
  const emit = (tid: number, stage: number, func: number, lock: number, made: { ts: number; caller: number; stackId: number }, ret = 0): void => {
    const ts = stage === Stage.Acquired ? now() : made.ts;
    const requestTs = stage === Stage.Acquired ? made.ts : null;
    if (random(50) > 0) events.push({ id: events.length + 1, ts, requestTs, stage, func, pid: 1, tid, lock, ret, caller: made.caller, stackId: made.stackId });
  };
  const holders = new Map<number, { tid: number; depth: number }>(); // by lock
  const pending = new Map<number, { lock: number; func: number; made: { ts: number; caller: number; stackId: number } }>(); // by tid: the lock call it is in
  for (let step = 0; step < steps; step++) {
    const tid = 1 + random(3);
    const held = [...holders].filter(([, h]) => h.tid === tid).map(([lock]) => lock);
    const inCall = pending.get(tid);
    if (inCall) {
      const h = holders.get(inCall.lock);
      if (h && h.tid !== tid) continue; // still blocked
      pending.delete(tid);
      if (h) h.depth++;
      else holders.set(inCall.lock, { tid, depth: 1 });
      emit(tid, Stage.Acquired, inCall.func, inCall.lock, inCall.made);
    } else if (random(5) < 2 || held.length === 0) {
      const from = held.length > 0 ? Math.max(...held) / 0x100 : 1; // a lock not below any held: re-entry, or in order
      const lock = 0x100 * (from + random(4 - from));
      const func = random(5) === 0 ? Func.PthreadMutexTrylock : Func.PthreadMutexLock;
      const made = call();
      const h = holders.get(lock);
      if (func === Func.PthreadMutexTrylock && h && h.tid !== tid) emit(tid, Stage.Acquired, func, lock, made, EBUSY);
      else pending.set(tid, { lock, func, made });
    } else if (held.length > 0) {
      const lock = held[random(held.length)];
      const h = holders.get(lock)!;
      const waitedFor = [...pending.values()].some((c) => c.lock === lock);
      if (random(5) === 0 && !waitedFor) {
        emit(tid, Stage.Released, Func.PthreadCondWait, lock, call());
        emit(tid, Stage.Acquired, Func.PthreadCondWait, lock, call());
      } else {
        emit(tid, Stage.Released, Func.PthreadMutexUnlock, lock, call());
        if (--h.depth === 0) holders.delete(lock);
      }
    }
  }
  return events;
}

/** A small seeded generator: random(k) is an integer in [0, k). */
function mulberry32(seed: number): (k: number) => number {
  let a = seed >>> 0;
  return (k) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % k);
  };
}
