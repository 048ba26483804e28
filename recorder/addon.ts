import { join } from 'node:path';

import { MUTEX_PROGRAMS, type MutexProgram } from '../bpf/programs';
import type { EventColumns } from '../runfile/columns';
import type { EventBatch as RunBatch, ProbeFailures, ThreadRow, WaitingCall } from '../runfile/rows';

export { newEventColumns, type EventColumns } from '../runfile/columns';

/** One drain (see BpfSession::Drain in the addon): the first `count` entries of the reused columns, and thread names seen. */
export interface EventBatch extends RunBatch {
  more: boolean; // the ring buffer held more than one drain takes: drain again now
}

/** What went wrong inside the BPF programs, counted there (bpf/mutex.h enum mutex_counter). */
export interface ProbeCounters extends ProbeFailures {
  dropped: number; // events lost: the ring buffer was full
}

/** Before load(): which programs are loaded (their indices, mutexProgram()), and the settings they read. */
export interface SessionConfig {
  programs: number[];
  targetTgid: number; // uprobes: this process (0: any)
  kernelTgid: number; // kernel probes: this process's tasks (0: every task but the recorder)
  selfTgid: number; // the recorder's own process (calibration; left out of kernel probes)
  captureStacks: boolean;
  futexTgid: number; // contention mode: this process's futex calls (bpf/futex.bpf.h); 0: off
  ringBufferBytes: number;
  stackDepth: number; // frames per call stack, 1..127
}

/** The recorder's BPF programs (bpf/mutex.bpf.c) through their skeleton: a program is its index, mutexProgram(name). */
export interface MutexSession {
  configure(config: SessionConfig): void;
  load(): void;
  /** Returns the link's index, for detachLinks. */
  attachUprobe(program: number, binaryPath: string, fileOffset: number, isReturnProbe: boolean, pid: number): number;
  attachAuto(program: number): void;
  detachLinks(indices: number[]): void;
  readStack(stackId: number): Float64Array;
  /** Every thread's name is emitted again with its next event. */
  forgetThreadNames(): void;
  setTimeBase(monotonicNs: bigint): void;
  /** The recording window the programs obey, CLOCK_MONOTONIC ns (0n: not open / no end); after load(). */
  setWindow(startNs: bigint, endNs: bigint): void;
  /** One object's lock calls (bpf/outer_caller.bpf.h), by the file's inode and size; returns how many the map took. */
  addLockCallSites(ino: number, size: number, returnOffsets: Float64Array, cfaOffsets: Uint32Array): number;
  /** A process's lock calls at their addresses (bpf/outer_caller.bpf.h outer_cache); returns how many the map took. */
  cacheOuterCallSites(tgid: number, returnAddresses: Float64Array, cfaOffsets: Uint32Array): number;
  drain(columns: EventColumns): { count: number; more: boolean; threads: ThreadRow[] };
  /** The lock calls entered and not returned (bpf/mutex.h struct pending_call). */
  pendingCalls(): WaitingCall[];
  counters(): ProbeCounters;
  detach(): void;
  close(): void;
}

/** A benchmark's BPF object (build/NAME.bpf.o), its programs by name (bpf/programs.ts). */
export interface BpfObject {
  /** Loads the programs named (all by default); with a loaded session, its maps of the same names are shared (bpf/recording.h). */
  load(options: { programs?: string[]; shareMapsWith?: MutexSession }): void;
  attachUprobe(program: string, binaryPath: string, fileOffset: number, isReturnProbe: boolean, pid: number): void;
  attachAuto(program: string): void;
  /** Every loaded program, by its section. */
  attachAll(): void;
  close(): void;
}

/** A program of the recorder's object, as the addon takes it: its index in the skeleton. */
export function mutexProgram(name: MutexProgram): number {
  return MUTEX_PROGRAMS.indexOf(name);
}

/** Mappings the target makes from now on (PERF_RECORD_MMAP2), file-backed only. */
export interface MmapWatcher {
  read(): { start: number; end: number; offset: number; path: string; executable: boolean }[];
  close(): void;
}

interface Addon {
  maxDrain: number;
  MutexSession: new () => MutexSession;
  BpfObject: new (objectPath: string) => BpfObject;
  MmapWatcher: new (pid: number) => MmapWatcher;
  clockPair(): { monotonicNs: bigint; realtimeNs: bigint };
  /** Uncontended lock/unlock pairs of a private lock of that kind (default a mutex) on a new thread, or invalid cond waits (recorder/calibrate.ts). */
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

export const addon: Addon = require(join(PACKAGE_ROOT, 'recorder', 'addon', 'build', 'Release', 'mutexbpf.node'));
