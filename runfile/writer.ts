import Database from 'better-sqlite3';
import { closeSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { UserError } from '../core/errors';
import { Stage } from '../core/events';
import type { ProbeCost } from '../core/probe_cost';
import { decodeSpoolColumn, encodeSpool } from './columns';
import { checkSameFile, createRunFile, type FileLocker } from './create';
import { EVENT_COLUMNS, type ColumnKey } from './format';
import { runColumns, type RunEnd, type RunStart } from './header';
import { SpaceReserve } from './reserve';
import type { EventBatch, MappingRow, ProbeFailures, ProbeRow, SymbolRow, ThreadRow, WaitingCall } from './rows';
import { renderSchema } from './schema';

/** runfile/sqlite/spool_rows.c, built by scripts/build.sh: makes a batch's rows inside SQLite. */
export const SPOOL_ROWS_PATH = join(__dirname, '..', '..', 'build', 'spool_rows.so');

const EVENT_SQL = EVENT_COLUMNS.map((c) => c.sql);
/** spool_rows()'s arguments from an event_spool row `s`. */
const SPOOL_ARGS = ['s.count', ...EVENT_SQL.map((c) => `s.${c}`)].join(', ');

/** SQLite ran out of space on the run file's device (or the file hit the size limit). */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE' || code === 'ENOSPC' || /disk is full|no space left/i.test(String((err as Error).message));
}

/** Rows (and spooled batches) a naming pass while recording reads at most (RunStore.addresses). */
const ADDRESS_SCAN_ROWS = 100_000;
const ADDRESS_SCAN_BATCHES = 20;

