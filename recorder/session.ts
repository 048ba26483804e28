import { closeSync, existsSync, openSync, readlinkSync, readSync, realpathSync } from 'node:fs';
import { constants as osConstants, hostname, release } from 'node:os';
import { basename } from 'node:path';

import { UserError } from '../core/errors';
import { addon, newEventColumns, type BpfObject, type EventBatch, type MutexSession } from './addon';
import type { ElfObject } from './elf';
import { KernelSymbols } from './kallsyms';
import type { KernelMethod } from '../core/kernel_methods';
import { calibrateSession } from './calibrate';
import type { ProbeCost } from '../core/probe_cost';
import { InRunCostMeter } from './in_run_cost';
import { LivePrinter, StatusLine } from './live';
import { loadProbes } from './loader';
import { MappingTracker, readMappings } from './mappings';
import { OuterCallerTable } from './outer_callers';
import { planUserProbes, PROBED_SYMBOLS, type PlannedProbe, type ProbePlacement } from './probes';
import { RunNamer } from './naming';
import { checkOutputPath } from '../runfile/create';
import { isDiskFull, RunStore } from '../runfile/writer';
import { StopRequests, yieldToSignals } from './stopping';
import { fullModeHint, guessRuntimeOf, noPthreadAdvice } from './runtimes';
import { checkUserSpace, extraProvider, mappedObjects, plannedObjects, pthreadProviders, reachablePath, readProcess, resolveCommand } from './targets';

export interface RecordOptions {
  pid?: number;
  command?: string[];
  contention?: boolean; // contention mode: the target's futex waits and wakes only, no uprobe
  user: boolean; // pthread mutexes of the target
  kernel: boolean; // kernel mutexes of the target's tasks
  allKernel: boolean; // kernel mutexes of every task
  kernelProbe: KernelMethod | 'auto';
  durationSec?: number;
  output?: string;
  force: boolean;
  print: boolean;
  quiet?: boolean; // no status or progress line on the terminal
  libs: string[];
  ringBufferBytes: number;
  stackDepth: number; // 0: --no-stacks
  benchObject: string | null; // benchmark only: a BPF object loaded beside the session (recorder/loader.ts)
  pollMs: number;
  writeAtStop: boolean; // keep events raw while recording, write their rows at the stop
  probePlacement?: ProbePlacement; // default 'emulated'
  toolVersion: string;
}

export interface RecordSummary {
  output: string;
  endReason: string;
  seconds: number;
  events: number;
  dropped: number;
  threads: number;
  locks: number;
  targetExit: string | null;
  kernelMethod: KernelMethod | null;
  diskFull: boolean; // the recording stopped because the run file's disk was full
  withoutSymbols: string[]; // objects that named addresses with no symbol table of their own or separate debug info
  hint: string | null; // full mode saw no lock of the program's own code, and it looks like Go or Rust: use --contention
}

interface Target {
  pid: number;
  executable: string | null; // its program file, as reachable from here
  comm: string;
  cmdline: string[];
  launched: boolean;
  execErrorFd: number; // launched targets: resume() reads execve's errno from it
  providers: ElfObject[];
  objects: string[]; // with pthread probes (launched: or --contention): the objects it maps (launched: will map at its start), as reachable from here
  exit: string | null; // launched targets: how it ended, once reaped
  statFd?: number; // attached targets: /proc/PID/stat, open while recording
}

/** Records until a stop condition; returns what was written. */
export async function record(opts: RecordOptions): Promise<RecordSummary> {
  validate(opts);
  if (opts.output) checkOutputPath(opts.output, opts.force);
  // From now until the file is finished a signal asks for the stop: it never kills the recorder
  // half-way, nor leaves a launched target stopped before its execve.
  const stops = new StopRequests();
  try {
    return await recordUntilStopped(opts, stops);
  } finally {
    stops.close();
  }
}

