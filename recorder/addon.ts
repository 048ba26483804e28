import { join } from 'node:path';

/** Columns of one drained batch of lock events (see BpfSession::Drain in the addon). */
export interface EventBatch {
  count: number;
  ts: Float64Array; // ns since the time base
  lock: Float64Array;
  caller: Float64Array;
  pid: Uint32Array;
  tid: Uint32Array;
  ret: Int32Array;
  stackId: Int32Array;
  cpu: Uint16Array;
  stage: Uint8Array;
  func: Uint8Array;
  flags: Uint32Array;
  threads: ThreadRecord[];
}

export interface ThreadRecord {
  ts: number;
  pid: number;
  tid: number;
  comm: string;
}

export interface BpfSession {
  programs(): string[];
  setGlobal(name: string, value: number): void;
  setAutoload(program: string, on: boolean): void;
  setRingBufferSize(bytes: number): void;
  setStackDepth(frames: number): void;
  readStack(stackId: number): Float64Array;
  load(): void;
  attachUprobe(program: string, binaryPath: string, fileOffset: number, isReturnProbe: boolean, pid: number): void;
  attachAuto(program: string): void;
  setTimeBase(monotonicNs: bigint): void;
  drain(): EventBatch;
  counters(): { emitted: number; dropped: number };
  detach(): void;
  close(): void;
}

/** Mappings the target makes from now on (PERF_RECORD_MMAP2), file-backed only. */
export interface MmapWatcher {
  read(): { start: number; end: number; offset: number; path: string }[];
  close(): void;
}

interface Addon {
  BpfSession: new (objectPath: string) => BpfSession;
  MmapWatcher: new (pid: number) => MmapWatcher;
  clockPair(): { monotonicNs: bigint; realtimeNs: bigint };
  spawnStopped(path: string, argv: string[], env: string[]): { pid: number; execErrorFd: number };
  resume(pid: number, execErrorFd: number): string | null;
  pollChild(pid: number): { code: number | null; signal: number | null } | null;
}

/** The package root (this file runs from dist/recorder/). */
export const PACKAGE_ROOT = join(__dirname, '..', '..');
export const BPF_OBJECT = join(PACKAGE_ROOT, 'build', 'mutex.bpf.o');

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const addon: Addon = require(join(PACKAGE_ROOT, 'recorder', 'addon', 'build', 'Release', 'mutexbpf.node'));