function isBusy(err: unknown): boolean {
  return /^SQLITE_(BUSY|LOCKED)/.test((err as { code?: string }).code ?? '');
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The run file being written: WAL, committed at every flush, so it can be read while recording. */
export class RunStore {
  private readonly db: Database.Database;
  private readonly insertEvent: Database.Statement;
  private readonly insertBatch: Database.Statement; // a drained batch: its columns as BLOBs
  private readonly insertSpooledBatch: Database.Statement; // an event_spool row, by id
  private readonly upsertThread: Database.Statement;
  private readonly touchThread: Database.Statement;
  private readonly insertMapping: Database.Statement;
  private readonly insertSpool: Database.Statement;
  eventCount = 0;
  private readonly stacksWritten = new Set<number>();
  private newFrames: number[] = []; // stack frames written since the last addresses()
  private addressedUpTo = { event: 0, spool: 0 }; // ids addresses() has gone through

  /** writeAtStop: append() keeps batches raw in event_spool; writeSpooled() makes them rows. */
  static create(path: string, opts: { force: boolean; writeAtStop?: boolean; lockFile: FileLocker }): RunStore {
    if (!existsSync(SPOOL_ROWS_PATH)) throw new UserError(`${SPOOL_ROWS_PATH} is missing: build mutex-rec with scripts/build.sh`);
    const created = createRunFile(path, opts.force, opts.lockFile);
    const { lockFd } = created;
    let fd: number | null = created.fd; // until SQLite has the file open (checkSameFile)
    const discard = (db: Database.Database | null): void => {
      db?.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true }); // ours: created above
      closeSync(lockFd);
      if (fd !== null) closeSync(fd);
    };
    let db: Database.Database | null = null;
    try {
      db = new Database(path, { fileMustExist: true });
      checkSameFile(path, fd);
      closeSync(fd);
      fd = null;
      // Measured on this machine: 16 KiB pages and a larger WAL between checkpoints raise the insert
      // rate from 1.2 M to 1.4 M events/s. page_size must be set before WAL mode.
      db.pragma('page_size = 16384');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('wal_autocheckpoint = 4096');
    } catch (err) {
      discard(db);
      if (err instanceof UserError) throw err;
      throw new UserError(`cannot create ${path}: ${(err as Error).message}${isDiskFull(err) ? ': free some space or choose another device with -o' : ''}`);
    }
    try {
      db.loadExtension(SPOOL_ROWS_PATH);
    } catch (err) {
      discard(db);
      throw new UserError(`cannot load ${SPOOL_ROWS_PATH} (${(err as Error).message}): rebuild it with scripts/build.sh`);
    }
    try {
      db.exec(renderSchema());
    } catch (err) {
      discard(db);
      if (isDiskFull(err)) throw new UserError(`cannot create ${path}: the disk is full: free some space or choose another device with -o`);
      throw err;
    }
    return new RunStore(db, opts.writeAtStop ?? false, lockFd, SpaceReserve.create(dirname(path)));
  }

  private constructor(
    db: Database.Database,
    private readonly writeAtStop: boolean,
    private readonly lockFd: number, // the -wal's, holding the recorder's flock until close() (runfile/create.ts)
    private readonly reserve: SpaceReserve, // given back for the header at finish()
  ) {
    this.db = db;
    const insert = `INSERT INTO events (${EVENT_SQL.join(', ')}) `;
    this.insertEvent = db.prepare(`${insert} VALUES (${EVENT_SQL.map(() => '?').join(', ')})`);
    const rowsOf = (spool: string) => `SELECT ${EVENT_SQL.map((c) => `r.${c}`).join(', ')} FROM spool_rows(${spool}) AS r`;
    this.insertBatch = db.prepare(insert + rowsOf(['?', ...EVENT_SQL.map(() => '?')].join(', ')));
    this.insertSpooledBatch = db.prepare(`${insert} ${rowsOf(SPOOL_ARGS)}, event_spool AS s WHERE s.id = ?`);
    this.upsertThread = db.prepare(
      `INSERT INTO threads (tid, pid, comm, first_ts, last_ts) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(tid) DO UPDATE SET comm = excluded.comm, last_ts = max(last_ts, excluded.last_ts)`,
    );
    this.touchThread = db.prepare('UPDATE threads SET last_ts = max(last_ts, ?) WHERE tid = ?');
    this.insertSpool = db.prepare(
      `INSERT INTO event_spool (count, ${EVENT_SQL.join(', ')}) VALUES (?, ${EVENT_SQL.map(() => '?').join(', ')})`,
    );
    // A mapping seen again (the mmap watcher first, /proc/PID/maps later) only gets its permissions.
    this.insertMapping = db.prepare(
      `INSERT INTO mappings (start, end, offset, path, build_id, first_ts, executable) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(start, path) DO UPDATE SET executable = coalesce(executable, excluded.executable)`,
    );
  }

  writeRun(start: RunStart, probes: ProbeRow[]): void {
    const { columns, values } = runColumns(start);
    this.db.transaction(() => {
      this.db.prepare(`INSERT INTO run (id, ${columns.join(', ')}) VALUES (1, ${columns.map(() => '?').join(', ')})`).run(...values);
      const insertProbe = this.db.prepare('INSERT INTO probes (func, object, build_id, offset, func_offset, insn, kind) VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const p of probes) insertProbe.run(p.func, p.object, p.buildId, p.offset, p.funcOffset, p.insn, p.kind);
    })();
  }

  /** Writes one drained batch in one transaction: as rows, or (writeAtStop) raw, a BLOB per column. */
  append(batch: EventBatch): void {
    if (batch.count === 0 && batch.threads.length === 0) return;
    this.db.transaction(() => {
      for (const t of batch.threads) this.recordThread(t);
      if (!this.writeAtStop) {
        this.insertBatch.run(batch.count, ...encodeSpool(batch, batch.count));
        this.touchThreads(batch.ts, batch.tid, batch.count);
      } else if (batch.count > 0) this.insertSpool.run(batch.count, ...encodeSpool(batch, batch.count));
    })();
    this.eventCount += batch.count;
  }

  /** Turns the spooled batches into event rows, oldest first, each with its spool row's deletion
   * in one transaction (a kill leaves rows and spool that add up). Returns the events written. */
  writeSpooled(onProgress: (written: number) => void = () => undefined): number {
    const next = this.db.prepare('SELECT id, count, ts, tid FROM event_spool ORDER BY id LIMIT 1').raw(true);
    const remove = this.db.prepare('DELETE FROM event_spool WHERE id = ?');
    let written = 0;
    for (let row = next.get() as unknown[] | undefined; row; row = next.get() as unknown[] | undefined) {
      const [id, count, ts, tid] = row as [number, number, Buffer, Buffer];
      const times = decodeSpoolColumn('ts', ts, count);
      const threads = decodeSpoolColumn('tid', tid, count);
      this.db.transaction(() => {
        this.insertSpooledBatch.run(id);
        this.touchThreads(times, threads, count);
        remove.run(id);
      })();
      written += count;
      onProgress(written);
    }
    return written;
  }

  /** Moves the last_ts of the threads of `count` events forward, inside the caller's transaction. */
  private touchThreads(ts: Float64Array, tid: Uint32Array, count: number): void {
    const lastSeen = new Map<number, number>();
    for (let i = 0; i < count; i++) lastSeen.set(tid[i], ts[i]);
    for (const [threadId, lastTs] of lastSeen) this.touchThread.run(lastTs, threadId);
  }

  /** The calls still waiting at the stop, as request rows (stage 0) after every event. */
  addWaitingRequests(calls: WaitingCall[]): void {
    if (calls.length === 0) return;
    this.db.transaction(() => {
      for (const c of calls) {
        const row: Record<ColumnKey, number | null> = {
          ts: c.ts, requestTs: null, lock: c.lock, caller: c.caller, pid: c.pid, tid: c.tid, ret: 0,
          stackId: c.stackId >= 0 ? c.stackId : null, cpu: -1, stage: Stage.Request, func: c.func, flags: c.flags, holder: c.holder || null, cond: c.cond !== 0 ? c.cond : null,
          outerCaller: c.outerCaller !== 0 ? c.outerCaller : null,
        };
        this.insertEvent.run(EVENT_COLUMNS.map((col) => row[col.key]));
      }
    })();
    this.eventCount += calls.length;
  }

  addMappings(mappings: MappingRow[], ts: number): void {
    if (mappings.length === 0) return;
    this.db.transaction(() => {
      for (const m of mappings) this.insertMapping.run(m.start, m.end, m.offset, m.path, m.buildId, ts, m.executable === null ? null : Number(m.executable));
    })();
  }

  mappings(): MappingRow[] {
    const rows = this.db.prepare('SELECT start, end, offset, path, build_id AS buildId, executable FROM mappings').all() as (Omit<MappingRow, 'executable'> & { executable: number | null })[];
    return rows.map((r) => ({ ...r, executable: r.executable === null ? null : r.executable === 1 }));
  }

  setBuildIds(buildIds: Map<string, string>): void {
    const update = this.db.prepare('UPDATE mappings SET build_id = ? WHERE path = ?');
    this.db.transaction(() => {
      for (const [path, id] of buildIds) update.run(id, path);
    })();
  }

  /** Stack ids of `count` events not written yet (recorded as written now). */
  unwrittenStacks(stackId: Int32Array, count: number): number[] {
    const fresh: number[] = [];
    for (let i = 0; i < count; i++) {
      const id = stackId[i];
      if (id >= 0 && !this.stacksWritten.has(id)) {
        this.stacksWritten.add(id);
        fresh.push(id);
      }
    }
    return fresh;
  }

  /** Stack ids of the run's rows not written yet (the waiting requests', those of a spooled run). */
  unwrittenStackIds(): number[] {
    const ids = (this.db.prepare('SELECT DISTINCT stack_id AS id FROM events WHERE stack_id IS NOT NULL').all() as { id: number }[]).map((r) => r.id);
    return this.unwrittenStacks(Int32Array.from(ids), ids.length);
  }

  addStacks(stacks: Map<number, Float64Array>): void {
    if (stacks.size === 0) return;
    const insert = this.db.prepare('INSERT OR REPLACE INTO stack_frames (stack_id, depth, address) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const [id, frames] of stacks) frames.forEach((address, depth) => insert.run(id, depth, address));
    })();
    for (const frames of stacks.values()) for (const a of frames) if (a !== 0) this.newFrames.push(a);
  }

  /**
   * Addresses to name, signed (kernel ones negative): code (callers, outer callers, stack frames) and data
   * (locks), of what was written since the last call, or (all) of the whole run. Since the last
   * call means at most the last ADDRESS_SCAN_ROWS rows (or spooled batches): a pass costs at most
   * ~20 ms whatever the event rate, and the addresses a lock or call site has are seen again.
   */
  addresses(all = false): { code: number[]; data: number[] } {
    const [lastEvent, lastSpool] = this.db.prepare('SELECT (SELECT coalesce(max(id), 0) FROM events), (SELECT coalesce(max(id), 0) FROM event_spool)').raw(true).get() as [number, number];
    const from = all
      ? { event: 0, spool: 0 }
      : { event: Math.max(this.addressedUpTo.event, lastEvent - ADDRESS_SCAN_ROWS), spool: Math.max(this.addressedUpTo.spool, lastSpool - ADDRESS_SCAN_BATCHES) };
    const list = (column: string): number[] => {
      const rows = this.db.prepare(`SELECT DISTINCT ${column} FROM events WHERE id > ? AND id <= ? AND ${column} != 0`).pluck().all(from.event, lastEvent) as number[];
      const spooled = this.db
        .prepare(`SELECT DISTINCT r.${column} FROM event_spool AS s, spool_rows(${SPOOL_ARGS}) AS r WHERE s.id > ? AND s.id <= ? AND r.${column} != 0`)
        .pluck()
        .all(from.spool, lastSpool) as number[];
      return rows.concat(spooled);
    };
    const frames = all ? (this.db.prepare('SELECT DISTINCT address FROM stack_frames WHERE address != 0').pluck().all() as number[]) : this.newFrames;
    const out = { code: [...new Set(list('caller').concat(list('outer_caller'), frames))], data: list('lock') };
    this.addressedUpTo = { event: lastEvent, spool: lastSpool };
    this.newFrames = [];
    return out;
  }

  updateCounts(dropped: number): void {
    this.updateRun({ eventCount: this.eventCount, dropCount: dropped });
  }

  /**
   * The header's end, in one transaction, with what the BPF programs counted going wrong besides
   * drops and the probe cost as the run measured it (core/probe_cost.ts, InRunCost). The space
   * reserve is given back first: a recording that filled the disk still gets a true header.
   */
  finish(end: Omit<RunEnd, 'eventCount' | 'probeFailures'> & { failures?: ProbeFailures; probeCost?: ProbeCost }): void {
    this.reserve.release();
    const { failures, probeCost, ...fields } = end;
    const futex = failures?.futexUnread ? { futexUnread: failures.futexUnread } : {};
    const probeFailures = failures ? { probeFailures: { stackFailed: failures.stackFailed, pendingFull: failures.pendingFull, ...futex } } : {};
    this.updateRun({ ...fields, eventCount: this.eventCount, ...probeFailures, ...(probeCost ? { probeCost } : {}) });
  }

  private updateRun(fields: Partial<RunEnd & Pick<RunStart, 'probeCost'>>): void {
    const { columns, values } = runColumns(fields);
    this.db.prepare(`UPDATE run SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE id = 1`).run(...values);
  }

  addSymbols(symbols: Map<number, SymbolRow>): void {
    const insert = this.db.prepare('INSERT OR REPLACE INTO symbols (address, name, module, kind) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const [address, s] of symbols) insert.run(address, s.name, s.module, s.kind);
    })();
  }

  /** The symbols whose names are mangled C++ (_Z...), by address. */
  mangledSymbols(): Map<number, SymbolRow> {
    const rows = this.db.prepare("SELECT address, name, module, kind FROM symbols WHERE name GLOB '_Z*'").all() as (SymbolRow & { address: number })[];
    return new Map(rows.map(({ address, ...s }) => [address, s]));
  }

  /** Did any event come from code of this mapped file (a call site inside one of its mappings)? */
  hasCallerIn(path: string): boolean {
    const ranges = this.db.prepare('SELECT start, end FROM mappings WHERE path = ?').all(path) as { start: number; end: number }[];
    const any = this.db.prepare('SELECT 1 FROM events WHERE caller >= ? AND caller < ? LIMIT 1');
    return ranges.some((r) => any.get(r.start, r.end) !== undefined);
  }

  counts(): { threads: number; locks: number } {
    const threads = (this.db.prepare('SELECT count(*) AS n FROM threads').get() as { n: number }).n;
    const locks = (this.db.prepare('SELECT count(DISTINCT lock) AS n FROM events').get() as { n: number }).n;
    return { threads, locks };
  }

  /**
   * Folds the WAL into the main file, so the run is one self-contained file. A reader holding the
   * file open prevents that: retried with backoff for about 5 s, then (as on a full disk) the run
   * is left complete in WAL mode, its -wal file part of it. Returns whether it was folded.
   */
  close(): boolean {
    let folded = false;
    this.db.pragma('busy_timeout = 100');
    for (let delay = 50, waited = 0; ; waited += delay, delay = Math.min(2 * delay, 1000)) {
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
        // SQLite keeps WAL mode, without an error, while another connection has the file open.
        if (this.db.pragma('journal_mode = DELETE', { simple: true }) !== 'delete') throw Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' });
        folded = true;
        break;
      } catch (err) {
        if (!isBusy(err) || waited >= 5000) {
          if (!isBusy(err) && !isDiskFull(err)) throw err;
          break;
        }
        sleepSync(delay);
      }
    }
    this.db.close();
    closeSync(this.lockFd);
    this.reserve.release();
    return folded;
  }

  private recordThread(t: ThreadRow): void {
    this.upsertThread.run(t.tid, t.pid, t.comm, t.ts, t.ts);
  }
}
