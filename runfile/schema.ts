import { EVENT_COLUMNS, FUNCS, STAGES, type ColumnSpec } from './format';

/** The run-file schema this writer makes (PRAGMA user_version); readers refuse a newer one. */
export const SCHEMA_VERSION = 4;

/**
 * The run file's schema: the tables written by hand below, the events and event_spool tables and
 * the code names from runfile/format.ts. scripts/build.sh writes it to schema.sql for readers of
 * the file; the writer creates run files from it.
 */
export function renderSchema(): string {
  return [HEAD, STAGES_AND_FUNCS, eventsTable(), spoolTable(), REST, codeRows()].join('');
}

const HEAD = `-- Run file of mutex-rec: one recording, raw events as the probes saw them.
-- Versioned with PRAGMA user_version; readers refuse a version they do not know.
PRAGMA user_version = ${SCHEMA_VERSION};

-- One row: what was recorded, where, how, and how it ended.
CREATE TABLE run (
  id                  INTEGER PRIMARY KEY CHECK (id = 1),
  tool_version        TEXT    NOT NULL,
  host                TEXT    NOT NULL,
  kernel_release      TEXT    NOT NULL,
  start_realtime_ns   INTEGER NOT NULL, -- wall clock (CLOCK_REALTIME) at the start, ns since the epoch
  start_monotonic_ns  INTEGER NOT NULL, -- CLOCK_MONOTONIC at the same moment; event ts are relative to it
  end_ts              INTEGER,          -- ns since start_monotonic_ns when recording stopped
  target_pid          INTEGER,
  target_comm         TEXT,
  target_cmdline      TEXT,             -- JSON array of strings
  launched            INTEGER NOT NULL, -- 1: started by mutex-rec (-- CMD), recorded from its first instruction
  target_exit         TEXT,             -- launched target's exit: "code N" or "signal NAME"
  end_reason          TEXT,             -- NULL while recording (or if the recorder was killed)
  event_count         INTEGER NOT NULL DEFAULT 0, -- lock events written to this file
  drop_count          INTEGER NOT NULL DEFAULT 0, -- events the probes could not hand over (ring buffer full)
  user_probes         INTEGER NOT NULL DEFAULT 1, -- 1: pthread mutexes of the target were probed
  kernel_probe        TEXT,             -- kernel mutexes: NULL (not recorded), fentry, kprobe or tracepoint
  kernel_scope        TEXT,             -- 'target' (the target's tasks) or 'all' (system-wide)
  options             TEXT,             -- JSON: the recorder's options
  probe_cost          TEXT,             -- JSON: what the probes add to a lock call's wait (wait_ns) and to a hold
                                        -- (hold_ns), measured at the start (recorder/calibrate.ts); NULL: not measured
  probe_failures      TEXT              -- JSON: what the BPF programs counted going wrong: stackFailed (call stacks
                                        -- not taken), pendingFull (lock calls not followed); NULL: not finished
);

-- Every probe attached: which function of which object, and how.
CREATE TABLE probes (
  id        INTEGER PRIMARY KEY,
  func      INTEGER NOT NULL REFERENCES funcs(id),
  object    TEXT    NOT NULL, -- file probed (library or executable)
  build_id  TEXT,
  offset    INTEGER NOT NULL, -- file offset of the probed instruction (0 for kernel probes)
  kind      TEXT    NOT NULL, -- uprobe | uretprobe | fentry | fexit | kprobe | kretprobe | tracepoint
  func_offset INTEGER,        -- uprobes: bytes from the function's entry to the probed instruction
  insn      TEXT              -- uprobes: 'emulated' or 'single-stepped', how the kernel runs the probed
                              -- instruction on a hit (single-stepping costs a second trap); NULL: kernel
);

-- The target's file-backed memory mappings seen while recording (read from /proc/PID/maps), so
-- addresses can be named as object+offset after the process is gone, and matched across runs.
-- The executable ones bound the user stack frames the analyzer believes (a frame-pointer walk
-- through code built without frame pointers gives garbage addresses).
CREATE TABLE mappings (
  start     INTEGER NOT NULL,
  end       INTEGER NOT NULL,
  offset    INTEGER NOT NULL, -- file offset of start
  path      TEXT    NOT NULL,
  build_id  TEXT,             -- GNU build-id of the object, when it has one
  first_ts  INTEGER NOT NULL, -- when it was first seen (ns since start_monotonic_ns)
  executable INTEGER,         -- 1: mapped executable (code), 0: not (data, .bss), NULL: not known (seen by
                              -- the mmap watcher only; files written before this column have none)
  PRIMARY KEY (start, path)
);

`;

const STAGES_AND_FUNCS = `-- Names of the stage and func codes used in events (runfile/format.ts).
CREATE TABLE stages (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE funcs  (id INTEGER PRIMARY KEY, name TEXT NOT NULL, domain TEXT NOT NULL);

`;

