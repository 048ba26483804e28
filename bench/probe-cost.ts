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
 *   node dist/bench/probe-cost.js [--rounds K] [--no-vm] [--scale F]
 *
 * --scale F runs F times the default calls per run (quick runs). When the VM cannot be prepared or
 * booted, the host's figures are still given, with the reason. The measurement is runProbeCost(),
 * which bench/all.ts calls too.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';


import type { ProbeCostProgram } from '../bpf/programs';
import { addon, type BpfObject } from '../recorder/addon';
import { findFunction, readElf } from '../recorder/elf';
import { collect, REPO, run, waitFor } from '../test/lib/tools';
import { requireRoot, standalone } from './lib/env';
import { fmt, mdTable, plural, positiveInt, spreadOf, withRange, type BenchResult, type Figure } from './lib/report';

const PROBE_LOOP = join(REPO, 'build', 'bench', 'probe_loop');
const PROBE_OBJECT = join(REPO, 'build', 'probe_cost.bpf.o');
const TIMEOUT_MS = 60_000;

type Loop = 'call' | 'getppid';

interface Kind {
  name: string;
  program: ProbeCostProgram;
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

export interface KindResult {
  name: string;
  on: string;
  hits: number; // per run
  perHitNs: number[]; // one per round
  error: string | null; // the kernel refused it (then perHitNs is empty)
}

export interface PlaceResult {
  machine: string;
  kernel: string;
  rounds: number;
  bareNs: Record<Loop, number[]>; // per call, one per bare run (one before each probed run)
  kinds: KindResult[];
}

function machine(): string {
  return `${cpus().length} CPUs (${cpus()[0].model}), kernel ${release()}, 1-min load average ${fmt(loadavg()[0], 2)} at the start`;
}

const scaled = (counts: Record<Loop, number>, scale: number): Record<Loop, number> => ({
  call: Math.max(1, Math.round(counts.call * scale)),
  getppid: Math.max(1, Math.round(counts.getppid * scale)),
});

function buildWorkload(): void {
  mkdirSync(dirname(PROBE_LOOP), { recursive: true });
  execFileSync('gcc', ['-O2', '-Wall', '-o', PROBE_LOOP, join(REPO, 'bench', 'workloads', 'probe_loop.c')], { stdio: 'inherit' });
}

function attach(session: BpfObject, kind: Kind, pid: number): void {
  session.load({ programs: [kind.program] });
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
  const session = kind ? new addon.BpfObject(PROBE_OBJECT) : null;
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
    kernel: release(),
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
async function measureInVm(rounds: number, scale: number): Promise<PlaceResult> {
  const guest = [process.execPath, __filename, '--guest', '--rounds', String(rounds), '--scale', String(scale)];
  const r = await run(join(REPO, 'test', 'vm', 'run.sh'), ['--timeout', '400', '--', ...guest], { timeoutMs: 420_000 });
  if (r.code !== 0) throw new Error(`the VM run failed (exit ${r.code}): ${r.stderr.trim()}`);
  process.stderr.write(r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as PlaceResult;
}

export interface ProbeCostOptions {
  rounds: number;
  vm: boolean; // also in Debian's 6.1 under qemu (test/vm/run.sh, which prepares the VM when it is not)
  scale: number; // fraction of the default calls per run (quick runs)
}

export const PROBE_COST_DEFAULTS: ProbeCostOptions = { rounds: 9, vm: true, scale: 1 };
export const PROBE_COST_QUICK: ProbeCostOptions = { rounds: 2, vm: true, scale: 0.1 };

export interface ProbeCostResult extends BenchResult {
  name: 'probe-cost';
  options: ProbeCostOptions;
  host: PlaceResult;
  vm: PlaceResult | null;
  vmSkipped: string | null; // why there is no VM result
}

/** Per hit of each kind of empty program, on this host and in the VM. Needs root. */
export async function runProbeCost(options: Partial<ProbeCostOptions> = {}): Promise<ProbeCostResult> {
  const o: ProbeCostOptions = { ...PROBE_COST_DEFAULTS, ...options };
  requireRoot('probe-cost');
  buildWorkload();
  const host = await measure('host', scaled(HOST_COUNTS, o.scale), o.rounds);
  let vm: PlaceResult | null = null;
  let vmSkipped: string | null = o.vm ? null : 'not asked for (--no-vm)';
  if (o.vm) {
    try {
      vm = await measureInVm(o.rounds, o.scale);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`probe-cost: no VM figures: ${message}\n`);
      vmSkipped = message.split('\n')[0]; // the whole of it is on stderr
    }
  }
  const result = { name: 'probe-cost' as const, options: o, host, vm, vmSkipped };
  const figures = probeCostFigures(result);
  const notes = vmSkipped ? [`no VM figures: ${vmSkipped}`] : [];
  return { ...result, figures, markdown: probeCostMarkdown(result), notes };
}

type Measured = Omit<ProbeCostResult, 'figures' | 'markdown'>;

function probeCostFigures(r: Measured): Figure[] {
  const figures: Figure[] = [];
  for (const [place, p] of [['host', r.host], ['VM', r.vm]] as const) {
    for (const k of p?.kinds ?? []) {
      if (!k.error && k.perHitNs.length > 0) figures.push({ name: `${k.name}, ${place}`, value: spreadOf(k.perHitNs), digits: 0, unit: 'ns' });
    }
  }
  return figures;
}

const hits = (p: PlaceResult): string => {
  const of = (loop: string): number => p.kinds.find((k) => k.on === loop)?.hits ?? 0;
  return `probe_target() ${fmt(of('probe_target()'))}, getppid() ${fmt(of('getppid()'))}`;
};

function probeCostMarkdown(r: Measured): string {
  const cell = (k: KindResult | undefined): string => {
    if (!k) return '';
    if (k.error) return `n/a: ${k.error}`;
    return `${withRange(spreadOf(k.perHitNs), 0)} ns`;
  };
  const header = ['empty program', 'on', `this machine (${r.host.kernel})`];
  if (r.vm) header.push(`VM (${r.vm.kernel}, TCG)`);
  const lines = [
    `Per hit, median (min–max) of ${plural(r.options.rounds, 'interleaved round')}; calls per run: ${hits(r.host)} on this machine` +
      `${r.vm ? `, ${hits(r.vm)} in the VM (emulated by qemu TCG: the emulator's costs, not hardware's; compare its kinds with each other)` : ''}.`,
    '',
    mdTable(
      header,
      r.host.kinds.map((k, i) => [k.name, k.on, cell(k), ...(r.vm ? [cell(r.vm.kinds[i])] : [])]),
      ['l', 'l', 'r', 'r'],
    ),
    '',
    `Bare, per call, this machine: probe_target() ${withRange(spreadOf(r.host.bareNs.call), 1)} ns, getppid() ${withRange(spreadOf(r.host.bareNs.getppid), 1)} ns.`,
  ];
  if (r.vm) {
    lines.push(
      `VM: ${r.vm.machine}; bare probe_target() ${withRange(spreadOf(r.vm.bareNs.call), 1)} ns, getppid() ${withRange(spreadOf(r.vm.bareNs.getppid), 1)} ns.`,
    );
  } else {
    lines.push(`VM: not measured: ${r.vmSkipped}.`);
  }
  return lines.join('\n');
}

if (require.main === module) {
  standalone('probe-cost', async () => {
    const { values } = parseArgs({
      options: {
        rounds: { type: 'string', default: String(PROBE_COST_DEFAULTS.rounds) },
        guest: { type: 'boolean', default: false },
        'no-vm': { type: 'boolean', default: false },
        scale: { type: 'string', default: '1' },
      },
    });
    const rounds = positiveInt('rounds', values.rounds!);
    const scale = Number(values.scale);
    if (!(scale > 0)) throw new Error(`--scale must be a positive number, got ${values.scale}`);
    if (values.guest) {
      // In the VM, for measureInVm: the result as JSON on the last line.
      console.log(JSON.stringify(await measure('VM', scaled(GUEST_COUNTS, scale), rounds)));
      return;
    }
    return runProbeCost({ rounds, vm: !values['no-vm'], scale });
  });
}
