import { join } from 'node:path';

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
  drain(columns: EventColumns): { count: number; more: boolean; threads: ThreadRow[] };
  /** The lock calls entered and not returned (bpf/mutex.h struct pending_call). */
  pendingCalls(): WaitingCall[];
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
  /** Uncontended lock/unlock pairs of a private mutex on a new thread (recorder/calibrate.ts). */
  runLockPairs(pairs: number): { tid: number; ns: number };
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