async function recordUntilStopped(opts: RecordOptions, stops: StopRequests): Promise<RecordSummary> {
  const hasTarget = opts.pid !== undefined || opts.command !== undefined;
  const needsPthread = opts.user;
  const contention = opts.contention === true;
  const target = !hasTarget
    ? null
    : opts.command
      ? launchStopped(opts.command, opts.libs, needsPthread, contention)
      : attachTarget(opts.pid!, opts.libs, needsPthread, contention);
  let session: MutexSession | null = null;
  let benchObject: BpfObject | null = null;
  try {
    const output = opts.output ?? defaultOutputName(target?.pid ?? null);
    if (!opts.output) checkOutputPath(output, opts.force);
    const placement = opts.probePlacement ?? 'emulated';
    const userPlan = opts.user && target ? planUserProbes(target.providers, placement) : { probes: [], missing: [] };
    if (placement === 'emulated') for (const line of singleStepWarnings(userPlan.probes)) process.stderr.write(`${line}\n`);
    const kernelScope = opts.allKernel ? 'all' : opts.kernel ? 'target' : null;
    // ~200,000 lines, parsed in ~0.5 s, and kept in the heap every later GC marks: only when kernel probes need it
    const ksyms = kernelScope ? KernelSymbols.load() : KernelSymbols.none();
    // contention mode takes the kernel's own contention tracepoints: contended waits only, as its futex waits
    const kernelMethod = contention ? 'tracepoint' : opts.kernelProbe;
    const loaded = loadProbes(
      {
        userProbes: userPlan.probes,
        userPid: target?.pid ?? null,
        futexPid: contention ? target!.pid : null,
        kernel: kernelScope ? { method: kernelMethod, tgid: kernelScope === 'all' ? 0 : target!.pid } : null,
        ringBufferBytes: opts.ringBufferBytes,
        stackDepth: opts.stackDepth,
        benchObject: opts.benchObject,
      },
      ksyms,
    );
    session = loaded.session;
    benchObject = loaded.benchObject;
    // Where lock wrappers built without frame pointers were called from: each lock call's caller's
    // caller, read by the probes where .eh_frame says (bpf/outer_caller.bpf.h); before the window opens.
    const outerCallers = (userPlan.probes.length > 0 || contention) && opts.stackDepth > 0 ? new OuterCallerTable(session, PROBED_SYMBOLS) : null;
    // a launched target maps nothing yet: its objects by file; a running one's at their addresses too
    const runningMappings = target && !target.launched ? (readMappings(target.pid) ?? []) : [];
    if (outerCallers && target!.launched) outerCallers.add(target!.objects);
    else outerCallers?.cache(target!.pid, runningMappings);
    // What the probes add to waits and holds, measured with these programs before the window opens.
    const probeCost = userPlan.probes.length > 0 ? calibrateSession(session, placement) : null;

    const store = RunStore.create(output, { force: opts.force, writeAtStop: opts.writeAtStop, lockFile: addon.lockFile });
    const namer = new RunNamer(store, ksyms);
    namer.preload(runningMappings);
    // Every probe is attached: the recording window opens now, and the run's times start with it.
    const clocks = addon.clockPair();
    session.setTimeBase(clocks.monotonicNs);
    const window = new RecordingWindow(session, clocks.monotonicNs, opts.durationSec);
    store.writeRun(
      {
        toolVersion: opts.toolVersion,
        host: hostname(),
        kernelRelease: release(),
        startRealtimeNs: clocks.realtimeNs,
        startMonotonicNs: clocks.monotonicNs,
        targetPid: target?.pid ?? null,
        targetComm: target?.comm ?? null,
        targetCmdline: target?.cmdline ?? [],
        launched: target?.launched ?? false,
        userProbes: userPlan.probes.length > 0,
        kernelProbe: loaded.kernelMethod,
        kernelScope,
        mode: contention ? 'contention' : 'full',
        probeCost,
        options: {
          durationSec: opts.durationSec ?? null,
          libs: opts.libs,
          ringBufferBytes: opts.ringBufferBytes,
          stackDepth: opts.stackDepth,
          writeAtStop: opts.writeAtStop,
          probeOffsets: placement,
          missingSymbols: userPlan.missing,
        },
      },
      loaded.probes,
    );
    const what = [
      contention ? 'contended futex waits and wakes' : '',
      userPlan.probes.length ? 'pthread locks and conds' : '',
      kernelScope ? `${contention ? 'contended kernel locks' : 'kernel mutexes'} (${loaded.kernelMethod}${kernelScope === 'all' ? ', all tasks' : ''})` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    const who = target ? `pid ${target.pid} (${target.comm})` : 'every task';
    process.stderr.write(`mutex-rec: recording ${what} of ${who} into ${output} with ${loaded.probes.length} probes; Ctrl-C to stop\n`);
    const mappings = target ? new MappingTracker(target.pid) : null;
    if (target?.launched) {
      const execError = addon.resume(target.pid, target.execErrorFd);
      if (execError) throw new UserError(`cannot run ${target.cmdline[0]}: ${execError}`);
    }
    const summary = await pump(session, store, target, mappings, outerCallers, opts, output, window, stops, namer, probeCost);
    return { ...summary, kernelMethod: loaded.kernelMethod, withoutSymbols: namer.withoutSymbols() };
  } catch (err) {
    if (target?.launched) killQuietly(target.pid);
    throw err;
  } finally {
    if (target?.statFd !== undefined) closeSync(target.statFd);
    benchObject?.close();
    session?.close();
  }
}

const HOT_FUNCTIONS = new Set(['pthread_mutex_lock', 'pthread_mutex_unlock']);

/** One line per hot function that no emulated instruction could carry: each call pays a second trap. */
function singleStepWarnings(probes: PlannedProbe[]): string[] {
  return probes
    .filter((p) => p.kind === 'uprobe' && p.insn === 'single-stepped' && HOT_FUNCTIONS.has(p.symbol))
    .map(
      (p) =>
        `mutex-rec: ${p.symbol} in ${p.object} is probed at +0x${p.funcOffset.toString(16)} (${p.insnText}), an instruction the kernel ` +
        'single-steps (no emulated one fits before its first branch): every call pays a second trap (~15 µs in a VM)',
    );
}

function validate(opts: RecordOptions): void {
  if (opts.pid !== undefined && opts.command) throw new UserError('give either --pid PID or -- CMD ARGS, not both');
  const hasTarget = opts.pid !== undefined || opts.command !== undefined;
  if (opts.contention) {
    if (!hasTarget) throw new UserError('--contention needs a target: give --pid PID or -- CMD ARGS');
    if (opts.allKernel) throw new UserError('--contention records one process: give --kernel (its kernel lock contention), not --all');
    if (opts.user) throw new UserError('--contention and --user are two modes: contention puts no probe on lock calls, --user probes every one; give one');
    if (opts.libs.length > 0) throw new UserError('--contention probes no library: --lib is for full mode');
    if (opts.kernel && opts.kernelProbe !== 'auto' && opts.kernelProbe !== 'tracepoint') {
      throw new UserError(`--contention with --kernel takes the lock:contention tracepoints, not --kernel-probe ${opts.kernelProbe}`);
    }
    return;
  }
  if (!hasTarget && !opts.allKernel) throw new UserError('nothing to record: give --pid PID or -- CMD ARGS (or --all for kernel mutexes of every task)');
  if (!hasTarget && opts.user) throw new UserError('--user needs a target: give --pid PID or -- CMD ARGS');
  if (opts.benchObject && !hasTarget) throw new UserError('--bench-object needs a target: -- CMD');
  if (!opts.user && !opts.kernel && !opts.allKernel && !opts.benchObject) throw new UserError('nothing selected: give --user, --kernel or --all');
}

function attachTarget(pid: number, libs: string[], needsPthread: boolean, contention: boolean): Target {
  const info = readProcess(pid);
  if (needsPthread || libs.length > 0 || contention) checkUserSpace(info);
  const executable = processExecutable(pid);
  const objects = needsPthread ? mappedObjects(pid) : [];
  const providers = needsPthread ? pthreadProviders(objects).concat(libs.map(extraProvider)) : [];
  if (needsPthread && providers.length === 0) {
    const guess = executable ? guessRuntimeOf(executable) : null;
    if (guess) throw new UserError(`process ${pid} (${info.comm}) has no pthread library mapped: ${noPthreadAdvice(guess)}`);
    throw new UserError(`process ${pid} (${info.comm}) has no pthread library mapped: for a statically linked program pass --lib PATH_TO_EXECUTABLE (or record its futex calls with --contention)`);
  }
  return { ...info, executable, launched: false, execErrorFd: -1, providers, objects, exit: null };
}

/** Contention mode runs any program (a script too): no objects when it is not an ELF executable. */
function plannedObjectsOrNone(path: string): string[] {
  try {
    return plannedObjects(path);
  } catch {
    return [];
  }
}

/** /proc/PID/exe, through the process's root. */
function processExecutable(pid: number): string | null {
  try {
    return reachablePath(pid, readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return null;
  }
}

function launchStopped(command: string[], libs: string[], needsPthread: boolean, contention: boolean): Target {
  const path = resolveCommand(command[0]);
  const objects = needsPthread ? plannedObjects(path) : contention ? plannedObjectsOrNone(path) : [];
  const providers = needsPthread ? pthreadProviders(objects).concat(libs.map(extraProvider)) : [];
  if (needsPthread && providers.length === 0) {
    const guess = guessRuntimeOf(path);
    if (guess) throw new UserError(`${command[0]} uses no pthread library: ${noPthreadAdvice(guess)}`);
    throw new UserError(`${command[0]} does not use a pthread library that can be found (statically linked and stripped?): pass --lib PATH, or record its futex calls with --contention`);
  }
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
  const child = addon.spawnStopped(path, command, env);
  return { pid: child.pid, executable: path, comm: basename(path).slice(0, 15), cmdline: command, launched: true, execErrorFd: child.execErrorFd, providers, objects, exit: null };
}

/**
 * The window of time the BPF programs record (bpf/mutex.bpf.c): opened once every probe is
 * attached, closed at the stop decision, before the first probe is detached. With a duration its
 * end is set when it opens, so the programs themselves keep exactly that many seconds.
 */
class RecordingWindow {
  private endNs: bigint | null;

  constructor(
    private readonly session: MutexSession,
    readonly startNs: bigint,
    durationSec: number | undefined,
  ) {
    this.endNs = durationSec === undefined ? null : startNs + BigInt(Math.round(durationSec * 1e9));
    session.setWindow(startNs, this.endNs ?? 0n);
  }

  /** ns since the start, now. */
  elapsedNs(): number {
    return Number(addon.clockPair().monotonicNs - this.startNs);
  }

  /** ms until a duration's end (Infinity without one). */
  remainingMs(): number {
    return this.endNs === null ? Infinity : Math.max(0, Number(this.endNs - addon.clockPair().monotonicNs) / 1e6);
  }

  /** Has a duration's end passed? */
  expired(): boolean {
    return this.endNs !== null && addon.clockPair().monotonicNs >= this.endNs;
  }

  /** Nothing is recorded from now on (or from the duration's end, if that came first). Returns the end, ns since the start. */
  close(): number {
    const now = addon.clockPair().monotonicNs;
    if (this.endNs === null || now < this.endNs) this.endNs = now;
    this.session.setWindow(this.startNs, this.endNs);
    return Number(this.endNs - this.startNs);
  }
}

/** An attached target's exit is checked at least this often, whatever --poll-ms is (a launched
 * one's is noticed at once: its SIGCHLD wakes the loop). */
const CHECK_MS = 250;
/** The drain period after a drain that found the ring buffer busy (a quarter of maxDrain events or more). */
const BUSY_POLL_MS = 20;
/** A launched target still running at the stop gets SIGTERM, then SIGKILL after this long. */
const TARGET_GRACE_MS = 2000;

/** Drains the ring buffer into the store until a stop condition, then flushes and finishes. */
async function pump(
  session: MutexSession,
  store: RunStore,
  target: Target | null,
  mappings: MappingTracker | null,
  outerCallers: OuterCallerTable | null,
  opts: RecordOptions,
  output: string,
  window: RecordingWindow,
  stops: StopRequests,
  namer: RunNamer,
  probeCost: ProbeCost | null,
): Promise<Omit<RecordSummary, 'kernelMethod' | 'withoutSymbols'>> {
  const printer = opts.print ? new LivePrinter(process.stdout, probeCost) : null;
  const inRunCost = probeCost ? new InRunCostMeter() : null;
  const tty = process.stderr.isTTY === true && !opts.quiet;
  const status = tty && !opts.print ? new StatusLine(process.stderr) : null;
  const sinceStart = (): number => window.elapsedNs();

  // A full disk stops the recording and every later write; what was written is kept.
  let diskFull = false;
  const write = (step: () => void, evenIfFull = false): void => {
    if (diskFull && !evenIfFull) return;
    try {
      step();
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      if (diskFull) return;
      diskFull = true;
      stops.request('disk full');
      status?.clear();
      process.stderr.write(`mutex-rec: the disk holding ${output} is full: recording stopped; the ${store.eventCount.toLocaleString('en-US')} events written are kept\n`);
    }
  };

  // A launched target's mappings are read often at first (it maps its libraries early), then
  // every 50 drains (1 s; 12.5 s with --contention); an attached one's were read at the attach.
  let flushes = 0;
  const columns = newEventColumns(addon.maxDrain);
  const flush = (): number => {
    let drainedCount = 0;
    if (mappings && ((target?.launched && flushes < 50) || flushes % 50 === 0)) {
      const seen = mappings.poll();
      write(() => store.addMappings(seen, sinceStart()));
      // a launched target's objects at their addresses, a library loaded later (dlopen): their lock calls from now on
      if (outerCallers && target) outerCallers.cache(target.pid, seen);
    }
    flushes++;
    let batch: EventBatch;
    do {
      batch = { ...columns, ...session.drain(columns) };
      const drained = batch;
      inRunCost?.observe(drained, drained.count);
      write(() => store.append(drained));
      // Stacks as they come, so that a recorder killed later keeps them.
      const stacks = store.unwrittenStacks(drained.stackId, drained.count);
      write(() => store.addStacks(new Map(stacks.map((id) => [id, session.readStack(id)]))));
      printer?.push(batch);
      drainedCount += batch.count;
    } while (batch.more);
    return drainedCount;
  };

  let targetExit: string | null = null;
  let nextFlush = 0;
  let lastCountUpdate = 0;
  let countsWritten = { events: 0, dropped: 0 };
  const onChild = (): void => stops.poke();
  if (target?.launched) process.on('SIGCHLD', onChild);
  try {
    while (stops.reason === null) {
      await stops.sleep(Math.min(CHECK_MS, Math.max(0, nextFlush - Date.now()), window.remainingMs()));
      if (window.expired()) stops.request(`duration ${opts.durationSec} s reached`);
      targetExit = target ? targetExited(target) : null;
      if (targetExit) stops.request(`target exited (${targetExit})`);
      if (stops.reason !== null) break;
      if (Date.now() < nextFlush) continue;
      // A busy ring buffer is drained again soon, whatever --poll-ms is: a long period is for quiet targets.
      const busy = flush() >= addon.maxDrain / 4;
      nextFlush = Date.now() + (busy ? Math.min(opts.pollMs, BUSY_POLL_MS) : opts.pollMs);
      const elapsed = sinceStart() / 1e9;
      const dropped = session.counters().dropped;
      if (elapsed - lastCountUpdate >= 1) {
        // An idle second writes and reads nothing: an attached recorder that sees no event costs
        // only its wake-ups.
        if (store.eventCount !== countsWritten.events || dropped !== countsWritten.dropped) {
          write(() => store.updateCounts(dropped));
          write(() => namer.pass()); // names while the target's objects are at hand
          countsWritten = { events: store.eventCount, dropped };
        }
        lastCountUpdate = elapsed;
      }
      status?.update(elapsed, store.eventCount, dropped);
    }
  } finally {
    process.off('SIGCHLD', onChild);
  }
  const endTs = window.close();
  const stopReason = stops.reason!;
  // The lock calls still in progress, read before the target is ended (its threads' exits clear
  // their entries). A cond wait in progress waits for its condition, not for the mutex: its row
  // carries the cond, and the analysis counts it as the cond's (core/join.ts); a call entered before
  // the window opened (while the probes were calibrated) is not followed.
  const waiting = session.pendingCalls().filter((c) => c.ts >= 0);

  const stage = (text: string): void => {
    if (tty) process.stderr.write(`\r\x1b[Kmutex-rec: stopping: ${text}`);
  };
  status?.clear();
  const sigtermAt = target?.launched && !targetExit ? terminate(target) : null;
  stage('detaching the probes');
  await yieldToSignals();
  session.detach();
  await yieldToSignals();
  stage('writing the last events');
  flush();
  printer?.finish();
  if (opts.writeAtStop) write(() => writeSpooled(store, tty));
  write(() => store.addWaitingRequests(waiting));
  const lastMappings = mappings?.poll() ?? [];
  write(() => store.addMappings(lastMappings, sinceStart()));
  mappings?.close();
  const stacks = store.unwrittenStackIds();
  write(() => store.addStacks(new Map(stacks.map((id) => [id, session.readStack(id)]))));
  await yieldToSignals();
  if (!stops.hurried) {
    stage('naming the addresses');
    write(() => namer.finish());
  }
  if (sigtermAt !== null) {
    stage('waiting for the target to end');
    targetExit = await reap(target!, sigtermAt, stops);
  }
  if (tty) process.stderr.write('\r\x1b[K');

  const counters = session.counters();
  const dropped = counters.dropped;
  const inRun = inRunCost?.result(probeCost!.bareNsPerPair);
  const measuredCost = inRun ? { probeCost: { ...probeCost!, inRun } } : {};
  // Written even on a full disk: finish() gives back the space reserved for it.
  write(() => store.finish({ endReason: stopReason, endTs, dropCount: dropped, targetExit, failures: counters, ...measuredCost }), true);
  const { threads, locks } = store.counts();
  const hint = opts.user && target?.executable ? runtimeHint(store, target.executable) : null;
  if (!store.close()) {
    process.stderr.write(
      `mutex-rec: ${diskFull ? 'the disk is full' : 'another process had the file open'}: ${output} is left in WAL mode, complete with ${output}-wal (keep the two together)\n`,
    );
  }
  return { output, endReason: stopReason, seconds: endTs / 1e9, events: store.eventCount, dropped, threads, locks, targetExit, diskFull, hint };
}

/** Full mode: a program that looks like Go or Rust (or has no C library) and took no lock from its own code gets told to use --contention. */
function runtimeHint(store: RunStore, executable: string): string | null {
  const guess = guessRuntimeOf(executable);
  if (!guess) return null;
  let mapped: string;
  try {
    mapped = realpathSync(executable);
  } catch {
    return null;
  }
  return store.hasCallerIn(mapped) ? null : fullModeHint(mapped, guess);
}

/** perf's way with its workload: a launched target still running at the stop is sent SIGTERM. Returns when. */
function terminate(target: Target): number {
  try {
    process.kill(target.pid, 'SIGTERM');
    process.stderr.write(`mutex-rec: the target pid ${target.pid} (${target.comm}) was still running: sent it SIGTERM\n`);
  } catch {
    // already gone
  }
  return Date.now();
}

/** Waits for a target sent SIGTERM to end; SIGKILL after the grace period (at once when hurried). */
async function reap(target: Target, sigtermAt: number, stops: StopRequests): Promise<string | null> {
  for (;;) {
    const exit = targetExited(target);
    if (exit) return exit;
    if (stops.hurried || Date.now() - sigtermAt >= TARGET_GRACE_MS) break;
    await sleep(10);
  }
  process.stderr.write(`\r\x1b[Kmutex-rec: the target pid ${target.pid} did not end within ${TARGET_GRACE_MS / 1000} s of SIGTERM: sent it SIGKILL\n`);
  killQuietly(target.pid);
  return 'signal SIGKILL';
}

/** --write-at-stop: the events kept raw while recording become rows now. */
function writeSpooled(store: RunStore, tty: boolean): void {
  const total = store.eventCount;
  if (total === 0) return;
  const started = Date.now();
  let shown = 0;
  const written = store.writeSpooled((n) => {
    if (tty && Date.now() - shown > 500) {
      shown = Date.now();
      process.stderr.write(`\r\x1b[Kmutex-rec: writing the events: ${Math.round((100 * n) / total)}%`);
    }
  });
  if (tty) process.stderr.write('\r\x1b[K');
  if (written > 0) process.stderr.write(`mutex-rec: wrote ${written.toLocaleString('en-US')} events in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

function targetExited(target: Target): string | null {
  if (target.launched) {
    if (target.exit) return target.exit;
    const status = addon.pollChild(target.pid);
    if (!status) return null;
    target.exit = status.signal !== null ? `signal ${signalName(status.signal)}` : `code ${status.code ?? '?'}`;
    return target.exit;
  }
  try {
    // A zombie (exited, not yet reaped by its parent) still has a /proc entry. The file is kept
    // open and read again from its start (every 50 ms: one pread, not an open, read and close).
    target.statFd ??= openSync(`/proc/${target.pid}/stat`, 'r');
    const n = readSync(target.statFd, statBuffer, 0, statBuffer.length, 0);
    const text = statBuffer.toString('latin1', 0, n);
    const state = text[text.lastIndexOf(') ') + 2];
    return state === 'Z' || state === 'X' ? 'exited' : null;
  } catch {
    return 'exited';
  }
}

const statBuffer = Buffer.alloc(4096);

function signalName(signal: number): string {
  const entry = Object.entries(osConstants.signals).find(([, n]) => n === signal);
  return entry ? entry[0] : String(signal);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
    for (const until = Date.now() + 1000; !addon.pollChild(pid) && Date.now() < until; ) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  } catch {
    // already gone
  }
}

function defaultOutputName(pid: number | null): string {
  const d = new Date();
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `mutex-${pid ?? 'all'}-${d.getFullYear()}${p2(d.getMonth() + 1)}${p2(d.getDate())}-${p2(d.getHours())}${p2(d.getMinutes())}${p2(d.getSeconds())}.db`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
