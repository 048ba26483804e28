/**
 * How fast and how steady each CPU is, now: one spin loop pinned to each CPU at once, counting its
 * iterations per 100 ms slice. A virtual machine's CPUs need not be equal: a vCPU whose host
 * thread shares a core runs at a speed that moves from one second to the next (seen here: vCPU 0
 * at 40-100 % of vCPU 1's speed), and a benchmark split across both measures that, not the code.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { quantile } from 'simple-statistics';

export interface CpuSpeed {
  cpu: number;
  median: number; // iterations per slice
  p10: number; // the slowest tenth of the slices starts here
}

const SPIN = `
const end = Date.now() + Number(process.argv[1]) * 1000;
const slices = [];
let x = 0;
while (Date.now() < end) {
  const sliceEnd = performance.now() + 100;
  let n = 0;
  while (performance.now() < sliceEnd) { for (let i = 0; i < 1000; i++) x += i; n++; }
  slices.push(n);
}
// the first two slices are the start-up's; x is printed (never, in fact) so the loop is not optimized away
process.stdout.write(JSON.stringify(slices.slice(2)) + (x < 0 ? ' ' : ''));
`;

function spinOn(cpu: number, seconds: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', String(cpu), process.execPath, '-e', SPIN, String(seconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`spin on CPU ${cpu} failed (exit ${code}): ${err.trim()}`))));
  });
}

/** Every CPU's speed over the same `seconds`, all measured at once. */
export async function cpuSpeeds(seconds = 4): Promise<CpuSpeed[]> {
  const cpus = Array.from({ length: availableParallelism() }, (_, i) => i);
  const slices = await Promise.all(cpus.map((cpu) => spinOn(cpu, seconds)));
  return cpus.map((cpu) => ({ cpu, median: quantile(slices[cpu], 0.5), p10: quantile(slices[cpu], 0.1) }));
}

/** The CPU whose slowest tenth is fastest: fast and steady. */
export function steadiest(speeds: CpuSpeed[]): CpuSpeed {
  return speeds.reduce((best, s) => (s.p10 > best.p10 ? s : best));
}
