import Database from 'better-sqlite3';
import { join } from 'node:path';

import { isWaitOnly, Stage, type RawEvent } from '../../core/events';
import { renderSchema } from '../../runfile/schema';
import { scratchDir } from './workloads';



export type SyntheticEvent = Omit<RawEvent, 'id' | 'pid' | 'caller'> & { pid?: number; caller?: number; stackId?: number };

export interface SyntheticRunOptions {
  dropped?: number;
  endReason?: string | null;
  threads?: Record<number, string>;
  stacks?: Record<number, number[]>; // stack id -> frame addresses, innermost first
  symbols?: { address: number; name: string; kind: 'code' | 'data' }[];
  mappings?: { start: number; end: number; offset?: number; path: string; executable: boolean | null; buildId?: string }[];
  mode?: 'full' | 'contention'; // run.mode (default full)
}

/**
 * The recorder's form of hand-made events: a request and the acquired event that answers it are
 * one row (the acquired, with request_ts and the request's call site and stack); a request never
 * answered stays a request row, after every other event, as the recorder writes it at the stop.
 */
export function* recorderForm(events: Iterable<SyntheticEvent>): Generator<SyntheticEvent> {
  const open = new Map<string, SyntheticEvent>(); // by thread (and lock for wait-only calls)
  const key = (e: SyntheticEvent): string => (isWaitOnly(e.func) ? `${e.tid}:${e.lock}` : `${e.tid}`);
  const unanswered: SyntheticEvent[] = [];
  for (const e of events) {
    if (e.stage === Stage.Request) {
      const previous = open.get(key(e));
      if (previous) unanswered.push(previous);
      open.set(key(e), e);
      continue;
    }
    const request = e.stage === Stage.Acquired && e.requestTs == null ? open.get(key(e)) : undefined;
    if (request && request.lock === e.lock) {
      open.delete(key(e));
      yield { ...e, requestTs: request.ts, caller: request.caller ?? e.caller, stackId: request.stackId, outerCaller: request.outerCaller };
      continue;
    }
    yield e;
  }
  yield* unanswered;
  yield* open.values();
}

/** A run file written the way mutex-rec writes one, from hand-made events (see recorderForm). */
export function writeRunFile(path: string, events: Iterable<SyntheticEvent>, opts: SyntheticRunOptions = {}): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(renderSchema());
  db.prepare(
    `INSERT INTO run (id, tool_version, host, kernel_release, start_realtime_ns, start_monotonic_ns, target_pid, target_comm,
       target_cmdline, launched, end_reason, drop_count, end_ts, mode, user_probes)
     VALUES (1, 'test', 'test-host', 'test-kernel', 1795000000000000000, 1000000000, 100, 'synthetic', '["synthetic"]', 1, ?, ?, NULL, ?, ?)`,
  ).run(opts.endReason === undefined ? 'target exited (code 0)' : opts.endReason, opts.dropped ?? 0, opts.mode ?? 'full', opts.mode === 'contention' ? 0 : 1);
  const insert = db.prepare(
    'INSERT INTO events (ts, request_ts, stage, func, pid, tid, lock, ret, caller, cpu, flags, stack_id, holder, cond, outer_caller) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)',
  );
  let count = 0;
  let lastTs = 0;
  let batch: SyntheticEvent[] = [];
  const flush = db.transaction((rows: SyntheticEvent[]) => {
    for (const e of rows) {
      insert.run(e.ts, e.requestTs ?? null, e.stage, e.func, e.pid ?? 100, e.tid, e.lock, e.ret, e.caller ?? 0, e.flags ?? 0, e.stackId ?? null, e.holder || null, e.cond ?? null, e.outerCaller || null);
    }
  });
  for (const e of recorderForm(events)) {
    batch.push(e);
    count++;
    lastTs = Math.max(lastTs, e.ts);
    if (batch.length >= 50_000) {
      flush(batch);
      batch = [];
    }
  }
  flush(batch);
  for (const [tid, comm] of Object.entries(opts.threads ?? {})) {
    db.prepare('INSERT INTO threads (tid, pid, comm, first_ts, last_ts) VALUES (?, 100, ?, 0, ?)').run(Number(tid), comm, lastTs);
  }
  for (const [stackId, frames] of Object.entries(opts.stacks ?? {})) {
    frames.forEach((address, depth) => db.prepare('INSERT INTO stack_frames (stack_id, depth, address) VALUES (?, ?, ?)').run(Number(stackId), depth, address));
  }
  for (const s of opts.symbols ?? []) {
    db.prepare('INSERT INTO symbols (address, name, module, kind) VALUES (?, ?, ?, ?)').run(s.address, s.name, 'synthetic', s.kind);
  }
  for (const m of opts.mappings ?? []) {
    const executable = m.executable === null ? null : Number(m.executable);
    db.prepare('INSERT INTO mappings (start, end, offset, path, build_id, first_ts, executable) VALUES (?, ?, ?, ?, ?, 0, ?)').run(m.start, m.end, m.offset ?? 0, m.path, m.buildId ?? null, executable);
  }
  db.prepare('UPDATE run SET event_count = ?, end_ts = ? WHERE id = 1').run(count, lastTs + 1000);
  db.pragma('journal_mode = DELETE');
  db.close();
}

/** Hand-made runs written one file after another into a scratch directory, with a test file's defaults. */
export class ScratchRuns {
  readonly dir = scratchDir();
  private files = 0;

  constructor(private readonly defaults: SyntheticRunOptions) {}

  write(events: Iterable<SyntheticEvent>, opts: SyntheticRunOptions = {}): string {
    const path = join(this.dir, `run-${++this.files}.db`);
    writeRunFile(path, events, { ...this.defaults, ...opts });
    return path;
  }
}
