import { receiveMessageOnPort, MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';

import { UserError } from '../core/errors';

/**
 * Fast reading of a run file's events table in id order, in chunks of typed columns.
 *
 * Converting SQLite values to JS values one by one is what makes reading slow (better-sqlite3
 * builds each row's array value by value): `.iterate()` reads ~0.75 M rows/s, `.raw().all()` ~0.9.
 * Here SQLite encodes each row as fixed-width hex (printf), concatenates a chunk's rows and turns
 * them into one BLOB (group_concat, unhex): one JS value per chunk, decoded with a DataView.
 * That reads ~2 M rows/s in one thread; worker threads read chunks in parallel into shared memory.
 */

/** Events of one chunk, in id order: the first `count` entries of each column. */
export interface EventChunk {
  count: number;
  id: Float64Array;
  ts: Float64Array;
  requestTs: Float64Array; // NaN: NULL
  lock: Float64Array; // signed 64-bit addresses: exact for canonical x86-64 addresses
  caller: Float64Array;
  pid: Uint32Array;
  tid: Uint32Array;
  flags: Uint32Array;
  ret: Int32Array;
  stackId: Int32Array; // -1: NULL
  stage: Uint8Array;
  func: Uint8Array;
  cond: Float64Array; // NaN: NULL (and every row of a file from before the column, schema 4)
  invalid: Uint8Array; // INVALID_* bits: a time SQL says is not a valid integer, or a request after its return
}

/** A row's ts is NULL, text, real (1e300), negative or past 2^53. */
export const INVALID_TIME = 1;
/** A row's request_ts is not a valid time, or after its ts. */
export const INVALID_REQUEST = 2;

export interface ReadOptions {
  /** Rows per chunk (default 16384). */
  chunkRows?: number;
  /** Reader threads; 0 reads in the calling thread. Default: 2 when there are 2 cores or more and
   * at least MIN_CHUNKS_FOR_WORKERS chunks to read, else 0. */
  workers?: number;
  /** A connection to plan from, kept open by the caller in a read transaction (RunFile's): the
   * events are those of its snapshot, whatever a live recorder appends meanwhile. */
  snapshot?: Database.Database;
}

/** Which rows each chunk holds: ids from[k]..to[k], count[k] of them (ids may have gaps). */
export interface ChunkPlan {
  from: number[];
  to: number[];
  count: number[];
  capacity: number; // rows of the largest chunk
}

/** Shared with reader-worker.ts. */
export interface WorkerData {
  path: string;
  plan: ChunkPlan;
  worker: number;
  workers: number;
  slots: SharedArrayBuffer; // SLOTS_PER_WORKER * workers chunks of plan.capacity rows
  control: SharedArrayBuffer; // Int32 per slot: SlotState
  errors: MessagePort;
}

/** A reader thread's message that is a UserError's. */
export const USER_ERROR = 'user-error:';

export const enum SlotState {
  Free = 0,
  Full = 1,
  Failed = 2,
  Stopped = 3, // the consumer is gone: the worker stops
}

const DEFAULT_CHUNK_ROWS = 16_384; // larger chunks read no faster and take more memory
// Starting the reader threads takes ~30 ms, the time to read ~250K events in the calling thread.
const MIN_CHUNKS_FOR_WORKERS = 16;
const SLOTS_PER_WORKER = 2; // one chunk being read, one waiting to be consumed
const BYTES_PER_ROW = 6 * 8 + 5 * 4 + 3; // EventChunk's columns

// unhex() of a row's printf is ROW_BYTES big-endian bytes: id, ts, request_ts, lock, caller, ret,
// cond as 64-bit (%x of a negative value prints its 64-bit two's complement; request_ts and cond
// NULL as INT64_MIN),
// pid, tid, flags, stack_id + 1 as 32-bit (printf prints NULL as 0, so stack_id NULL decodes as
// -1), stage, func and the INVALID_* bits as 8-bit. printf makes any value a number (NULL and text
// 0, a real its integer part): the validity bits are what tells.
const ROW_BYTES = 7 * 8 + 4 * 4 + 3;
const VALIDITY =
  "(CASE WHEN typeof(ts) != 'integer' OR ts < 0 OR ts >= 9007199254740992 THEN 1 ELSE 0 END) | " +
  "(CASE WHEN request_ts IS NOT NULL AND (typeof(request_ts) != 'integer' OR request_ts < 0 OR request_ts > ts) THEN 2 ELSE 0 END)";
const NULL_TS = -(2 ** 63);
/** The chunk query; `cond` is the column, or NULL for a file from before it (schema 4). */
const chunkSql = (cond: string): string =>
  "SELECT unhex(group_concat(printf('%016x%016x%016x%016x%016x%016x%016x%08x%08x%08x%08x%02x%02x%02x', " +
  `id, ts, coalesce(request_ts, -9223372036854775808), lock, caller, ret, coalesce(${cond}, -9223372036854775808), pid, tid, flags, stack_id + 1, stage, func, ${VALIDITY}), '')) ` +
  'FROM events WHERE id BETWEEN ? AND ?';

/** Whether the events table has the cond column (schema 5 on). */
export function hasCondColumn(db: Database.Database): boolean {
  return (db.prepare('PRAGMA table_info(events)').all() as { name: string }[]).some((c) => c.name === 'cond');
}

export function openReadOnly(path: string): Database.Database {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  // A scan never reads a page twice: SQLite's default 16 MB page cache would only add to the RSS.
  db.pragma('cache_size = -2000');
  return db;
}

/**
 * Splits the events into chunks of `rows` rows by their ids, all read in one transaction (one
 * snapshot, even while a recorder appends). Rows are only ever appended, with higher ids, so the
 * chunks' id ranges hold the same rows when read later from other connections.
 */
export function planChunks(db: Database.Database, rows: number): ChunkPlan {
  return db.inTransaction ? plan(db, rows) : db.transaction(() => plan(db, rows))();
}

function plan(db: Database.Database, rows: number): ChunkPlan {
  const [total, first, last] = db.prepare('SELECT count(*), min(id), max(id) FROM events').raw(true).get() as [number, number, number];
  const plan: ChunkPlan = { from: [], to: [], count: [], capacity: Math.min(rows, total) };
  if (total === 0) return plan;
  const contiguous = last - first + 1 === total;
  const nextStart = db.prepare('SELECT id FROM events WHERE id >= ? ORDER BY id LIMIT 1 OFFSET ?').pluck();
  for (let start: number | undefined = first, left = total; start !== undefined; left -= rows) {
    const next: number | undefined = left <= rows ? undefined : contiguous ? start + rows : (nextStart.get(start, rows) as number);
    plan.from.push(start);
    plan.to.push(next === undefined ? last : next - 1);
    plan.count.push(Math.min(left, rows));
    start = next;
  }
  return plan;
}

/** Typed-array views of a chunk of `capacity` rows at `offset` of `buffer`, `count` rows long. */
export function chunkView(buffer: ArrayBufferLike, offset: number, capacity: number, count: number): EventChunk {
  let at = offset;
  const column = <T>(make: new (b: ArrayBufferLike, offset: number, length: number) => T, bytes: number): T => {
    const view = new make(buffer, at, count);
    at += capacity * bytes;
    return view;
  };
  return {
    count,
    id: column(Float64Array, 8),
    ts: column(Float64Array, 8),
    requestTs: column(Float64Array, 8),
    lock: column(Float64Array, 8),
    caller: column(Float64Array, 8),
    cond: column(Float64Array, 8),
    pid: column(Uint32Array, 4),
    tid: column(Uint32Array, 4),
    flags: column(Uint32Array, 4),
    ret: column(Int32Array, 4),
    stackId: column(Int32Array, 4),
    stage: column(Uint8Array, 1),
    func: column(Uint8Array, 1),
    invalid: column(Uint8Array, 1),
  };
}

/** Bytes of a chunk buffer of `capacity` rows (a multiple of 8, so buffers can follow each other). */
export function chunkBytes(capacity: number): number {
  return Math.ceil((capacity * BYTES_PER_ROW) / 8) * 8;
}

/** Reads chunk k of the plan into `into` (a view of the plan's capacity). */
export function chunkReader(db: Database.Database, plan: ChunkPlan): (k: number, into: EventChunk) => void {
  const stmt = db.prepare(chunkSql(hasCondColumn(db) ? 'cond' : 'NULL')).pluck();
  return (k, into) => {
    const blob = stmt.get(plan.from[k], plan.to[k]) as Buffer | null;
    const count = plan.count[k];
    const where = `${db.name}: events ${plan.from[k]}..${plan.to[k]}`;
    if (blob === null || blob.length !== count * ROW_BYTES) {
      // a value wider than its printf field (or an odd number of hex digits: unhex gives NULL)
      const bad = outOfRange(db, plan.from[k], plan.to[k]);
      if (bad) throw new UserError(`${db.name}: ${bad}: the file is damaged (not as mutex-rec writes it): record again`);
      throw new Error(`${where}: expected ${count} rows of ${ROW_BYTES} bytes, got ${blob?.length ?? 'no'} bytes`);
    }
    const v = new DataView(blob.buffer, blob.byteOffset, blob.length);
    const int64 = (o: number): number => v.getInt32(o) * 4294967296 + v.getUint32(o + 4);
    let previousId = plan.from[k] - 1;
    for (let i = 0, o = 0; i < count; i++, o += ROW_BYTES) {
      const id = int64(o);
      // group_concat's order is the scan's, by id, but SQLite does not promise it: check
      if (id <= previousId) throw new Error(`${where}: rows out of id order`);
      previousId = into.id[i] = id;
      into.ts[i] = int64(o + 8);
      const requestTs = int64(o + 16);
      into.requestTs[i] = requestTs === NULL_TS ? NaN : requestTs;
      into.lock[i] = int64(o + 24);
      into.caller[i] = int64(o + 32);
      into.ret[i] = v.getInt32(o + 44);
      const cond = int64(o + 48);
      into.cond[i] = cond === NULL_TS ? NaN : cond;
      into.pid[i] = v.getUint32(o + 56);
      into.tid[i] = v.getUint32(o + 60);
      into.flags[i] = v.getUint32(o + 64);
      into.stackId[i] = v.getInt32(o + 68) - 1;
      into.stage[i] = v.getUint8(o + 72);
      into.func[i] = v.getUint8(o + 73);
      into.invalid[i] = v.getUint8(o + 74);
    }
  };
}

/** The columns' ranges (schema.sql) the chunk encoding relies on. */
const COLUMN_RANGES: [string, number, number][] = [
  ['stage', 0, 2],
  ['func', 0, 255],
  ['pid', 0, 2 ** 32 - 1],
  ['tid', 0, 2 ** 32 - 1],
  ['flags', 0, 2 ** 32 - 1],
  ['ret', -(2 ** 31), 2 ** 31 - 1],
  ['coalesce(stack_id, 0)', -1, 2 ** 31 - 2],
];

/** The first value of events from..to out of its column's range, said in words; null if none. */
function outOfRange(db: Database.Database, from: number, to: number): string | null {
  for (const [column, min, max] of COLUMN_RANGES) {
    const row = db.prepare(`SELECT id, ${column} FROM events WHERE id BETWEEN ? AND ? AND NOT (${column} BETWEEN ? AND ?) LIMIT 1`).raw(true).get(from, to, min, max) as
      | [number, unknown]
      | undefined;
    if (row) return `event ${row[0]} has ${column.replace(/coalesce\((\w+), 0\)/, '$1')} ${String(row[1])}, outside ${min} to ${max}`;
  }
  return null;
}

/**
 * The events of a run file in id order, one chunk at a time. Synchronous even with workers (the
 * consumer blocks only when the next chunk is not read yet), so RunFile.events() can stay a
 * generator. A chunk's arrays are valid until the next chunk is asked for.
 */
export function* readEventChunks(path: string, opts: ReadOptions = {}): Generator<EventChunk> {
  const db = openReadOnly(path);
  let plan: ChunkPlan;
  try {
    plan = planChunks(opts.snapshot ?? db, opts.chunkRows ?? DEFAULT_CHUNK_ROWS);
  } catch (err) {
    db.close();
    throw err;
  }
  const workers = opts.workers ?? (availableParallelism() >= 2 && plan.count.length >= MIN_CHUNKS_FOR_WORKERS ? 2 : 0);
  if (workers === 0) {
    try {
      const read = chunkReader(db, plan);
      const buffer = new ArrayBuffer(chunkBytes(plan.capacity));
      for (let k = 0; k < plan.count.length; k++) {
        const chunk = chunkView(buffer, 0, plan.capacity, plan.count[k]);
        read(k, chunk);
        yield chunk;
      }
    } finally {
      db.close();
    }
    return;
  }
  db.close();
  yield* readInWorkers(path, plan, workers);
}

/**
 * Worker w reads chunks w, w + W, ... into slot k % slots of a shared ring (so each slot has a
 * single writer), each waiting until the consumer has freed the slot. Shared memory and Atomics
 * rather than messages: a message needs the event loop, which a synchronous consumer never yields to.
 */
function* readInWorkers(path: string, plan: ChunkPlan, workers: number): Generator<EventChunk> {
  const slots = SLOTS_PER_WORKER * workers;
  const slotBytes = chunkBytes(plan.capacity);
  const data = new SharedArrayBuffer(slots * slotBytes);
  const control = new SharedArrayBuffer(slots * 4);
  const state = new Int32Array(control);
  const channels = Array.from({ length: workers }, () => new MessageChannel());
  const threads = channels.map((channel, worker) => {
    const workerData: WorkerData = { path, plan, worker, workers, slots: data, control, errors: channel.port2 };
    const thread = new Worker(join(__dirname, 'reader-worker.js'), { workerData, transferList: [channel.port2] });
    thread.unref();
    return thread;
  });
  try {
    for (let k = 0; k < plan.count.length; k++) {
      const slot = k % slots;
      while (Atomics.load(state, slot) === SlotState.Free) Atomics.wait(state, slot, SlotState.Free);
      if (Atomics.load(state, slot) === SlotState.Failed) {
        const message = receiveMessageOnPort(channels[k % workers].port1)?.message as string | undefined;
        if (message?.startsWith(USER_ERROR)) throw new UserError(message.slice(USER_ERROR.length));
        throw new Error(message ?? `${path}: a reader thread failed`);
      }
      yield chunkView(data, slot * slotBytes, plan.capacity, plan.count[k]);
      Atomics.store(state, slot, SlotState.Free);
      Atomics.notify(state, slot);
    }
  } finally {
    for (let slot = 0; slot < slots; slot++) {
      Atomics.store(state, slot, SlotState.Stopped);
      Atomics.notify(state, slot);
    }
    for (const channel of channels) channel.port1.close();
    for (const thread of threads) void thread.terminate();
  }
}
