import { receiveMessageOnPort, MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';

import { UserError } from '../core/errors';
import { ARRAY_TYPES, type AnalyzedColumns } from './columns';
import { columnBytes, EVENT_COLUMNS, typeRange, type ColumnKey, type ColumnType, type ColumnSpec } from './format';

/**
 * Fast reading of a run file's events table in id order, in chunks of typed columns.
 *
 * Converting SQLite values to JS values one by one is what makes reading slow (better-sqlite3
 * builds each row's array value by value): `.iterate()` reads ~0.75 M rows/s, `.raw().all()` ~0.9.
 * Here an aggregate of our own (pack_columns) packs a chunk's rows into one BLOB of typed columns:
 * one JS value per chunk, a copy per column. Worker threads read chunks in parallel into shared memory.
 */

/** Events of one chunk, in id order: the first `count` entries of each column (the analyzed ones, runfile/format.ts). */
export type EventChunk = AnalyzedColumns & {
  count: number;
  id: Float64Array;
  invalid: Uint8Array; // INVALID_* bits: a time SQL says is not a valid integer, or a request after its return
};

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

/** Which rows each chunk holds: ids from[k]..to[k], at most capacity of them (ids may have gaps: a chunk's count is known when it is read). */
export interface ChunkPlan {
  from: number[];
  to: number[];
  capacity: number; // rows a chunk holds at most
}

/** Shared with reader-worker.ts. */
export interface WorkerData {
  path: string;
  plan: ChunkPlan;
  worker: number;
  workers: number;
  slots: SharedArrayBuffer; // SLOTS_PER_WORKER * workers chunks of plan.capacity rows
  control: SharedArrayBuffer; // Int32 per slot: SlotState
  counts: SharedArrayBuffer; // Int32 per slot: the rows of the chunk it holds
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
/**
 * How a chunk's rows travel from SQLite: pack_columns() (runfile/sqlite/pack_columns.c) packs
 * each field of every row into one BLOB, a column after another, each value in its chunk array's
 * element type: a column is one copy. A NULL takes the field's none (NaN, -1 or 0, as
 * fillEvent reads them); a value outside the field's range fails the query (outOfRange says which
 * event). pack_columns reads values as SQLite's integer conversion does (a REAL's integer part,
 * a TEXT's leading integer): the validity bits are what tells a bad time.
 */
interface Field {
  key: string; // of EventChunk
  sql: string; // the argument to pack_columns
  column: string | null; // the events column it reads: a file without it (older than the column's schema) reads none
  type: ColumnType; // its chunk array's
  none: 'nan' | number; // what NULL reads as
  range: [number, number] | null;
}

function fieldOf(c: ColumnSpec): Field {
  const plain = { key: c.key, sql: c.sql, column: c.sql, type: c.type };
  if (c.type === 'u64') return { ...plain, none: c.nullable ? 'nan' : 0, range: null };
  const [min, max] = c.range ?? typeRange(c.type);
  // a nullable s32 is -1 for none (an s32 column's negative value is none), so -1 is valid too
  return c.type === 's32' && c.nullable ? { ...plain, none: -1, range: [-1, max] } : { ...plain, none: 0, range: [min, max] };
}

const col = (key: ColumnKey): string => EVENT_COLUMNS.find((c) => c.key === key)!.sql;
const [TS, REQUEST_TS] = [col('ts'), col('requestTs')];
const VALIDITY =
  `(CASE WHEN typeof(${TS}) != 'integer' OR ${TS} < 0 OR ${TS} >= 9007199254740992 THEN ${INVALID_TIME} ELSE 0 END) | ` +
  `(CASE WHEN ${REQUEST_TS} IS NOT NULL AND (typeof(${REQUEST_TS}) != 'integer' OR ${REQUEST_TS} < 0 OR ${REQUEST_TS} > ${TS}) THEN ${INVALID_REQUEST} ELSE 0 END)`;

const ANALYZED = EVENT_COLUMNS.filter((c) => c.analyzed);
const FIELDS: Field[] = [
  { key: 'id', sql: 'id', column: 'id', type: 'u64', none: 0, range: null },
  ...ANALYZED.map(fieldOf),
  { key: 'invalid', sql: VALIDITY, column: null, type: 'u8', none: 0, range: null },
];
const ROW_BYTES = FIELDS.reduce((sum, f) => sum + columnBytes(f.type), 0);
const ELEMENT_TYPES: Record<ColumnType, string> = { u64: 'f64', s32: 'i32', u32: 'u32', u16: 'u16', u8: 'u8' };
const PACK_SPEC = FIELDS.map((f) => `${ELEMENT_TYPES[f.type]} ${f.none} ${f.range ? f.range.map((x) => x.toFixed()).join(' ') : '_ _'}`).join(';');

/** runfile/sqlite/pack_columns.c, built by scripts/build.sh. */
export const PACK_COLUMNS_PATH = join(__dirname, '..', '..', 'build', 'pack_columns.so');

/** The events table's columns in this file: a column newer than its schema reads as none (runfile/format.ts `since`). */
export function eventTableColumns(db: Database.Database): Set<string> {
  return new Set((db.prepare('PRAGMA table_info(events)').all() as { name: string }[]).map((c) => c.name));
}

const present = (f: Field, columns: Set<string>): boolean => f.column === null || columns.has(f.column);

/** The chunk query for a file whose events table has these columns. */
function chunkSql(columns: Set<string>): string {
  const values = FIELDS.map((f) => (present(f, columns) ? f.sql : 'NULL'));
  return `SELECT count(*), pack_columns('${PACK_SPEC}', ${values.join(', ')}) FROM events WHERE id BETWEEN ? AND ?`;
}

type Column = Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;
type ColumnMaker = new (buffer: ArrayBufferLike, offset: number, length: number) => Column;

/** A chunk's typed arrays, widest elements first (each view aligned, whatever the capacity). */
const CHUNK_ARRAYS: { key: keyof EventChunk; make: ColumnMaker; bytes: number }[] = [
  { key: 'id' as keyof EventChunk, type: 'u64' as ColumnType },
  ...ANALYZED.map((c) => ({ key: c.key as keyof EventChunk, type: c.type as ColumnType })),
  { key: 'invalid' as keyof EventChunk, type: 'u8' as ColumnType },
]
  .map(({ key, type }) => ({ key, make: ARRAY_TYPES[type] as ColumnMaker, bytes: columnBytes(type) }))
  .sort((a, b) => b.bytes - a.bytes);
const BYTES_PER_ROW = CHUNK_ARRAYS.reduce((sum, a) => sum + a.bytes, 0);

export function openReadOnly(path: string): Database.Database {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  // A scan never reads a page twice: SQLite's default 16 MB page cache would only add to the RSS.
  db.pragma('cache_size = -2000');
  try {
    db.loadExtension(PACK_COLUMNS_PATH);
  } catch (err) {
    db.close();
    throw new UserError(`cannot load ${PACK_COLUMNS_PATH} (${(err as Error).message}): build mutex-analyze with scripts/build.sh`);
  }
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

/** Fewer bytes than any events row takes in its table's pages: a file of N bytes holds fewer than N / this rows. */
const MIN_ROW_BYTES = 8;

function plan(db: Database.Database, rows: number): ChunkPlan {
  // Two queries: SQLite answers min() or max() alone from the b-tree's edge, but scans every row
  // for both at once (0.75 s for 10 M events; count(*) 1.3 s).
  const first = db.prepare('SELECT min(id) FROM events').pluck().get() as number | null;
  const last = db.prepare('SELECT max(id) FROM events').pluck().get() as number | null;
  if (first === null || last === null) return { from: [], to: [], capacity: 0 };
  const span = last - first + 1;
  const fileBytes = (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
  if (span <= fileBytes / MIN_ROW_BYTES) {
    // Chunks of `rows` ids: as many rows or fewer (a gap), and no more chunks than the file could fill.
    const out: ChunkPlan = { from: [], to: [], capacity: Math.min(rows, span) };
    for (let start = first; start <= last; start += rows) {
      out.from.push(start);
      out.to.push(Math.min(start + rows - 1, last));
    }
    return out;
  }
  // Ids far apart (not as mutex-rec writes them): chunks of `rows` rows, found by counting.
  const total = db.prepare('SELECT count(*) FROM events').pluck().get() as number;
  const out: ChunkPlan = { from: [], to: [], capacity: Math.min(rows, total) };
  const nextStart = db.prepare('SELECT id FROM events WHERE id >= ? ORDER BY id LIMIT 1 OFFSET ?').pluck();
  for (let start: number | undefined = first, left = total; start !== undefined; left -= rows) {
    const next: number | undefined = left <= rows ? undefined : (nextStart.get(start, rows) as number);
    out.from.push(start);
    out.to.push(next === undefined ? last : next - 1);
    start = next;
  }
  return out;
}

/** Typed-array views of a chunk of `capacity` rows at `offset` of `buffer`, `count` rows long. */
export function chunkView(buffer: ArrayBufferLike, offset: number, capacity: number, count: number): EventChunk {
  const chunk: Record<string, unknown> = { count };
  let at = offset;
  for (const { key, make, bytes } of CHUNK_ARRAYS) {
    chunk[key] = new make(buffer, at, count);
    at += capacity * bytes;
  }
  return chunk as EventChunk;
}

/** Bytes of a chunk buffer of `capacity` rows (a multiple of 8, so buffers can follow each other). */
export function chunkBytes(capacity: number): number {
  return Math.ceil((capacity * BYTES_PER_ROW) / 8) * 8;
}

/** Reads chunk k of the plan into `into` (a view of the plan's capacity); returns its rows. */
export function chunkReader(db: Database.Database, plan: ChunkPlan): (k: number, into: EventChunk) => number {
  const columns = eventTableColumns(db);
  const stmt = db.prepare(chunkSql(columns)).raw(true);
  return (k, into) => {
    const where = `${db.name}: events ${plan.from[k]}..${plan.to[k]}`;
    let count: number;
    let blob: Buffer | null;
    try {
      [count, blob] = stmt.get(plan.from[k], plan.to[k]) as [number, Buffer | null];
    } catch (err) {
      const bad = (err as Error).message.startsWith('pack_columns:') ? outOfRange(db, plan.from[k], plan.to[k], columns) : null;
      if (bad) throw new UserError(`${db.name}: ${bad}: the file is damaged (not as mutex-rec writes it): record again`);
      throw err;
    }
    if (count > plan.capacity) throw new UserError(`${where}: ${count} rows share ${plan.to[k] - plan.from[k] + 1} ids: the file is damaged (not as mutex-rec writes it): record again`);
    if (count === 0) return 0;
    if (blob === null || blob.length !== count * ROW_BYTES) throw new Error(`${where}: expected ${count} rows of ${ROW_BYTES} bytes, got ${blob?.length ?? 'no'} bytes`);
    let at = 0;
    for (const f of FIELDS) {
      const column = (into as unknown as Record<string, Column>)[f.key];
      const bytes = count * column.BYTES_PER_ELEMENT;
      new Uint8Array(column.buffer, column.byteOffset, bytes).set(blob.subarray(at, at + bytes));
      at += bytes;
    }
    // the aggregate's order is the scan's, by id, but SQLite does not promise it: check
    for (let i = 0, previousId = plan.from[k] - 1; i < count; previousId = into.id[i++]) {
      if (into.id[i] <= previousId) throw new Error(`${where}: rows out of id order`);
    }
    return count;
  };
}

/** The first value of events from..to out of its field's range, said in words; null if none. */
function outOfRange(db: Database.Database, from: number, to: number, columns: Set<string>): string | null {
  for (const f of FIELDS) {
    if (!f.range || !present(f, columns)) continue;
    const [min, max] = f.range;
    const row = db.prepare(`SELECT id, ${f.sql} FROM events WHERE id BETWEEN ? AND ? AND ${f.sql} IS NOT NULL AND NOT (${f.sql} BETWEEN ? AND ?) LIMIT 1`).raw(true).get(from, to, min, max) as
      | [number, unknown]
      | undefined;
    if (row) return `event ${row[0]} has ${f.sql} ${String(row[1])}, outside ${min} to ${max}`;
  }
  return null;
}

/**
 * The events of a run file in id order, one chunk at a time. Synchronous even with workers (the
 * consumer blocks only when the next chunk is not read yet), so RunFile.eachEvent() can stay
 * synchronous. A chunk's arrays are valid until the next chunk is asked for.
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
  const workers = opts.workers ?? (availableParallelism() >= 2 && plan.from.length >= MIN_CHUNKS_FOR_WORKERS ? 2 : 0);
  if (workers === 0) {
    try {
      const read = chunkReader(db, plan);
      const buffer = new ArrayBuffer(chunkBytes(plan.capacity));
      for (let k = 0; k < plan.from.length; k++) {
        const chunk = chunkView(buffer, 0, plan.capacity, plan.capacity);
        chunk.count = read(k, chunk);
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
  const counts = new SharedArrayBuffer(slots * 4);
  const countOf = new Int32Array(counts);
  const channels = Array.from({ length: workers }, () => new MessageChannel());
  const threads = channels.map((channel, worker) => {
    const workerData: WorkerData = { path, plan, worker, workers, slots: data, control, counts, errors: channel.port2 };
    const thread = new Worker(join(__dirname, 'reader-worker.js'), { workerData, transferList: [channel.port2] });
    thread.unref();
    return thread;
  });
  try {
    for (let k = 0; k < plan.from.length; k++) {
      const slot = k % slots;
      while (Atomics.load(state, slot) === SlotState.Free) Atomics.wait(state, slot, SlotState.Free);
      if (Atomics.load(state, slot) === SlotState.Failed) {
        const message = receiveMessageOnPort(channels[k % workers].port1)?.message as string | undefined;
        if (message?.startsWith(USER_ERROR)) throw new UserError(message.slice(USER_ERROR.length));
        throw new Error(message ?? `${path}: a reader thread failed`);
      }
      yield chunkView(data, slot * slotBytes, plan.capacity, Atomics.load(countOf, slot));
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
