/**
 * The machine a benchmark runs on, and its prerequisites: root, and commands installed the way
 * scripts/setup.sh installs its packages (apt-get on Debian, as root). A prerequisite that cannot
 * be had throws Skip: bench/all.ts reports the section as skipped with the reason and goes on.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';

/** A prerequisite is missing and cannot be installed here: the benchmark is skipped, not failed. */
export class Skip extends Error {
  override name = 'Skip';
}

export interface Machine {
  date: Date;
  nproc: number;
  cpuModel: string;
  memGiB: number;
  kernel: string;
  node: string;
  load1: number; // 1-minute load average when this was taken
}

export function machine(): Machine {
  return {
    date: new Date(),
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memGiB: totalmem() / 2 ** 30,
    kernel: release(),
    node: process.version,
    load1: loadavg()[0],
  };
}

/** "2026-11-25 14:57 UTC". */
export const utc = (d: Date): string => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new Skip(`${what} needs root (BPF programs and probes)`);
}

export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1" >/dev/null', 'sh', command]).status === 0;
}

/**
 * Makes sure `command` is installed, installing Debian's `aptPackage` if it is not (as
 * scripts/setup.sh does: apt-get update, then apt-get install, quietly); throws Skip when it
 * cannot. apt's output goes to stderr.
 */
export function ensureCommand(command: string, aptPackage: string): void {
  if (hasCommand(command)) return;
  const how = `apt-get install -y ${aptPackage}`;
  if (process.getuid?.() !== 0) throw new Skip(`${command} is missing (${how}, as root)`);
  if (!hasCommand('apt-get')) throw new Skip(`${command} is missing and there is no apt-get to install it (${how})`);
  process.stderr.write(`bench: installing ${aptPackage} (for ${command})\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', aptPackage]]) {
    const r = spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) throw new Skip(`${command} is missing and \`apt-get ${args.join(' ')}\` failed: ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}`);
  }
  if (!hasCommand(command)) throw new Skip(`${command} is still missing after ${how}`);
}

/** "2 CPUs (AMD EPYC), 23 GiB, kernel 6.18.44, Node v20.20.2; 1-min load average 0.52 at the start". */
export function machineLine(m: Machine): string {
  return `${m.nproc} CPUs (${m.cpuModel}), ${m.memGiB.toFixed(0)} GiB, kernel ${m.kernel}, Node ${m.node}; 1-min load average ${m.load1.toFixed(2)} at the start`;
}

/**
 * The standalone CLI of one benchmark: runs it, prints the machine and its figures (markdown) on
 * stdout; on an error or a missing prerequisite, says why on stderr and exits 1.
 */
export function standalone(label: string, body: () => Promise<{ markdown: string } | void>): void {
  const m = machine();
  body().then(
    (result) => {
      if (result) console.log(`${machineLine(m)}\n\n${result.markdown}`);
    },
    (err: unknown) => {
      const skipped = err instanceof Skip ? 'skipped: ' : '';
      process.stderr.write(`${label}: ${skipped}${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
