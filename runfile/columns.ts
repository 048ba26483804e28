import type { RawEvent } from '../core/events';
import { EVENT_COLUMNS, type ColumnKey, type ColumnSpec, type ColumnType, type EventColumnSpec } from './format';

/**
 * Events as columns (runfile/format.ts): the batches the addon drains (EventColumns), one event of
 * them read into an event object (fillEvent), and their raw form in the run file (mutex-rec
 * --write-at-stop): one row of the event_spool table per drained batch, each column of the batch
 * one BLOB of its typed array's bytes (little-endian, this machine's layout). Writing a batch so
 * is a copy per column, not a row per event. The same BLOBs are what the SQLite extension
 * spool_rows (runfile/sqlite/spool_rows.c) turns into event rows.
 */

export const ARRAY_TYPES = {
  u64: Float64Array, // times and addresses: exact as doubles (ns below 2^53, canonical x86-64 addresses)
  s32: Int32Array,
  u32: Uint32Array,
  u16: Uint16Array,
  u8: Uint8Array,
} as const;

type ArrayOf<T extends ColumnType> = InstanceType<(typeof ARRAY_TYPES)[T]>;

/** The columns of a batch of events, valid up to a count: a none is NaN (a time) or -1 (an s32). */
export type EventColumns = { [C in EventColumnSpec as C['key']]: ArrayOf<C['type']> };

export function arrayFor(type: ColumnType, buffer: ArrayBuffer): ArrayOf<ColumnType> {
  return new ARRAY_TYPES[type](buffer);
}

/** Empty columns for `capacity` events (a drain's reusable buffers): 0, or none (NaN, -1) in a nullable column. */
export function newEventColumns(capacity: number): EventColumns {
  return Object.fromEntries(
    EVENT_COLUMNS.map((c: ColumnSpec) => {
      const column = new ARRAY_TYPES[c.type](capacity);
      if (c.nullable) column.fill(c.type === 'u64' ? NaN : -1);
      return [c.key, column];
    }),
  ) as EventColumns;
}

/** The first `count` entries of each column, as BLOB values in EVENT_COLUMNS order. */
export function encodeSpool(columns: EventColumns, count: number): Buffer[] {
  return EVENT_COLUMNS.map(({ key }) => {
    const a = columns[key];
    return Buffer.from(a.buffer, a.byteOffset, count * a.BYTES_PER_ELEMENT);
  });
}

/**
 * A spool row's BLOBs (EVENT_COLUMNS order) back into columns. A column a later schema added
 * (format.ts `since`) that the file's spool lacks comes as null: none for every event (NaN).
 */
export function decodeSpool(blobs: (Buffer | null)[], count: number): EventColumns {
  return Object.fromEntries(
    EVENT_COLUMNS.map((c, i) => {
      const blob = blobs[i];
      if (blob === null && (c as ColumnSpec).since !== undefined) return [c.key, c.type === 'u64' ? new Float64Array(count).fill(NaN) : new ARRAY_TYPES[c.type](count)];
      if (blob === null) throw new Error(`event_spool: column ${c.sql} is NULL`);
      return [c.key, decodeSpoolColumn(c.key, blob, count)];
    }),
  ) as EventColumns;
}

/** One column of a spool row (copied: SQLite's buffers need not be aligned). */
export function decodeSpoolColumn<K extends ColumnKey>(key: K, blob: Buffer, count: number): EventColumns[K] {
  const c = EVENT_COLUMNS.find((x) => x.key === key)!;
  const bytes = new ArrayBuffer(blob.length);
  new Uint8Array(bytes).set(blob);
  const column = arrayFor(c.type, bytes);
  if (column.length !== count) throw new Error(`event_spool: column ${c.sql} holds ${column.length} values, not ${count}`);
  return column as EventColumns[K];
}

/** The columns the analyzer reads: every one an event object has (cpu is only kept in the file). */
export type AnalyzedColumns = Pick<EventColumns, Extract<EventColumnSpec, { analyzed: true }>['key']>;

/**
 * Event i of a set of columns (a drained batch, a chunk of rows, a spooled batch) into `e`.
 * Written out rather than looped over EVENT_COLUMNS: it runs for every event the analyzer reads.
 * test/runfile-format.test.ts checks it copies every analyzed column.
 */
export function fillEvent(e: RawEvent, c: AnalyzedColumns, i: number): void {
  e.ts = c.ts[i];
  e.requestTs = c.requestTs[i] === c.requestTs[i] ? c.requestTs[i] : null; // NaN: none
  e.lock = c.lock[i];
  e.caller = c.caller[i];
  e.pid = c.pid[i];
  e.tid = c.tid[i];
  e.ret = c.ret[i];
  e.stackId = c.stackId[i] < 0 ? null : c.stackId[i];
  e.stage = c.stage[i];
  e.func = c.func[i];
  e.flags = c.flags[i];
  e.holder = c.holder[i];
  e.cond = c.cond[i] === c.cond[i] ? c.cond[i] : null; // NaN: none
  e.outerCaller = c.outerCaller[i] === c.outerCaller[i] ? c.outerCaller[i] : null; // NaN: none
}
