/**
 * Ingest rate: how many events per second the whole recording path (BPF ring buffer -> addon ->
 * JS -> SQLite) sustains into the run file, with zero drops, and the recorder's peak RSS.
 * The source is mutex-rec's benchmark-only --synthetic-source: each getppid() of the workload
 * emits one event from a tracepoint program, so no uprobe trap limits the rate.
 *
 *   npm run bench:ingest
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..');
const OUT = join(REPO, 'build', 'bench');
const EVENTS = 4_000_000;

interface Result {
  offeredPerSec: number; // the workload's own call rate
  recordedPerSec: number; // events written / the workload's run time
  events: number;
  dropped: number;
  peakRssMb: number;
}

function build(): string {
  mkdirSync(OUT, { recursive: true });
  const exe = join(OUT, 'getppid_rate');
  execFileSync('gcc', ['-O2', '-o', exe, join(REPO, 'bench', 'workloads', 'getppid_rate.c')]);
  return exe;
}

/** Runs one recording at `rate` calls/s (0: flat out), sampling the recorder's peak RSS. */
function recordAt(exe: string, rate: number): Promise<Result> {
  const db = join(OUT, 'ingest.db');
  const rec = spawn(process.execPath, [join(REPO, 'dist', 'recorder', 'cli.js'), '--synthetic-source', '--force', '-o', db, '--', exe, String(EVENTS), String(rate)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  rec.stdout.on('data', (d: Buffer) => (stdout += d));
  rec.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve, reject) => {
    rec.on('close', (code) => {
      if (code !== 0) return reject(new Error(`mutex-rec failed: ${stderr}`));
      const calls = /calls=(\d+) elapsed_ns=(\d+)/.exec(stdout);
      const summary = /recorded ([\d,]+) events \((\d+) dropped\)/.exec(stderr);
      const hwm = peakKb / 1024;
      if (!calls || !summary) return reject(new Error(`unexpected output: ${stdout} ${stderr}`));
      const events = Number(summary[1].replace(/,/g, ''));
      const seconds = Number(calls[2]) / 1e9;
      resolve({ offeredPerSec: Number(calls[1]) / seconds, recordedPerSec: events / seconds, events, dropped: Number(summary[2]), peakRssMb: hwm });
    });
    // VmHWM is the peak RSS so far; the last reading before the recorder exits is its peak.
    let peakKb = 0;
    const sampler = setInterval(() => {
      try {
        const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${rec.pid}/status`, 'utf8'));
        if (hwm) peakKb = Math.max(peakKb, Number(hwm[1]));
      } catch {
        clearInterval(sampler);
      }
    }, 20);
    rec.on('exit', () => clearInterval(sampler));
  });
}

async function main(): Promise<void> {
  const exe = build();
  const rates = [500_000, 1_000_000, 1_200_000, 0];
  const rows: string[] = [];
  for (const rate of rates) {
    const r = await recordAt(exe, rate);
    rows.push(
      [
        rate === 0 ? 'flat out' : `${(rate / 1e6).toFixed(1)} M/s`,
        `${(r.offeredPerSec / 1e6).toFixed(2)} M/s`,
        `${(r.recordedPerSec / 1e6).toFixed(2)} M/s`,
        r.events.toLocaleString('en-US'),
        String(r.dropped),
        `${r.peakRssMb.toFixed(0)} MB`,
      ].join(' | '),
    );
  }
  console.log('| target rate | offered | recorded | events | dropped | recorder peak RSS |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(`| ${row} |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
