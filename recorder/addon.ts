import { join } from 'node:path';

/** Reusable columns a drain fills (see BpfSession::Drain in the addon): valid up to count. */
export type { EventColumns } from '../core/columns';
import type { EventColumns } from '../core/columns';

/** One drain: the first `count` entries of the columns, and thread names seen. */
export interface EventBatch extends EventColumns {
  count: number;
  more: boolean; // the ring buffer held more than one drain takes: drain again now
  threads: ThreadRecord[];
}

export { newEventColumns } from '../core/columns';

export interface ThreadRecord {
  ts: number;
  pid: number;
  tid: number;
  comm: string;
}

/** A lock call entered and not returned (bpf/mutex.h struct pending_call). */
export interface PendingCall {
  ts: number; // ns since the time base
  lock: number;
  caller: number;
  pid: number;
  tid: number;
  stackId: number;
  flags: number;
  func: number;
  cond: number; // a cond wait: its condition variable (lock is the mutex); 0 otherwise
}

/** What went wrong inside the BPF programs, counted there (bpf/mutex.h enum mutex_counter). */
export interface ProbeCounters {
  dropped: number; // events lost: the ring buffer was full
  stackFailed: number; // call stacks not taken (stack map full, or a hash collision)
  pendingFull: number; // lock calls not followed: no room in a pending map
}

export interface BpfSession {
  programs(): string[];
  setGlobal(name: string, value: number): void;
  setAutoload(program: string, on: boolean): void;
  setRingBufferSize(bytes: number): void;
  setStackDepth(frames: number): void;
  readStack(stackId: number): Float64Array;
  load(): void;
  /** Returns the link's index, for detachLinks. */
  attachUprobe(program: string, binaryPath: string, fileOffset: number, isReturnProbe: boolean, pid: number): number;
  detachLinks(indices: number[]): void;
  /** Every thread's name is emitted again with its next event. */
  forgetThreadNames(): void;
  attachAuto(program: string): void;
  setTimeBase(monotonicNs: bigint): void;
  /** The recording window the programs obey, CLOCK_MONOTONIC ns (0n: not open / no end); after load(). */
  setWindow(startNs: bigint, endNs: bigint): void;
  drain(columns: EventColumns): { count: number; more: boolean; threads: ThreadRecord[] };
  pendingCalls(): PendingCall[];
  counters(): ProbeCounters;
  detach(): void;
  close(): void;
}

/** Mappings the target makes from now on (PERF_RECORD_MMAP2), file-backed only. */
export interface MmapWatcher {
  read(): { start: number; end: number; offset: number; path: string; executable: boolean }[];
  close(): void;
}

interface Addon {
  maxDrain: number;
  BpfSession: new (objectPath: string) => BpfSession;
  MmapWatcher: new (pid: number) => MmapWatcher;
  clockPair(): { monotonicNs: bigint; realtimeNs: bigint };
  /** Uncontended lock/unlock pairs of a private lock of that kind (default a mutex) on a new thread, or expired cond waits (recorder/calibrate.ts). */
  runLockPairs(pairs: number, kind?: 'mutex' | 'rwlock:R' | 'rwlock:W' | 'spin' | 'cond'): { tid: number; ns: number };
  /** libbpf's info and warning messages on stderr (mutex-rec --verbose). */
  setVerbose(on: boolean): void;
  spawnStopped(path: string, argv: string[], env: string[]): { pid: number; execErrorFd: number };
  resume(pid: number, execErrorFd: number): string | null;
  pollChild(pid: number): { code: number | null; signal: number | null } | null;
  /** An exclusive flock on fd's file: false when another process holds one. */
  lockFile(fd: number): boolean;
}

/** The package root (this file runs from dist/recorder/). */
export const PACKAGE_ROOT = join(__dirname, '..', '..');
export const BPF_OBJECT = join(PACKAGE_ROOT, 'build', 'mutex.bpf.o');

export const addon: Addon = require(join(PACKAGE_ROOT, 'recorder', 'addon', 'build', 'Release', 'mutexbpf.node'));
