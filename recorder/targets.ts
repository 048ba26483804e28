import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

import { UserError } from '../core/errors';
import { findFunction, readElf, type ElfObject } from './elf';

/** The marker of an object that implements pthread mutexes. */
const MARKER_SYMBOL = 'pthread_mutex_lock';

export interface ProcessInfo {
  pid: number;
  comm: string;
  cmdline: string[];
}

const PF_KTHREAD = 0x00200000; // include/linux/sched.h

/** Refuses a process that has no user space to probe: a zombie, a kernel thread. */
export function checkUserSpace(info: ProcessInfo): void {
  let fields: string[];
  try {
    fields = readFileSync(`/proc/${info.pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  } catch {
    throw new UserError(`process ${info.pid} exited: check the pid`);
  }
  const [state] = fields;
  const flags = Number(fields[6]);
  if (state === 'Z' || state === 'X') throw new UserError(`process ${info.pid} (${info.comm}) is a zombie (it exited; its parent has not reaped it): there is nothing left to record`);
  if (flags & PF_KTHREAD) {
    throw new UserError(`process ${info.pid} (${info.comm}) is a kernel thread: it has no pthread mutexes; record its kernel mutexes with --kernel (without --user or --lib)`);
  }
}

export function readProcess(pid: number): ProcessInfo {
  if (!Number.isInteger(pid) || pid <= 0) throw new UserError(`--pid must be a positive integer, got ${pid}`);
  if (!existsSync(`/proc/${pid}`)) throw new UserError(`no process with pid ${pid}: check the pid (ps -e) or launch the program with mutex-rec -- CMD`);
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((s) => s.length > 0);
    return { pid, comm, cmdline };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new UserError(`cannot read /proc/${pid} (${code}): this process is not visible to mutex-rec; run it as root`);
    throw new UserError(`cannot read /proc/${pid}: the process exited; check the pid`);
  }
}

/** Mapped files of a running process, as paths reachable from here (through its root). */
export function mappedObjects(pid: number): string[] {
  let maps: string;
  try {
    maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new UserError(`cannot read /proc/${pid}/maps (${code}): the kernel does not let mutex-rec see this process's memory (another user namespace, or not dumpable): it cannot be recorded from here`);
    }
    throw new UserError(`cannot read /proc/${pid}/maps: the process exited; check the pid`);
  }
  const paths = new Set<string>();
  for (const line of maps.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const path = fields.slice(5).join(' ');
    if (path.startsWith('/') && !path.endsWith('(deleted)')) paths.add(path);
  }
  return [...paths].map((p) => reachablePath(pid, p));
}

/** A path the process sees, as reachable from here: through its root when that has it (another mount namespace). */
export function reachablePath(pid: number, path: string): string {
  return existsSync(`/proc/${pid}/root${path}`) ? `/proc/${pid}/root${path}` : path;
}

/** Libraries a dynamic executable will load, resolved by its own loader without running it. */
export function plannedObjects(executable: string): string[] {
  const exe = readElfOrNull(executable);
  if (!exe) throw new UserError(`${executable} is not an ELF executable: give the program itself, not a script (or record its interpreter with --pid)`);
  const objects = [executable];
  if (!exe.interpreter) return objects;
  let listing: string;
  try {
    listing = execFileSync(exe.interpreter, ['--list', executable], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return objects;
  }
  for (const line of listing.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m) objects.push(m[1]);
  }
  return objects;
}

/** The objects among `paths` that define the pthread mutex functions. */
export function pthreadProviders(paths: string[]): ElfObject[] {
  const providers: ElfObject[] = [];
  for (const path of paths) {
    const elf = readElfOrNull(path);
    if (elf && findFunction(elf, MARKER_SYMBOL)) providers.push(elf);
  }
  return providers;
}

/** A library given with --lib: must exist and define the pthread mutex functions. */
export function extraProvider(path: string): ElfObject {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new UserError(`--lib ${path}: no such file`);
  const elf = readElfOrNull(abs);
  if (!elf) throw new UserError(`--lib ${path}: not a readable 64-bit ELF object`);
  if (!findFunction(elf, MARKER_SYMBOL)) throw new UserError(`--lib ${path}: defines no ${MARKER_SYMBOL} (is it stripped of .symtab, or not a C library?)`);
  return elf;
}

/** PATH lookup as execvp does it, so a missing command is reported before anything starts. */
export function resolveCommand(command: string): string {
  const candidates = command.includes('/') ? [command] : (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).map((d) => join(d, command));
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return isAbsolute(candidate) ? candidate : resolve(candidate);
    } catch {
      continue;
    }
  }
  throw new UserError(`command not found or not executable: ${command}`);
}

function readElfOrNull(path: string): ElfObject | null {
  try {
    return readElf(path);
  } catch {
    return null;
  }
}
