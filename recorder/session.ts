import { readFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { basename } from 'node:path';
import { constants as osConstants } from 'node:os';

import { UserError } from '../core/errors';
import { addon, BPF_OBJECT, type BpfSession } from './addon';
import { LivePrinter, StatusLine } from './live';
import { MappingTracker } from './mappings';
import { planUserProbes, THREAD_PROGRAMS, type PlannedProbe } from './probes';
import { RunStore, checkOutputPath } from './store';
import { extraProvider, mappedObjects, plannedObjects, pthreadProviders, readProcess, resolveCommand } from './targets';
import type { ElfObject } from './elf';

export interface RecordOptions {
  pid?: number;
  command?: string[];
  durationSec?: number;
  output?: string;
  force: boolean;
  print: boolean;
  libs: string[];
  ringBufferBytes: number;
  pollMs: number;
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
}

interface Target {
  pid: number;
  comm: string;
  cmdline: string[];
  launched: boolean;
  execErrorFd: number; // launched targets: resume() reads execve's errno from it
  providers: ElfObject[];
}

/** Records one target until a stop condition; returns what was written. */
export async function record(opts: RecordOptions): Promise<RecordSummary> {
  if (opts.pid !== undefined && opts.command) throw new UserError('give either --pid PID or -- CMD ARGS, not both');
  if (opts.pid === undefined && !opts.command) throw new UserError('nothing to record: give --pid PID or -- CMD ARGS');
  if (opts.output) checkOutputPath(opts.output, opts.force);

  const target = opts.command ? launchStopped(opts.command, opts.libs) : attachTarget(opts.pid!, opts.libs);
  let session: BpfSession | null = null;
  try {
    const output = opts.output ?? defaultOutputName(target.pid);
    if (!opts.output) checkOutputPath(output, opts.force);
    const plan = planUserProbes(target.providers);
    session = openSession(target.pid, plan.probes, opts.ringBufferBytes);

    const clocks = addon.clockPair();
    session.setTimeBase(clocks.monotonicNs);
    const store = RunStore.create(output, opts.force);
    store.writeRun(
      {
        toolVersion: opts.toolVersion,
        host: hostname(),
        kernelRelease: release(),
        startRealtimeNs: clocks.realtimeNs,
        startMonotonicNs: clocks.monotonicNs,
        targetPid: target.pid,
        targetComm: target.comm,
        targetCmdline: target.cmdline,
        launched: target.launched,
        options: { durationSec: opts.durationSec ?? null, libs: opts.libs, ringBufferBytes: opts.ringBufferBytes, missingSymbols: plan.missing },
      },
      plan.probes,
    );
    const objects = [...new Set(plan.probes.map((p) => p.object))].join(', ');
    process.stderr.write(`mutex-rec: recording pid ${target.pid} (${target.comm}) into ${output}: ${plan.probes.length} probes on ${objects}; Ctrl-C to stop\n`);
    if (target.launched) {
      const execError = addon.resume(target.pid, target.execErrorFd);
      if (execError) throw new UserError(`cannot run ${target.cmdline[0]}: ${execError}`);
    }
    return await pump(session, store, target, opts, output, clocks.monotonicNs);
  } catch (err) {
    if (target.launched) killQuietly(target.pid);
    throw err;
  } finally {
    session?.close();
  }
}

function attachTarget(pid: number, libs: string[]): Target {
  const info = readProcess(pid);
  const providers = pthreadProviders(mappedObjects(pid)).concat(libs.map(extraProvider));
  if (providers.length === 0) {
    throw new UserError(`process ${pid} (${info.comm}) has no pthread library mapped: for a statically linked program pass --lib PATH_TO_EXECUTABLE`);
  }
  return { ...info, launched: false, execErrorFd: -1, providers };
}

function launchStopped(command: string[], libs: string[]): Target {
  const path = resolveCommand(command[0]);
  const providers = pthreadProviders(plannedObjects(path)).concat(libs.map(extraProvider));
  if (providers.length === 0) {
    throw new UserError(`${command[0]} does not use a pthread library that can be found (statically linked and stripped?): pass --lib PATH`);
  }
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
  const child = addon.spawnStopped(path, command, env);
  return { pid: child.pid, comm: basename(path).slice(0, 15), cmdline: command, launched: true, execErrorFd: child.execErrorFd, providers };
}

function openSession(pid: number, probes: PlannedProbe[], ringBufferBytes: number): BpfSession {
  let session: BpfSession;
  try {
    session = new addon.BpfSession(BPF_OBJECT);
  } catch (err) {
    throw new UserError(`${(err as Error).message}: run the build (npm run build)`);
  }
  try {
    session.setGlobal('target_tgid', pid);
    session.setRingBufferSize(ringBufferBytes);
    session.load();
    for (const p of probes) session.attachUprobe(p.program, p.object, p.offset, p.kind === 'uretprobe', pid);
    for (const program of THREAD_PROGRAMS) session.attachAuto(program);
    return session;
  } catch (err) {
    session.close();
    throw new UserError(`${(err as Error).message}; check that this kernel supports BPF uprobes (CONFIG_UPROBE_EVENTS, CONFIG_BPF_EVENTS)`);
  }
}

/** Drains the ring buffer into the store until a stop condition, then flushes and finishes. */
async function pump(
  session: BpfSession,
  store: RunStore,
  target: Target,
  opts: RecordOptions,
  output: string,
  startMonotonicNs: bigint,
): Promise<RecordSummary> {
  const printer = opts.print ? new LivePrinter(process.stdout) : null;
  const status = process.stderr.isTTY && !opts.print ? new StatusLine(process.stderr) : null;
  const startedAt = Date.now();
  let stopReason: string | null = null;
  let targetExit: string | null = null;

  const onSignal = (signal: NodeJS.Signals): void => {
    stopReason ??= signal === 'SIGINT' ? 'interrupted (SIGINT)' : `stopped (${signal})`;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  // Read often at first (a short-lived target maps its libraries early), then once a second.
  const mappings = new MappingTracker(target.pid);
  const sinceStart = (): number => Number(addon.clockPair().monotonicNs - startMonotonicNs);
  let flushes = 0;
  const flush = (): void => {
    if (flushes++ < 50 || flushes % 50 === 0) store.addMappings(mappings.poll(), sinceStart());
    const batch = session.drain();
    store.append(batch);
    printer?.push(batch);
  };

  let lastCountUpdate = 0;
  try {
    while (stopReason === null) {
      await sleep(opts.pollMs);
      flush();
      const elapsed = (Date.now() - startedAt) / 1000;
      if (elapsed - lastCountUpdate >= 1) {
        store.updateCounts(session.counters().dropped);
        lastCountUpdate = elapsed;
      }
      status?.update(elapsed, store.eventCount, session.counters().dropped);
      if (opts.durationSec !== undefined && elapsed >= opts.durationSec) stopReason = `duration ${opts.durationSec} s reached`;
      const exit = targetExited(target);
      if (exit) {
        targetExit = exit;
        stopReason ??= `target exited (${exit})`;
      }
    }
    session.detach();
    flush();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    status?.clear();
  }

  const dropped = session.counters().dropped;
  const endTs = sinceStart();
  store.finish(stopReason, endTs, dropped, targetExit);
  const { threads, locks } = store.counts();
  store.close();
  return { output, endReason: stopReason, seconds: endTs / 1e9, events: store.eventCount, dropped, threads, locks, targetExit };
}

function targetExited(target: Target): string | null {
  if (target.launched) {
    const status = addon.pollChild(target.pid);
    if (!status) return null;
    if (status.signal !== null) return `signal ${signalName(status.signal)}`;
    return `code ${status.code ?? '?'}`;
  }
  try {
    // A zombie (exited, not yet reaped by its parent) still has a /proc entry.
    const state = readFileSync(`/proc/${target.pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    return state === 'Z' || state === 'X' ? 'exited' : null;
  } catch {
    return 'exited';
  }
}

function signalName(signal: number): string {
  const entry = Object.entries(osConstants.signals).find(([, n]) => n === signal);
  return entry ? entry[0] : String(signal);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
    addon.pollChild(pid);
  } catch {
    // already gone
  }
}

function defaultOutputName(pid: number): string {
  const d = new Date();
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `mutex-${pid}-${d.getFullYear()}${p2(d.getMonth() + 1)}${p2(d.getDate())}-${p2(d.getHours())}${p2(d.getMinutes())}${p2(d.getSeconds())}.db`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
