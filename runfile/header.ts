import type { KernelMethod } from '../core/kernel_methods';
import type { ProbeCost } from '../core/probe_cost';
import type { ProbeFailures } from './rows';

/** The run table's one row: what the writer knows when the recording starts. */
export interface RunStart {
  toolVersion: string;
  host: string;
  kernelRelease: string;
  startRealtimeNs: bigint;
  startMonotonicNs: bigint; // every event's ts is relative to it
  targetPid: number | null;
  targetComm: string | null;
  targetCmdline: string[];
  launched: boolean;
  userProbes: boolean;
  kernelProbe: KernelMethod | null;
  kernelScope: 'target' | 'all' | null;
  mode: 'full' | 'contention'; // contention (mutex-rec --contention): futex waits and wakes only; a file before schema 5 is full
  probeCost: ProbeCost | null; // measured at the start of the recording; null: not measured (schema 3, kernel only)
  options: Record<string, unknown>;
}

/** ... and what it writes when it ends (updated while it records: eventCount and dropCount). */
export interface RunEnd {
  endTs: number | null; // ns since the start
  endReason: string | null; // null: the recorder did not finish (killed), or is still recording
  targetExit: string | null;
  eventCount: number;
  dropCount: number;
  probeFailures: ProbeFailures | null; // null: not known
}

/** A run file's header as the reader gives it. */
export interface RunMeta extends RunStart, RunEnd {
  path: string;
  schemaVersion: number;
  recorderPid: number | null; // the recorder still writing the file (it holds its flock), if any
  spooledEvents: number; // still raw in event_spool: the recorder (--write-at-stop) stopped before writing them
}

type Header = RunStart & RunEnd;
type Codec = 'text' | 'number' | 'bigint' | 'flag' | 'json';

/** The run table's columns: each field of the header, its SQL column and how it is stored. */
const RUN_COLUMNS = [
  ['toolVersion', 'tool_version', 'text'],
  ['host', 'host', 'text'],
  ['kernelRelease', 'kernel_release', 'text'],
  ['startRealtimeNs', 'start_realtime_ns', 'bigint'],
  ['startMonotonicNs', 'start_monotonic_ns', 'bigint'],
  ['targetPid', 'target_pid', 'number'],
  ['targetComm', 'target_comm', 'text'],
  ['targetCmdline', 'target_cmdline', 'json'],
  ['launched', 'launched', 'flag'],
  ['userProbes', 'user_probes', 'flag'],
  ['kernelProbe', 'kernel_probe', 'text'],
  ['kernelScope', 'kernel_scope', 'text'],
  ['mode', 'mode', 'text'],
  ['probeCost', 'probe_cost', 'json'],
  ['options', 'options', 'json'],
  ['endTs', 'end_ts', 'number'],
  ['endReason', 'end_reason', 'text'],
  ['targetExit', 'target_exit', 'text'],
  ['eventCount', 'event_count', 'number'],
  ['dropCount', 'drop_count', 'number'],
  ['probeFailures', 'probe_failures', 'json'],
] as const satisfies readonly (readonly [keyof Header, string, Codec])[];

// Every field of the header has its column: a field added to RunStart or RunEnd without one does not compile.
type Unstored = Exclude<keyof Header, (typeof RUN_COLUMNS)[number][0]>;
const everyFieldStored: [Unstored] extends [never] ? true : Unstored = true;
void everyFieldStored;

type SqlValue = string | number | bigint | null;

function encode(codec: Codec, value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  if (codec === 'json') return JSON.stringify(value);
  if (codec === 'flag') return value ? 1 : 0;
  return value as SqlValue;
}

function decode(codec: Codec, value: unknown): unknown {
  if (value === null || value === undefined) return null; // a column an older schema lacks, or NULL
  switch (codec) {
    case 'json':
      return JSON.parse(String(value));
    case 'flag':
      return Number(value) === 1;
    case 'number':
      return Number(value);
    case 'bigint':
      return BigInt(value as bigint);
    case 'text':
      return String(value);
  }
}

/** The run table's columns and values of some header fields, for an INSERT or an UPDATE. */
export function runColumns(fields: Partial<Header>): { columns: string[]; values: SqlValue[] } {
  const stored = RUN_COLUMNS.filter(([key]) => key in fields);
  return { columns: stored.map(([, sql]) => sql), values: stored.map(([key, , codec]) => encode(codec, fields[key])) };
}

/** The header of a run table row read with safeIntegers (its ns times are bigints). Missing columns are null. */
export function readHeader(row: Record<string, unknown>): Header {
  return Object.fromEntries(RUN_COLUMNS.map(([key, sql, codec]) => [key, decode(codec, row[sql])])) as unknown as Header;
}
