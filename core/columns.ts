import type { RawEvent } from './events';

/**
 * Events as columns: the batches the addon drains (EventColumns), one event of them read into an
 * event object (fillEvent), and their raw form in the run file (mutex-rec --write-at-stop): one row of the event_spool table per drained
 * batch, each column of the batch one BLOB of its typed array's bytes (little-endian, this
 * machine's layout). Writing a batch so is a copy per column, not a row per event; the events
 * table is built from the spool when the recording stops. The same BLOBs are what the recorder's
 * SQLite extension spool_rows (recorder/sqlite/spool_rows.c) turns into event rows.
 */

/** The columns of a batch of events, as the addon's drain fills them (recorder/addon.ts): valid up to a count. */
export interface EventColumns {
  ts: Float64Array;
  requestTs: Float64Array; // NaN: none
  lock: Float64Array;
  caller: Float64Array;
  pid: Uint32Array;
  tid: Uint32Array;
  ret: Int32Array;
  stackId: Int32Array; // -1: none
  cpu: Uint16Array;
  stage: Uint8Array;
  func: Uint8Array;
  flags: Uint32Array;
  cond: Float64Array; // cond waits, signals, broadcasts: the condition variable; NaN: none
}

/** Empty columns for `capacity` events (a drain's reusable buffers). */
export function newEventColumns(capacity: number): EventColumns {
  return {
    ts: new Float64Array(capacity),
    requestTs: new Float64Array(capacity),
    lock: new Float64Array(capacity),
    caller: new Float64Array(capacity),
    pid: new Uint32Array(capacity),
    tid: new Uint32Array(capacity),
    ret: new Int32Array(capacity),
    stackId: new Int32Array(capacity),
    cpu: new Uint16Array(capacity),
    stage: new Uint8Array(capacity),
    func: new Uint8Array(capacity),
    flags: new Uint32Array(capacity),
    cond: new Float64Array(capacity),
  };
}

type TypedArrayOf<K extends keyof EventColumns> = EventColumns[K];
type Column = { [K in keyof EventColumns]: { key: K; sql: string; make: (buffer: ArrayBuffer) => TypedArrayOf<K> } }[keyof EventColumns];

/** event_spool's BLOB columns, in schema order. */
export const SPOOL_COLUMNS: readonly Column[] = [
  { key: 'ts', sql: 'ts', make: (b) => new Float64Array(b) },
  { key: 'requestTs', sql: 'request_ts', make: (b) => new Float64Array(b) },
  { key: 'lock', sql: 'lock', make: (b) => new Float64Array(b) },
  { key: 'caller', sql: 'caller', make: (b) => new Float64Array(b) },
  { key: 'pid', sql: 'pid', make: (b) => new Uint32Array(b) },
  { key: 'tid', sql: 'tid', make: (b) => new Uint32Array(b) },
  { key: 'ret', sql: 'ret', make: (b) => new Int32Array(b) },
  { key: 'stackId', sql: 'stack_id', make: (b) => new Int32Array(b) },
  { key: 'cpu', sql: 'cpu', make: (b) => new Uint16Array(b) },
  { key: 'stage', sql: 'stage', make: (b) => new Uint8Array(b) },
  { key: 'func', sql: 'func', make: (b) => new Uint8Array(b) },
  { key: 'flags', sql: 'flags', make: (b) => new Uint32Array(b) },
  { key: 'cond', sql: 'cond', make: (b) => new Float64Array(b) },
];

/** The first `count` entries of each column, as BLOB values in SPOOL_COLUMNS order. */
export function encodeSpool(columns: EventColumns, count: number): Buffer[] {
  return SPOOL_COLUMNS.map(({ key }) => {
    const a = columns[key];
    return Buffer.from(a.buffer, a.byteOffset, count * a.BYTES_PER_ELEMENT);
  });
}

/**
 * A spool row's BLOBs back into columns (copied: SQLite's buffers need not be aligned). A row of a
 * file from before the cond column (schema 4) has one BLOB fewer: its events have no cond.
 */
export function decodeSpool(blobs: (Buffer | null | undefined)[], count: number): EventColumns {
  const out: Partial<Record<keyof EventColumns, unknown>> = {};
  SPOOL_COLUMNS.forEach((c, i) => {
    const blob = blobs[i];
    out[c.key] = c.key === 'cond' && (blob === undefined || blob === null) ? new Float64Array(count).fill(NaN) : decodeSpoolColumn(c.key, blob!, count);
  });
  return out as EventColumns;
}

/** One column of a spool row. */
export function decodeSpoolColumn<K extends keyof EventColumns>(key: K, blob: Buffer, count: number): EventColumns[K] {
  const c = SPOOL_COLUMNS.find((x) => x.key === key)!;
  const bytes = new ArrayBuffer(blob.length);
  new Uint8Array(bytes).set(blob);
  const column = c.make(bytes);
  if (column.length !== count) throw new Error(`event_spool: column ${c.sql} holds ${column.length} values, not ${count}`);
  return column as EventColumns[K];
}

type EventFields = Pick<EventColumns, 'ts' | 'requestTs' | 'stage' | 'func' | 'pid' | 'tid' | 'lock' | 'ret' | 'caller' | 'flags' | 'stackId' | 'cond'>;

/** Event i of a set of columns (a drained batch, a chunk of rows, a spooled batch) into `e`. */
export function fillEvent(e: RawEvent, c: EventFields, i: number): void {
  e.ts = c.ts[i];
  e.requestTs = c.requestTs[i] === c.requestTs[i] ? c.requestTs[i] : null; // NaN: none
  e.stage = c.stage[i];
  e.func = c.func[i];
  e.pid = c.pid[i];
  e.tid = c.tid[i];
  e.lock = c.lock[i];
  e.ret = c.ret[i];
  e.caller = c.caller[i];
  e.flags = c.flags[i];
  e.stackId = c.stackId[i] < 0 ? null : c.stackId[i];
  e.cond = c.cond[i] === c.cond[i] ? c.cond[i] : null; // NaN: none
}
