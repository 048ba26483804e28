import type { FileMapping } from '../core/mappings';
import type { EventColumns } from './columns';

/** The rows of a run file besides the run header (runfile/header.ts), as the writer takes them and the reader gives them. */

/** A thread as seen at ts, with its name (comm). */
export interface ThreadRow {
  ts: number;
  pid: number;
  tid: number;
  comm: string;
}

/** A drained batch of events: the first `count` entries of the columns, and the thread names seen with them. */
export interface EventBatch extends EventColumns {
  count: number;
  threads: ThreadRow[];
}

/** A lock call still in progress when the recording stopped: written as a request row (stage 0). */
export interface WaitingCall {
  ts: number; // ns since the run's start: the request
  lock: number;
  caller: number;
  pid: number;
  tid: number;
  stackId: number; // -1: none
  flags: number;
  func: number;
  holder: number; // futex waits: the owner the lock's memory named at the entry; 0: none
  cond: number; // a cond wait: its condition variable (lock is the mutex); 0 otherwise
  outerCaller: number; // the return address of the function that made the lock call; 0: none
}

/** A file mapping of the target (mappings table). */
export interface MappingRow extends FileMapping {
  buildId: string | null; // filled in when the recording ends (reading ELF files is slow)
  executable: boolean | null; // null: not known (seen by the mmap watcher only, or a file without the column)
}

/** The name of an address (symbols table). */
export interface SymbolRow {
  name: string; // function+0xoffset, global+0xoffset, or module+0xfileoffset when no symbol covers it
  module: string | null;
  kind: 'code' | 'data';
}

/** A probe attached (probes table). */
export interface ProbeRow {
  func: number;
  object: string;
  buildId: string | null;
  offset: number;
  funcOffset: number | null; // uprobes: bytes past the function's entry
  insn: string | null; // uprobes: 'emulated' | 'single-stepped' (how the kernel runs the probed instruction)
  kind: string;
}

/** What the BPF programs counted going wrong, besides drops (run.probe_failures). */
export interface ProbeFailures {
  stackFailed: number; // call stacks not taken
  pendingFull: number; // lock calls not followed: no room in a pending map
  futexUnread?: number; // contention mode: futex calls whose user registers could not be read (no call site, no layout)
}
