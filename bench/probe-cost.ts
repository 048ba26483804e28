#!/usr/bin/env node
/**
 * The physical limit: what one hit of an empty BPF program costs, for each kind of probe the
 * recorder uses, so every overhead figure can be read against it. bench/workloads/probe_loop.c
 * calls one thing COUNT times and times the loop; per hit = (time with the program attached −
 * time of a bare run just before) / COUNT. Programs: bpf/probe_cost.bpf.c, one attached at a time.
 *
 *   uprobe, uretprobe       on probe_loop's probe_target(), for that pid only
 *   tp_btf/sys_enter        every syscall; the loop calls getppid()
 *   fentry, fexit, kprobe,  on __do_sys_getppid (getppid's body); the loop calls getppid()
 *   kretprobe
 *
 * Measured on this host (kinds its kernel refuses are listed with the reason), then in Debian's
 * 6.1 kernel under qemu (test/vm/run.sh), where every kind works: this script runs itself there
 * with --guest and hands back JSON. The guest is emulated (TCG): its costs are not hardware's.
 *
 *   node dist/bench/probe-cost.js [--rounds K] [--no-vm]
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

import { max, median, min } from 'simple-statistics';

import { addon, type BpfSession } from '../recorder/addon';
import { findFunction, readElf } from '../recorder/elf';
import { collect, REPO, run, waitFor } from '../test/lib/tools';

const PROBE_LOOP = join(REPO, 'build', 'bench', 'probe_loop');
const PROBE_OBJECT = join(REPO, 'build', 'probe_cost.bpf.o');
const TIMEOUT_MS = 60_000;

type Loop = 'call' | 'getppid';

interface Kind {
  name: string;
  program: string;
  loop: Loop;
  on: string;
}

const KINDS: Kind[] = [
  { name: 'uprobe', program: 'empty_uprobe', loop: 'call', on: 'probe_target()' },
  { name: 'uretprobe', program: 'empty_uretprobe', loop: 'call', on: 'probe_target()' },
  { name: 'tp_btf/sys_enter', program: 'empty_tp_btf', loop: 'getppid', on: 'getppid()' },
  { name: 'fentry', program: 'empty_fentry', loop: 'getppid', on: '__do_sys_getppid' },
  { name: 'fexit', program: 'empty_fexit', loop: 'getppid', on: '__do_sys_getppid' },
  { name: 'kprobe', program: 'empty_kprobe', loop: 'getppid', on: '__do_sys_getppid' },
  { name: 'kretprobe', program: 'empty_kretprobe', loop: 'getppid', on: '__do_sys_getppid' },
];

/** Calls per run: enough that a run takes a few hundred ms with the dearest probe of the loop. */
const HOST_COUNTS: Record<Loop, number> = { call: 20_000, getppid: 1_000_000 };
const GUEST_COUNTS: Record<Loop, number> = { call: 5_000, getppid: 500_000 };

interface KindResult {
  name: string;
  on: string;
  hits: number; // per run
  perHitNs: number[]; // one per round
  error: string | null; // the kernel refused it (then perHitNs is empty)
}

