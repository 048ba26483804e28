import Database from 'better-sqlite3';
import { basename } from 'node:path';

import { UserError } from '../core/errors';
import { escapeControl } from '../core/escape';
import { Stage, type RawEvent } from '../core/events';
import { Joiner, type JoinSink } from '../core/join';
import type { ProbeCost } from '../core/probe_cost';
import { Progress } from '../core/progress';
import { FutexKinds, type KindTally } from '../core/futex_kinds';
import { decodeSpool, fillEvent } from './columns';
import { recorderOf } from './filelock';
import { EVENT_COLUMNS, type ColumnSpec } from './format';
import { readHeader, type RunMeta } from './header';
import { checkRunTables, openRunDatabase } from './open';
import { eventTableColumns, INVALID_TIME, readEventChunks } from './reader';
import type { MappingRow, SymbolRow } from './rows';
import { SCHEMA_VERSION } from './schema';

export type { RunMeta } from './header';

/** Oldest schema this analyzer reads: schema 3 has no probe cost (its waits and holds are shown as recorded). */
const OLDEST_SCHEMA = 3;
/** First with the events' cond column: condition variables, rwlocks and spin locks recorded. */
export const COND_SCHEMA = 5;

/** A file mapping of the target; executable null when the run file does not say. */
export type RunMapping = MappingRow;

/** A raw event with the id of its request's call stack (stack_frames), null when it has none. */
export type RunEvent = RawEvent & { stackId: number | null };

/**
 * Stack ids from here on are not recorded ones: a recorded stack with the outer caller the event
 * carried (schema 6), given an id of its own so that every analysis keys it as a stack
 * (RunFile.unwoundStack says which). Recorded ids are s32, below this.
 */
const UNWOUND_STACK_BASE = 2 ** 31;

/** A recorded stack and the outer caller its event carried (the lock call's caller's call site, from .eh_frame). */
export interface UnwoundStack {
  stackId: number;
  outerCaller: number;
}

/** A run file opened read-only; events are streamed in id order, never loaded whole. */
export class RunFile {
  readonly meta: RunMeta;
  /** Waits and holds as recorded, the probes' cost not subtracted (--raw). */
  raw = false;
  /** Subtracted instead of the run's own probe cost (diff: one cost for every run compared). */
  probeCostOverride: ProbeCost | null = null;
  readonly threadNames: Map<number, string>;
  /** Rows the last eachEvent() pass left out, by why: they break what every run file holds. */
  readonly leftOut = new Map<string, number>();
  private readonly db: Database.Database;
  /** The events have the cond column (schema 5 on): condition variables are recorded. */
  readonly hasCond: boolean;
  /** Stack ids given to recorded stacks with an outer caller: by stack id, then outer caller. */
  private readonly unwoundIds = new Map<number, Map<number, number>>();
  private readonly unwound: UnwoundStack[] = [];