const REST = `-- Names of the addresses in events and stacks, resolved when the recording ended (the process may
-- be gone when the file is analyzed): code addresses (callers, stack frames) as function+0xoffset,
-- or module+0xoffset where the object has no symbol for them; lock addresses that are globals or
-- statics by their symbol (g_cache_lock, or symbol+0xoffset inside one). User-space names come from
-- the ELF .symtab/.dynsym of the mapped objects (C++ demangled), kernel ones from /proc/kallsyms.
CREATE TABLE symbols (
  address INTEGER PRIMARY KEY, -- signed 64-bit, as in events
  name    TEXT    NOT NULL,
  module  TEXT,                -- object file (basename) or 'kernel'
  kind    TEXT    NOT NULL     -- 'code' or 'data'
);

-- Call stacks, stored once each: events.stack_id -> its frames, innermost (depth 0) first.
-- A user stack taken at a lock function's entry starts in that function, and the kernel's
-- frame-pointer walk from there skips the immediate call site: the whole stack is frame 0, then
-- events.caller, then frames 1... Frames past code built without frame pointers are unreliable.
CREATE TABLE stack_frames (
  stack_id INTEGER NOT NULL,
  depth    INTEGER NOT NULL,
  address  INTEGER NOT NULL, -- resolve through symbols
  PRIMARY KEY (stack_id, depth)
) WITHOUT ROWID;

-- Threads seen, with their name (comm) as last seen.
CREATE TABLE threads (
  tid       INTEGER PRIMARY KEY,
  pid       INTEGER NOT NULL,
  comm      TEXT    NOT NULL,
  first_ts  INTEGER NOT NULL,
  last_ts   INTEGER NOT NULL
);

`;

const EVENTS_DOC = `-- Raw events. id is arrival order from the single ring buffer: time order within each thread, and
-- causal order across threads (a release is always before the acquisition it enabled).
-- Every event lies in the recording window [0, run.end_ts): the probes record nothing before all of
-- them are attached nor after the stop decision, so a lock held when the window opened shows only
-- its release.
-- A lock call is one row, stage 1, written when it returned, with the time it was made in
-- request_ts; a stage 0 row is a call that had not returned when the recording stopped (a thread
-- still waiting: a deadlock, a long wait), read from the probes' state at the stop. So a
-- lock/unlock pair is two rows: acquired (request_ts, ts) and released (ts).
`;

const SPOOL_DOC = `-- Events not yet written as rows (mutex-rec --write-at-stop keeps them raw while it records and
-- builds the events table from them when it stops; a recorder killed before that leaves them
-- here, and mutex-analyze reads them after the events table). One row per drained batch, in
-- arrival order; each column one BLOB of \`count\` little-endian values (runfile/columns.ts):
`;

const WIDTH = 110;

/** `text` as SQL comment lines of at most WIDTH characters, the first after `first`, the others indented to its length. */
function comment(first: string, text: string): string {
  const indent = ' '.repeat(first.length);
  const lines: string[] = [];
  let line = `${first}-- `;
  for (const word of text.split(' ')) {
    if (line.length + word.length > WIDTH && !line.endsWith('-- ')) {
      lines.push(line.trimEnd());
      line = `${indent}-- `;
    }
    line += `${word} `;
  }
  lines.push(line.trimEnd());
  return lines.join('\n');
}

function columnDefinition(c: ColumnSpec): string {
  const nullable = c.nullable;
  const sqlDefault = c.sqlDefault === undefined ? '' : ` DEFAULT ${c.sqlDefault}`;
  return `${c.sql.padEnd(10)} INTEGER${nullable ? '' : ' NOT NULL'}${sqlDefault}`;
}

function eventsTable(): string {
  const definitions = ['id         INTEGER PRIMARY KEY', ...EVENT_COLUMNS.map(columnDefinition)];
  const pad = Math.max(...definitions.map((d) => d.length)) + 1;
  const lines = definitions.map((d, i) => {
    const text = `  ${d}${i < definitions.length - 1 ? ',' : ''}`;
    return i === 0 ? text : comment(text.padEnd(pad + 3), EVENT_COLUMNS[i - 1].doc);
  });
  return `${EVENTS_DOC}CREATE TABLE events (\n${lines.join('\n')}\n);\n\n`;
}

const SPOOL_TYPES = { u64: 'float64', s32: 'int32', u32: 'uint32', u16: 'uint16', u8: 'uint8' } as const;

/** How a column's values are kept in its event_spool BLOB. */
function spoolEncoding(c: ColumnSpec): string {
  const none = c.nullable ? (c.type === 'u64' ? ', NaN: none' : ', -1: none') : '';
  const meaning = c.u64 ? (c.u64 === 'time' ? ' ns since start_monotonic_ns' : ' signed 64-bit address') : '';
  return `${c.sql} ${SPOOL_TYPES[c.type]}${meaning}${none}`;
}

function spoolTable(): string {
  const doc = comment('', `${EVENT_COLUMNS.map(spoolEncoding).join('; ')}.`);
  const columns = EVENT_COLUMNS.map((c) => `  ${c.sql} BLOB NOT NULL`).join(',\n');
  return `${SPOOL_DOC}${doc}\nCREATE TABLE event_spool (\n  id         INTEGER PRIMARY KEY,\n  count      INTEGER NOT NULL,\n${columns}\n);\n\n`;
}

function codeRows(): string {
  const stages = Object.entries(STAGES).map(([name, s]) => `(${s.code}, '${name.toLowerCase()}')`);
  const funcs = Object.values(FUNCS).map((f) => `  (${f.code}, '${f.name}', '${f.domain}')`);
  return `INSERT INTO stages VALUES ${stages.join(', ')};\nINSERT INTO funcs VALUES\n${funcs.join(',\n')};\n`;
}