interface PlaceResult {
  machine: string;
  rounds: number;
  bareNs: Record<Loop, number[]>; // per call, one per bare run (one before each probed run)
  kinds: KindResult[];
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const spread = (xs: number[], digits: number): string => `${fmt(median(xs), digits)} (${fmt(min(xs), digits)}–${fmt(max(xs), digits)})`;

function machine(): string {
  return `${cpus().length} CPUs (${cpus()[0].model}), kernel ${release()}, 1-min load average ${fmt(loadavg()[0], 2)} at the start`;
}

function buildWorkload(): void {
  mkdirSync(dirname(PROBE_LOOP), { recursive: true });
  execFileSync('gcc', ['-O2', '-Wall', '-o', PROBE_LOOP, join(REPO, 'bench', 'workloads', 'probe_loop.c')], { stdio: 'inherit' });
}

function attach(session: BpfSession, kind: Kind, pid: number): void {
  for (const program of session.programs()) session.setAutoload(program, program === kind.program);
  session.load();
  if (kind.loop === 'getppid') {
    session.attachAuto(kind.program);
    return;
  }
  const target = findFunction(readElf(PROBE_LOOP), 'probe_target');
  if (!target) throw new Error(`${PROBE_LOOP} has no probe_target`);
  session.attachUprobe(kind.program, PROBE_LOOP, target.fileOffset, kind.name === 'uretprobe', pid);
}

/** One run of the loop, with `kind`'s empty program attached (or none): its elapsed ns. */
async function timedLoop(loop: Loop, count: number, kind: Kind | null): Promise<number> {
  const child = spawn(PROBE_LOOP, ['--wait-go', loop, String(count)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const finished = collect(child, TIMEOUT_MS);
  const session = kind ? new addon.BpfSession(PROBE_OBJECT) : null;
  try {
    const [, pid] = await waitFor(child.stdout!, /ready pid=(\d+)\n/);
    if (kind && session) attach(session, kind, Number(pid));
    child.stdin!.end('go\n');
    const r = await finished;
    const m = /calls=\d+ elapsed_ns=(\d+)/.exec(r.stdout);
    if (r.code !== 0 || !m) throw new Error(`probe_loop ${loop} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return Number(m[1]);
  } finally {
    child.kill('SIGKILL'); // no-op once it has exited; after a failed attach it must not wait for stdin forever
    session?.close();
  }
}

/** Each probed run right after a bare run of its own: slow drifts of the machine cancel. */
async function measure(place: string, counts: Record<Loop, number>, rounds: number): Promise<PlaceResult> {
  const result: PlaceResult = {
    machine: machine(),
    rounds,
    bareNs: { call: [], getppid: [] },
    kinds: KINDS.map((k) => ({ name: k.name, on: k.on, hits: counts[k.loop], perHitNs: [], error: null })),
  };
  for (let round = 1; round <= rounds; round++) {
    for (const [i, kind] of KINDS.entries()) {
      const out = result.kinds[i];
      if (out.error) continue;
      const n = counts[kind.loop];
      const bare = await timedLoop(kind.loop, n, null);
      try {
        out.perHitNs.push(((await timedLoop(kind.loop, n, kind)) - bare) / n);
        result.bareNs[kind.loop].push(bare / n);
      } catch (err) {
        out.error = (err as Error).message.replace(/ \(libbpf: .*$/, ''); // the reason; libbpf's detail repeats it
      }
    }
    process.stderr.write(`${place}: round ${round}/${rounds} done\n`);
  }
  return result;
}

/** This script in the VM, with --guest: the guest's PlaceResult, its last line of output. */
async function measureInVm(rounds: number): Promise<PlaceResult> {
  const r = await run(join(REPO, 'test', 'vm', 'run.sh'), ['--timeout', '400', '--', process.execPath, __filename, '--guest', '--rounds', String(rounds)], {
    timeoutMs: 420_000,
  });
  if (r.code !== 0) throw new Error(`the VM run failed (exit ${r.code}): ${r.stderr.trim()}`);
  process.stderr.write(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as PlaceResult;
}

function print(title: string, p: PlaceResult): void {
  console.log(`${title}: ${p.machine}, ${p.rounds} interleaved rounds`);
  console.log(`bare, per call: probe_target() ${spread(p.bareNs.call, 1)} ns, getppid() ${spread(p.bareNs.getppid, 1)} ns`);
  console.log(`${'empty program'.padEnd(18)} ${'on'.padEnd(18)} ${'hits/run'.padStart(10)}   per hit, ns: median (min–max)`);
  for (const k of p.kinds) {
    const cost = k.error ? `n/a: ${k.error}` : spread(k.perHitNs, 0);
    console.log(`${k.name.padEnd(18)} ${k.on.padEnd(18)} ${fmt(k.hits).padStart(10)}   ${cost}`);
  }
  console.log('');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '9' },
      guest: { type: 'boolean', default: false },
      'no-vm': { type: 'boolean', default: false },
    },
  });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds <= 0) throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
  if (values.guest) {
    console.log(JSON.stringify(await measure('VM', GUEST_COUNTS, rounds)));
    return;
  }
  buildWorkload();
  print('host', await measure('host', HOST_COUNTS, rounds));
  if (!values['no-vm']) print("VM (emulated by qemu TCG: the emulator's costs, not hardware's; compare its kinds with each other)", await measureInVm(rounds));
}

main().catch((err: unknown) => {
  process.stderr.write(`probe-cost: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