  static open(path: string): RunFile {
    const db = openRunDatabase(path);
    try {
      return new RunFile(path, db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private constructor(path: string, db: Database.Database) {
    this.db = db;
    // One snapshot for the whole analysis (header, events, spool), whatever a live recorder writes
    // meanwhile: a read transaction held until close().
    db.exec('BEGIN');
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    const version = db.pragma('user_version', { simple: true }) as number;
    const hasRunTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run'").get() !== undefined;
    if (!hasRunTable || version === 0) throw new UserError(`${path} is a SQLite file but not a mutex-rec run file (no run table): give a file written by mutex-rec -o`);
    if (version > SCHEMA_VERSION) {
      throw new UserError(`${path} has run-file schema ${version}, newer than this mutex-analyze reads (${SCHEMA_VERSION}): upgrade mutex-analyze`);
    }
    if (version < OLDEST_SCHEMA) {
      throw new UserError(`${path} has run-file schema ${version}, from an older mutex-rec (this mutex-analyze reads ${OLDEST_SCHEMA} to ${SCHEMA_VERSION}): record it again`);
    }
    checkRunTables(db, path);
    this.hasCond = eventTableColumns(db).has('cond');
    if (version >= COND_SCHEMA && !this.hasCond) throw new UserError(`${path} has schema ${version} but its events have no cond column: the file is damaged: record again`);
    const row = db.prepare('SELECT * FROM run WHERE id = 1').safeIntegers(true).get() as Record<string, unknown> | undefined;
    if (!row) throw new UserError(`${path} has no run record (the recorder failed before it started): record again`);
    const header = readHeader(row);
    this.meta = {
      ...header,
      path,
      schemaVersion: version,
      targetComm: header.targetComm === null ? null : escapeControl(header.targetComm),
      targetCmdline: header.targetCmdline ?? [],
      options: header.options ?? {},
      mode: header.mode === 'contention' ? 'contention' : 'full',
      recorderPid: header.endReason === null ? recorderOf(path) : null,
      spooledEvents: hasTable(db, 'event_spool') ? (db.prepare('SELECT coalesce(sum(count), 0) FROM event_spool').pluck().get() as number) : 0,
    };
    // The header's count is updated once a second while recording: after a kill (or in a file being
    // recorded) it is stale, so count the rows themselves.
    const finished = this.meta.endReason !== null && Number.isSafeInteger(this.meta.eventCount) && this.meta.eventCount >= 0;
    this.countedByRecorder = finished;
    if (!finished) this.meta.eventCount = (db.prepare('SELECT count(*) FROM events').pluck().get() as number) + this.meta.spooledEvents;
    this.threadNames = new Map(
      this.threads().map((t) => [t.tid, t.comm]),
    );
    if (db.prepare('SELECT 1 FROM events LIMIT 1').get() === undefined && this.meta.spooledEvents === 0) {
      throw new UserError(
        this.meta.mode === 'contention'
          ? `${path} holds no lock events: nothing to analyze (contention mode records only contended waits: no thread of the target waited on a futex while it was recorded)`
          : `${path} holds no lock events: nothing to analyze (did the target take any pthread mutex while it was recorded?)`,
      );
    }
  }

  /** The probe cost the join subtracts: none with --raw or when the run has none. */
  subtractedProbeCost(): ProbeCost | null {
    return this.raw ? null : (this.probeCostOverride ?? this.meta.probeCost);
  }

  /** One pass of the join (core/join.ts) over the events, serving every sink, net of the probe cost. */
  join(sinks: JoinSink | JoinSink[]): void {
    const kinds = this.meta.mode === 'contention' ? this.newFutexKinds() : null;
    const joiner = new Joiner(sinks, { probeCost: this.subtractedProbeCost(), futexKind: kinds?.kindOf });
    this.eachEvent((e) => joiner.push(e));
    joiner.finish();
    if (kinds) this.futexKindTally = kinds.tally();
  }

  /** Contention mode: how the last join told its futex words' kinds (null before a join, or in full mode). */
  futexKindTally: KindTally | null = null;

  private newFutexKinds(): FutexKinds {
    const frame0 = this.db.prepare('SELECT address FROM stack_frames WHERE stack_id = ? AND depth = 0').pluck();
    const named = this.db.prepare("SELECT name FROM symbols WHERE address = ? AND kind = 'code'").pluck();
    return new FutexKinds({
      innermostFrame: (stackId) => (frame0.get(this.unwoundStack(stackId)?.stackId ?? stackId) as number | undefined) ?? null,
      codeName: (address) => {
        const name = named.get(address) as string | undefined;
        return name === undefined ? null : escapeControl(name);
      },
    });
  }

  /**
   * Events in id order (per-thread time order, causal across threads) to `visit`, one reused object.
   * Read in chunks of typed columns by reader threads (runfile/reader.ts): row-by-row reading
   * through better-sqlite3 was the analyzer's bottleneck. A callback, not a generator: resuming a
   * generator per event cost ~1 s of 10M.
   */
  eachEvent(visit: (e: RunEvent) => void): void {
    const e: RunEvent = { id: 0, ts: 0, requestTs: null, stage: 0, func: 0, pid: 0, tid: 0, lock: 0, ret: 0, caller: 0, flags: 0, stackId: null, cond: null, outerCaller: null };
    const lastTs: LastTimes = new Map();
    this.leftOut.clear();
    const progress = new Progress(`reading ${basename(this.meta.path)}`);
    let read = 0;
    for (const c of readEventChunks(this.meta.path, { snapshot: this.db })) {
      progress.update((read += c.count) / Math.max(1, this.meta.eventCount));
      for (let i = 0; i < c.count; i++) {
        if (c.invalid[i] !== 0) {
          this.leaveOut(c.invalid[i] & INVALID_TIME ? 'with a time that is not a valid integer' : 'requested after they returned');
          continue;
        }
        fillEvent(e, c, i);
        e.id = c.id[i];
        if (e.outerCaller && e.stackId !== null) e.stackId = this.unwoundStackId(e.stackId, e.outerCaller);
        this.checkStage(e);
        if (this.inThreadOrder(e, lastTs)) visit(e); // its times were checked by the reader (c.invalid)
      }
    }
    if (this.meta.spooledEvents > 0) this.spooledEvents(e, lastTs, visit);
    progress.done();
    // The reader plans its chunks by id range without counting the rows (a count is a scan of the
    // whole table): rows a damaged page hides from the ranges show here, against the recorder's count.
    if (this.countedByRecorder && read + this.meta.spooledEvents !== this.meta.eventCount) {
      throw new UserError(
        `${this.meta.path}: ${(read + this.meta.spooledEvents).toLocaleString('en-US')} events could be read, its header counts ${this.meta.eventCount.toLocaleString('en-US')}: the file is damaged: record again`,
      );
    }
  }

  /** The header's event count is the recorder's, written when it finished (else it was counted here). */
  private countedByRecorder = false;

  /** A damaged stage stops the analysis. */
  private checkStage(e: RunEvent): void {
    if (e.stage > Stage.Released && e.stage !== Stage.Wake) {
      throw new UserError(`${this.meta.path}: event ${e.id} has stage ${e.stage}, not 0, 1, 2 or 4: the file is damaged: record again`);
    }
  }

  /** A time that is not a valid integer is left out (the reader checks the rows' in SQL; spooled events come here). */
  private validTimes(e: RunEvent): boolean {
    const ok = Number.isSafeInteger(e.ts) && e.ts >= 0 && (e.requestTs == null || (Number.isSafeInteger(e.requestTs) && e.requestTs >= 0 && e.requestTs <= e.ts));
    if (!ok) this.leaveOut('with a time that is not a valid integer');
    return ok;
  }

  /** A time out of order on its thread is left out. */
  private inThreadOrder(e: RunEvent, lastTs: LastTimes): boolean {
    const last = lastTs.get(e.tid);
    if (last === undefined) {
      lastTs.set(e.tid, { ts: e.ts });
      return true;
    }
    if (e.ts < last.ts) {
      this.leaveOut('earlier than the event before them on their thread');
      return false;
    }
    last.ts = e.ts;
    return true;
  }

  private leaveOut(why: string): void {
    this.leftOut.set(why, (this.leftOut.get(why) ?? 0) + 1);
  }

  /** Events still raw in event_spool, after the rows (they arrived after them). */
  private spooledEvents(e: RunEvent, lastTs: LastTimes, visit: (e: RunEvent) => void): void {
    let id = (this.db.prepare('SELECT coalesce(max(id), 0) FROM events').pluck().get() as number) + 1;
    // a column newer than the file's schema (runfile/format.ts `since`) has no BLOB: it reads as none
    const spooled = new Set((this.db.prepare('PRAGMA table_info(event_spool)').all() as { name: string }[]).map((c) => c.name));
    const columns = EVENT_COLUMNS.map((c) => (spooled.has(c.sql) ? c.sql : `NULL AS ${c.sql}`));
    const rows = this.db.prepare(`SELECT count, ${columns.join(', ')} FROM event_spool ORDER BY id`).raw(true);
    for (const row of rows.iterate() as IterableIterator<unknown[]>) {
      const [count, ...blobs] = row as [number, ...(Buffer | null)[]];
      let c: ReturnType<typeof decodeSpool>;
      try {
        c = decodeSpool(blobs, count);
      } catch (err) {
        throw new UserError(`${this.meta.path}: an event_spool row is damaged (${(err as Error).message}): record again`);
      }
      for (let i = 0; i < count; i++) {
        fillEvent(e, c, i);
        e.id = id++;
        if (e.outerCaller && e.stackId !== null) e.stackId = this.unwoundStackId(e.stackId, e.outerCaller);
        this.checkStage(e);
        if (this.validTimes(e) && this.inThreadOrder(e, lastTs)) visit(e);
      }
    }
  }

  /** Names of addresses resolved at record time: code as function+offset, global locks by symbol. */
  symbols(): Map<number, SymbolRow> {
    const rows = this.db.prepare('SELECT address, name, module, kind FROM symbols').all() as (SymbolRow & { address: number })[];
    return new Map(rows.map((r) => [r.address, { name: escapeControl(String(r.name)), module: r.module === null ? null : escapeControl(String(r.module)), kind: r.kind }]));
  }

  /** The same id for the same stack and outer caller, in every pass. */
  private unwoundStackId(stackId: number, outerCaller: number): number {
    let byOuter = this.unwoundIds.get(stackId);
    if (!byOuter) this.unwoundIds.set(stackId, (byOuter = new Map()));
    let id = byOuter.get(outerCaller);
    if (id === undefined) {
      id = UNWOUND_STACK_BASE + this.unwound.length;
      this.unwound.push({ stackId, outerCaller });
      byOuter.set(outerCaller, id);
    }
    return id;
  }

  /** What an id eachEvent() gave stands for when it is not a recorded stack's: null for a recorded one. */
  unwoundStack(stackId: number): UnwoundStack | null {
    return stackId >= UNWOUND_STACK_BASE ? (this.unwound[stackId - UNWOUND_STACK_BASE] ?? null) : null;
  }

  /** Frames of a recorded stack, innermost first (empty when unknown); analyzer/stacks.ts says which to believe. */
  stack(stackId: number): number[] {
    return (this.db.prepare('SELECT address FROM stack_frames WHERE stack_id = ? ORDER BY depth').all(stackId) as { address: number }[]).map((r) => r.address);
  }

  /** Whether any call stack was recorded (stack capture was on and caught at least one). */
  hasStacks(): boolean {
    return this.db.prepare('SELECT 1 FROM stack_frames LIMIT 1').get() !== undefined;
  }

  /** The threads seen, with their process and name (comm) as last seen. */
  threads(): { tid: number; pid: number; comm: string }[] {
    const rows = this.db.prepare('SELECT tid, pid, comm FROM threads ORDER BY tid').all() as { tid: number; pid: number; comm: string }[];
    return rows.map((t) => ({ ...t, comm: escapeControl(String(t.comm)) }));
  }

  /** File-backed mappings of the target, by start address, with build-ids; executable null when not known (older files have no column). */
  mappings(): RunMapping[] {
    if (!hasTable(this.db, 'mappings')) return [];
    const hasExecutable = (this.db.prepare('PRAGMA table_info(mappings)').all() as { name: string }[]).some((c) => c.name === 'executable');
    const rows = this.db.prepare(`SELECT start, end, offset, path, build_id AS buildId, ${hasExecutable ? 'executable' : 'NULL AS executable'} FROM mappings ORDER BY start`).all() as (Omit<MappingRow, 'executable'> & { executable: number | null })[];
    return rows.map((r) => ({ ...r, path: escapeControl(String(r.path)), executable: r.executable === null ? null : r.executable === 1 }));
  }

  /** The recording's length in ns: until it ended, or (recorder killed) its last event. */
  durationNs(): number {
    if (this.meta.endTs !== null) return this.meta.endTs;
    let last = (this.db.prepare('SELECT max(ts) FROM events').pluck().get() as number | null) ?? 0;
    if (this.meta.spooledEvents > 0) {
      const blob = this.db.prepare('SELECT ts FROM event_spool ORDER BY id DESC LIMIT 1').pluck().get() as Buffer;
      for (let o = 0; o + 8 <= blob.length; o += 8) last = Math.max(last, blob.readDoubleLE(o));
    }
    return last;
  }

  close(): void {
    this.db.close();
  }
}

/** Each thread's last event time, by tid (one lookup per event: the entry is updated in place). */
type LastTimes = Map<number, { ts: number }>;

function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}
