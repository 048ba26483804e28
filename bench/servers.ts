#!/usr/bin/env node
/**
 * Real servers attached with --pid (issue 10, point 8): MariaDB under sysbench oltp_read_write and
 * memcached under memcaslap, each recorded with `mutex-rec --pid <server> -d 15` attached while
 * the load is already running, as a user would, then checked with `mutex-analyze`:
 *
 *   (a) hold    no lock's longest hold above a tenth of the recording's duration (each such lock
 *               is listed with its acquisitions: a swallowed-acquisitions hold has ACQ 1);
 *   (b) warn    no warning line in the report's header, and the recording's edges within bounds:
 *               per lock, no more "released before an acquire was seen" items, and no more
 *               "held at end" + "waiting at end" items, than the run has threads;
 *   (c) cycles  memcached: `mutex-analyze lockorder` finds no lock-order cycle (it has none);
 *   (d) A/A     MariaDB: recorded twice under the same running load, `mutex-analyze diff A B`
 *               (--fail-on-regression) has no regressed row and exits 0.
 *
 * Throughput: the server's own counters (memcached `stats` cmd_get + cmd_set, MariaDB
 * `Com_commit`, i.e. sysbench transactions) over the recording's -d window (from mutex-rec's
 * "recording ..." line, printed once its probes are attached, for -d seconds), against the same
 * window of a bare run (WARMUP seconds into a load with nothing attached), in the same invocation.
 *
 *   node dist/bench/servers.js [--only mariadb,memcached] [--check] [--record-seconds 15]
 *                              [--warmup 5] [--out DIR]
 *
 * Needs root. Installs what is missing (mariadb-server sysbench memcached libmemcached-tools) with
 * apt-get, checking dpkg-query first; a server whose packages cannot be installed is skipped with
 * the reason. Starts a server that is not running (memcached -u memcache -t 4 -l 127.0.0.1,
 * `service mariadb start`) and stops only what it started. Loopback only, every load bounded
 * (sysbench --time, memcaslap -t, at most 60 s). The run files are kept in --out
 * (default build/bench/servers/) for a closer look.
 *
 * Exit status: 0 whatever the checks say, unless --check: then 1 when a check failed or a server
 * was skipped. 2 on an error (a load or recording that did not run).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

import { hasCommand, machine, machineLine, requireRoot, Skip, utc } from './lib/env';
import { fmt, mdTable, positiveInt } from './lib/report';

const ROOT = join(__dirname, '..', '..');
const MUTEX_REC = join(ROOT, 'dist', 'recorder', 'cli.js'); // the mutex-rec bin: its shebang's Node options apply
const ANALYZER = join(ROOT, 'dist', 'analyzer', 'cli.js');
const MAX_LOAD_SECONDS = 60;
const RECORDER_SLACK_SECONDS = 10; // attach + stop + naming, per recording, beyond -d (measured 6–7 s under load)
const MEMCACHED_PORT = 11211;
const SYSBENCH_DB = ['--db-driver=mysql', '--mysql-host=127.0.0.1', '--mysql-user=sb', '--mysql-password=sb', '--mysql-db=sbtest', '--tables=4', '--table-size=10000'];

type ServerName = 'mariadb' | 'memcached';
const SERVERS: ServerName[] = ['mariadb', 'memcached'];
const PACKAGES: Record<ServerName, string[]> = { mariadb: ['mariadb-server', 'sysbench'], memcached: ['memcached', 'libmemcached-tools'] };

interface Options {
  only: ServerName[];
  check: boolean;
  recordSeconds: number;
  warmup: number;
  out: string;
}

const log = (s: string): void => void process.stderr.write(`servers: ${s}\n`);

// ---- packages and processes ----

const installed = (pkg: string): boolean =>
  (spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout ?? '').includes('install ok installed');

let aptUpdated = false;

/** Installs the missing ones of `pkgs` (apt-get update once per invocation); throws Skip when it cannot. */
function ensurePackages(pkgs: string[]): void {
  const missing = pkgs.filter((p) => !installed(p));
  if (missing.length === 0) return;
  if (!hasCommand('apt-get')) throw new Skip(`${missing.join(' ')} missing and no apt-get to install them`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]): void => {
    const r = spawnSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) throw new Skip(`\`apt-get ${args.join(' ')}\` failed: ${(r.stderr ?? '').trim().split('\n').pop() ?? ''}`);
  };
  if (!aptUpdated) {
    log('apt-get update');
    apt(['update', '-qq']);
    aptUpdated = true;
  }
  log(`installing ${missing.join(' ')}`);
  apt(['install', '-y', '-qq', ...missing]);
  const still = missing.filter((p) => !installed(p));
  if (still.length) throw new Skip(`${still.join(' ')} still not installed after apt-get install`);
}

const pidsOf = (name: string): number[] =>
  (spawnSync('pgrep', ['-x', name], { encoding: 'utf8' }).stdout ?? '')
    .split('\n')
    .filter(Boolean)
    .map(Number);

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  finished: Promise<Finished>;
  done: boolean;
}

/** Spawns with both outputs collected; killed (SIGKILL) after timeoutSeconds as a last resort. */
export function run(command: string, args: string[], timeoutSeconds: number): Running {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutSeconds * 1000, killSignal: 'SIGKILL' });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const r: Running = {
    child,
    done: false,
    finished: new Promise<Finished>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        r.done = true;
        resolve({ code, signal, stdout, stderr });
      });
    }),
  };
  return r;
}

/** `run` on one CPU (taskset), or on any when cpu is null. */
export function runOn(cpu: number | null, command: string, args: string[], timeoutSeconds: number): Running {
  return cpu === null ? run(command, args, timeoutSeconds) : run('taskset', ['-c', String(cpu), command, ...args], timeoutSeconds);
}

/** Every thread of pid onto one CPU, or back onto all of them (null); the threads it makes later inherit it. */
function setAffinity(pid: number, cpu: number | null): void {
  const cpus = cpu === null ? `0-${availableParallelism() - 1}` : String(cpu);
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset -a -p -c ${cpus} ${pid} failed: ${(r.stderr ?? '').trim()}`);
}

function execText(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { encoding: 'utf8', timeout: 20_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(stdout),
    ),
  );
}

// ---- the servers ----

export interface Server {
  name: ServerName;
  pid: number;
  started: boolean; // by this script: stopped at the end
  counterName: string; // what the throughput counts
  counter(): Promise<number>;
  /** The server's threads and the loads started from now on onto one CPU, or any (null). */
  pinTo(cpu: number | null): void;
  load(seconds: number): Running; // the client, bounded
  loadThroughput(out: string): number | null; // the client's own figure for its whole run, per second
  loadCommand(seconds: number): string;
  stop(): Promise<void>;
}

function memcachedStats(): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const socket = connect(MEMCACHED_PORT, '127.0.0.1');
    let text = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('memcached stats: timeout')));
    socket.on('connect', () => socket.write('stats\r\n'));
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      if (!text.includes('END\r\n')) return;
      socket.end();
      const stats = new Map<string, number>();
      for (const m of text.matchAll(/^STAT (\S+) (\S+)\r$/gm)) stats.set(m[1], Number(m[2]));
      resolve(stats);
    });
    socket.on('error', reject);
  });
}

export async function memcached(): Promise<Server> {
  ensurePackages(PACKAGES.memcached);
  const slap = hasCommand('memcaslap') ? 'memcaslap' : 'memaslap'; // Debian 12's libmemcached-tools ships memcaslap
  if (!hasCommand(slap)) throw new Skip('neither memcaslap nor memaslap after installing libmemcached-tools');
  let server: Running | null = null;
  let pid = pidsOf('memcached')[0];
  if (pid === undefined) {
    log(`starting memcached -u memcache -t 4 -l 127.0.0.1 -p ${MEMCACHED_PORT}`);
    server = run('memcached', ['-u', 'memcache', '-t', '4', '-l', '127.0.0.1', '-p', String(MEMCACHED_PORT)], 3600);
    pid = server.child.pid!;
    const s = server;
    stopOnSignal.push(async () => void s.child.kill('SIGTERM'));
  } else {
    log(`memcached already running (pid ${pid}): using it`);
  }
  for (let i = 0; ; i++) {
    try {
      await memcachedStats();
      break;
    } catch (err) {
      if (i >= 50 || server?.done) throw new Error(`memcached (pid ${pid}) does not answer on 127.0.0.1:${MEMCACHED_PORT}: ${(err as Error).message}`);
      await sleep(100);
    }
  }
  const slapArgs = (seconds: number): string[] => ['-s', `127.0.0.1:${MEMCACHED_PORT}`, '-T', '2', '-c', '16', '-t', `${seconds}s`];
  let cpu: number | null = null;
  return {
    name: 'memcached',
    pid,
    started: server !== null,
    counterName: 'ops/s (cmd_get + cmd_set)',
    counter: async () => {
      const s = await memcachedStats();
      return (s.get('cmd_get') ?? NaN) + (s.get('cmd_set') ?? NaN);
    },
    pinTo: (to) => {
      setAffinity(pid, to);
      cpu = to;
    },
    load: (seconds) => runOn(cpu, slap, slapArgs(seconds), seconds + 30),
    loadThroughput: (out) => {
      const m = /TPS: (\d+)/.exec(out);
      return m ? Number(m[1]) : null;
    },
    loadCommand: (seconds) => `${slap} ${slapArgs(seconds).join(' ')}`,
    stop: async () => {
      if (!server || server.done) return;
      server.child.kill('SIGTERM');
      await server.finished;
    },
  };
}

const sql = (statement: string): Promise<string> => execText('mariadb', ['-N', '-B', '-e', statement]);

export async function mariadb(): Promise<Server> {
  ensurePackages(PACKAGES.mariadb);
  const serverPid = (): number | undefined => pidsOf('mariadbd')[0] ?? pidsOf('mysqld')[0];
  let started = false;
  if (serverPid() === undefined) {
    log('service mariadb start');
    const r = spawnSync('service', ['mariadb', 'start'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Skip(`\`service mariadb start\` failed: ${(r.stderr || r.stdout || '').trim().split('\n').pop()}`);
    started = true;
  } else {
    log(`mariadbd already running (pid ${serverPid()}): using it`);
  }
  const stop = async (): Promise<void> => {
    if (!started) return;
    log('service mariadb stop');
    spawnSync('service', ['mariadb', 'stop'], { stdio: 'ignore', timeout: 120_000 });
  };
  stopOnSignal.push(stop);
  try {
    const pid = serverPid();
    if (pid === undefined) throw new Error('no mariadbd process after `service mariadb start`');
    await sql("CREATE DATABASE IF NOT EXISTS sbtest; CREATE USER IF NOT EXISTS sb@'127.0.0.1' IDENTIFIED BY 'sb'; GRANT ALL ON sbtest.* TO sb@'127.0.0.1'");
    log('sysbench oltp_read_write cleanup + prepare (4 tables of 10,000 rows)');
    for (const step of ['cleanup', 'prepare']) {
      const r = await run('sysbench', ['oltp_read_write', ...SYSBENCH_DB, step], 120).finished;
      if (r.code !== 0) throw new Error(`sysbench ${step} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    }
    const args = (seconds: number): string[] => ['oltp_read_write', ...SYSBENCH_DB, '--threads=4', `--time=${seconds}`, 'run'];
    let cpu: number | null = null;
    return {
      name: 'mariadb',
      pid,
      started,
      counterName: 'transactions/s (Com_commit)',
      counter: async () => {
        const m = /^Com_commit\s+(\d+)$/m.exec(await sql("SHOW GLOBAL STATUS LIKE 'Com_commit'"));
        if (!m) throw new Error("SHOW GLOBAL STATUS LIKE 'Com_commit' gave no value");
        return Number(m[1]);
      },
      pinTo: (to) => {
        setAffinity(pid, to);
        cpu = to;
      },
      load: (seconds) => runOn(cpu, 'sysbench', args(seconds), seconds + 30),
      loadThroughput: (out) => {
        const m = /transactions:\s+\d+\s+\(([\d.]+) per sec\.\)/.exec(out);
        return m ? Number(m[1]) : null;
      },
      loadCommand: (seconds) => `sysbench ${args(seconds).join(' ')}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export const stopOnSignal: (() => Promise<void>)[] = [];

/** Ctrl-C or SIGTERM stops what the script started (stopOnSignal) before it exits 130. */
export function stopServersOnSignal(): void {
  const onSignal = (): void => {
    void Promise.all(stopOnSignal.map((stop) => stop())).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

// ---- measuring ----

export interface Window {
  perSecond: number; // counter delta / seconds
  seconds: number;
  loadEndedEarly: boolean; // the load finished before the window's end: the figure is not comparable
}

/** The server's counter over the next `seconds`, per second. */
export async function window(server: Server, load: Running, seconds: number): Promise<Window> {
  const t0 = performance.now();
  const c0 = await server.counter();
  const t0b = performance.now();
  await sleep(seconds * 1000 - (t0b - t0));
  const t1 = performance.now();
  const c1 = await server.counter();
  const t1b = performance.now();
  const elapsed = ((t1 + t1b) / 2 - (t0 + t0b) / 2) / 1000;
  return { perSecond: (c1 - c0) / elapsed, seconds: elapsed, loadEndedEarly: load.done };
}

export async function finishLoad(server: Server, load: Running): Promise<number | null> {
  const r = await load.finished;
  if (r.code !== 0) throw new Error(`the ${server.name} load failed (exit ${r.code ?? r.signal}): ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  return server.loadThroughput(r.stdout);
}

interface Recording {
  label: string;
  file: string;
  window: Window;
  attachSeconds: number; // mutex-rec from spawn to its "recording ..." line (probes attached)
  recorderSeconds: number; // mutex-rec from spawn to exit
  recorderSummary: string; // its last stderr line
}

/** mutex-rec --pid attached now; the server's throughput over its -d window. */
async function record(server: Server, load: Running, o: Options, label: string): Promise<Recording> {
  const file = join(o.out, `${server.name}-${label}.db`);
  const args = ['--pid', String(server.pid), '-d', String(o.recordSeconds), '-o', file, '--force'];
  log(`${server.name} ${label}: mutex-rec ${args.join(' ')}`);
  const spawned = performance.now();
  const rec = run(MUTEX_REC, args, o.recordSeconds + 120);
  await new Promise<void>((resolve) => {
    let seen = '';
    const onData = (d: Buffer): void => {
      seen += d.toString();
      if (!seen.includes('mutex-rec: recording')) return;
      rec.child.stderr!.off('data', onData);
      resolve();
    };
    rec.child.stderr!.on('data', onData);
    void rec.finished.then(() => resolve());
  });
  if (rec.done) {
    const r = await rec.finished;
    throw new Error(`mutex-rec exited before recording (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
  }
  const attachSeconds = (performance.now() - spawned) / 1000;
  const w = await window(server, load, o.recordSeconds);
  const r = await rec.finished;
  if (r.code !== 0) throw new Error(`mutex-rec failed (exit ${r.code ?? r.signal}): ${r.stderr.trim()}`);
  return {
    label,
    file,
    window: w,
    attachSeconds,
    recorderSeconds: (performance.now() - spawned) / 1000,
    recorderSummary: r.stderr.trim().split('\n').pop() ?? '',
  };
}

// ---- analyzing ----

interface Analyzed {
  exit: number | null;
  json: any;
}

async function analyze(args: string[]): Promise<Analyzed> {
  const r = await run(process.execPath, [ANALYZER, ...args], 300).finished;
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    throw new Error(`mutex-analyze ${args.join(' ')} (exit ${r.code}) gave no JSON: ${r.stderr.trim() || r.stdout.slice(0, 300)}`);
  }
  return { exit: r.code, json };
}

const need = <T>(value: T | undefined | null, what: string): T => {
  if (value === undefined || value === null) throw new Error(`mutex-analyze JSON has no ${what}: its schema changed, update bench/servers.ts`);
  return value;
};

interface LongHold {
  key: string;
  name: string;
  acquisitions: number;
  maxHoldNs: number;
}

interface RunCheck {
  label: string;
  file: string;
  durationNs: number;
  events: number;
  dropped: number;
  endReason: string;
  threads: number;
  locks: number;
  acquisitions: number;
  longest: LongHold | null; // the longest hold of any lock
  longHolds: LongHold[]; // max hold > duration / 10, longest first
  warnings: string[];
  releasedBeforeAcquire: number; // open items, all locks
  atEnd: number; // held at end + waiting at end, all locks
  cut: number | null; // holds cut because their release was lost (open.cut), all locks; null: the analyzer does not count them
  edgesOverBound: { key: string; name: string; releasedBeforeAcquire: number; atEnd: number }[]; // per lock, above the thread count
}

async function checkRun(label: string, file: string): Promise<RunCheck> {
  const report = (await analyze(['report', file, '--format', 'json', '--top', '100000000'])).json;
  const byThread = (await analyze(['report', file, '--by', 'thread', '--format', 'json', '--top', '1'])).json;
  const run = need(report.run, 'run');
  const durationNs = need<number>(run.durationNs, 'run.durationNs');
  const threads = need<number>(byThread.groups, 'groups (report --by thread)');
  const rows: any[] = need(report.rows, 'rows');
  const holds: LongHold[] = rows
    .filter((r) => r.hold)
    .map((r) => ({ key: r.key, name: r.name, acquisitions: r.acquisitions, maxHoldNs: need<number>(r.hold.max, 'rows[].hold.max') }))
    .sort((a, b) => b.maxHoldNs - a.maxHoldNs);
  const open = (r: any): { rba: number; end: number } => ({ rba: r.open?.releasedBeforeStart ?? r.open?.heldAtStart ?? 0, end: (r.open?.heldAtEnd ?? 0) + (r.open?.waitingAtEnd ?? 0) });
  return {
    label,
    file,
    durationNs,
    events: run.events,
    dropped: run.dropped,
    endReason: run.endReason ?? 'not finished',
    threads,
    locks: need<number>(report.groups, 'groups'),
    acquisitions: rows.reduce((s, r) => s + (r.acquisitions ?? 0), 0),
    longest: holds[0] ?? null,
    longHolds: holds.filter((h) => h.maxHoldNs > durationNs / 10),
    warnings: need<string[]>(report.warnings, 'warnings'),
    releasedBeforeAcquire: rows.reduce((s, r) => s + open(r).rba, 0),
    atEnd: rows.reduce((s, r) => s + open(r).end, 0),
    cut: rows.some((r) => typeof r.open?.cut === 'number') ? rows.reduce((s, r) => s + (r.open?.cut ?? 0), 0) : null,
    edgesOverBound: rows
      .map((r) => ({ key: r.key, name: r.name, releasedBeforeAcquire: open(r).rba, atEnd: open(r).end }))
      .filter((e) => e.releasedBeforeAcquire > threads || e.atEnd > threads)
      .sort((a, b) => b.releasedBeforeAcquire + b.atEnd - (a.releasedBeforeAcquire + a.atEnd)),
  };
}

interface Cycles {
  count: number;
  capped: boolean;
  examples: string[]; // the first few, as lock names
}

async function lockorder(file: string): Promise<Cycles> {
  const j = (await analyze(['lockorder', file, '--format', 'json'])).json;
  const cycles: any[] = need(j.cycles, 'cycles');
  return {
    count: cycles.length,
    capped: Boolean(j.capped),
    examples: cycles.slice(0, 3).map((c) => {
      const names: string[] = c.locks.map((l: { name?: string; lock?: string }) => l.name ?? l.lock);
      const shown = names.length <= 6 ? [...names, names[0]] : [...names.slice(0, 5), `... (${names.length - 6} more)`, names.at(-1)!, names[0]];
      return `${names.length} locks${c.deadlocked ? ', DEADLOCKED' : ''}: ${shown.join(' -> ')}`;
    }),
  };
}

interface AADiff {
  exit: number | null;
  regressed: number;
  matched: number;
  rows: string[]; // the regressed rows: lock and the changes behind the verdict
}

async function aaDiff(a: string, b: string): Promise<AADiff> {
  const { exit, json } = await analyze(['diff', a, b, '--format', 'json', '--fail-on-regression']);
  const rows: any[] = need(json.rows, 'rows');
  const regressed = rows.filter((r) => r.verdict === 'regressed');
  return {
    exit,
    regressed: regressed.length,
    matched: rows.filter((r) => r.status === 'matched').length,
    rows: regressed.map((r) => {
      const metrics = Object.entries(r.metrics ?? {})
        .filter(([, m]) => (m as { verdict?: string }).verdict === 'regressed')
        .map(([k, m]) => `${k} ${signedPct((m as { changePct: number | null }).changePct)}`);
      return `${r.lock} (acquisitions ${fmt(r.acquisitions?.base ?? 0)} vs ${fmt(r.acquisitions?.new ?? 0)}): ${metrics.join(', ')}`;
    }),
  };
}

const signedPct = (p: number | null): string => (p === null ? 'n/a' : `${p >= 0 ? '+' : '−'}${fmt(Math.abs(p), Math.abs(p) < 10 ? 1 : 0)}%`);
const seconds = (ns: number): string => (ns >= 1e9 ? `${(ns / 1e9).toFixed(2)} s` : ns >= 1e6 ? `${(ns / 1e6).toFixed(1)} ms` : `${(ns / 1e3).toFixed(1)} µs`);

// ---- one server ----

interface Check {
  server: ServerName;
  what: string;
  value: string;
  goal: string;
  ok: boolean;
}

interface ServerResult {
  name: ServerName;
  counterName: string;
  commands: string[];
  bare: Window;
  bareClient: number | null;
  recordedClient: number | null;
  recordings: Recording[];
  runs: RunCheck[];
  cycles?: Cycles;
  diff?: AADiff;
  checks: Check[];
  load1: [number, number]; // 1-min load average before the bare load, after the recorded load
}

async function measure(server: Server, o: Options, recordings: number): Promise<ServerResult> {
  const bareSeconds = o.warmup + o.recordSeconds + 2;
  const recSeconds = o.warmup + recordings * (o.recordSeconds + RECORDER_SLACK_SECONDS) + 2;
  if (recSeconds > MAX_LOAD_SECONDS) throw new Error(`a load of ${recSeconds} s would be needed (more than ${MAX_LOAD_SECONDS} s): use a smaller --record-seconds`);

  log(`${server.name} bare: ${server.loadCommand(bareSeconds)}; ${server.counterName} from ${o.warmup} s to ${o.warmup + o.recordSeconds} s`);
  const load1Before = loadavg()[0];
  let load = server.load(bareSeconds);
  await sleep(o.warmup * 1000);
  const bare = await window(server, load, o.recordSeconds);
  const bareClient = await finishLoad(server, load);

  log(`${server.name} recorded: ${server.loadCommand(recSeconds)}; mutex-rec attached after ${o.warmup} s`);
  load = server.load(recSeconds);
  await sleep(o.warmup * 1000);
  const recs: Recording[] = [];
  for (const label of recordings === 1 ? ['rec'] : ['A', 'B']) {
    recs.push(await record(server, load, o, label));
    log(`  ${recs.at(-1)!.recorderSummary}`);
  }
  const recordedClient = await finishLoad(server, load);
  const load1After = loadavg()[0];

  log(`${server.name}: analyzing`);
  const runs: RunCheck[] = [];
  for (const r of recs) runs.push(await checkRun(r.label, r.file));
  const result: ServerResult = {
    name: server.name,
    counterName: server.counterName,
    commands: [server.loadCommand(bareSeconds), server.loadCommand(recSeconds)],
    bare,
    bareClient,
    recordedClient,
    recordings: recs,
    runs,
    checks: [],
    load1: [load1Before, load1After],
  };
  const checks = result.checks;
  for (const r of runs) {
    const tenth = r.durationNs / 10;
    checks.push({
      server: server.name,
      what: `${r.label}: (a) locks with a hold > duration/10 (${seconds(tenth)})`,
      value: r.longHolds.length === 0 ? `0 (longest ${r.longest ? seconds(r.longest.maxHoldNs) : 'none'})` : `${r.longHolds.length} (longest ${seconds(r.longHolds[0].maxHoldNs)}, ACQ ${fmt(r.longHolds[0].acquisitions)})`,
      goal: '0',
      ok: r.longHolds.length === 0,
    });
    checks.push({ server: server.name, what: `${r.label}: (b) report warnings`, value: String(r.warnings.length), goal: '0', ok: r.warnings.length === 0 });
    checks.push({
      server: server.name,
      what: `${r.label}: (b) locks with more edge items than threads (${r.threads})`,
      value: `${r.edgesOverBound.length} (of ${fmt(r.locks)} locks; released-before-acquire ${fmt(r.releasedBeforeAcquire)}, at end ${fmt(r.atEnd)} in all)`,
      goal: '0',
      ok: r.edgesOverBound.length === 0,
    });
    const off = Math.abs(r.durationNs / 1e9 - o.recordSeconds);
    checks.push({
      server: server.name,
      what: `${r.label}: (window) run duration vs -d ${o.recordSeconds}`,
      value: `${seconds(r.durationNs)} (${off >= 0.001 ? `${fmt(off * 1000)} ms off` : 'exact'})`,
      goal: '±50 ms',
      ok: off <= 0.05,
    });
    const dropped = r.dropped === 0;
    checks.push({ server: server.name, what: `${r.label}: dropped events`, value: fmt(r.dropped), goal: '0', ok: dropped });
  }
  if (server.name === 'memcached') {
    result.cycles = await lockorder(recs[0].file);
    checks.push({
      server: server.name,
      what: 'rec: (c) lockorder cycles',
      value: `${result.cycles.count}${result.cycles.capped ? ' (capped)' : ''}`,
      goal: '0',
      ok: result.cycles.count === 0,
    });
  }
  if (recs.length === 2) {
    result.diff = await aaDiff(recs[0].file, recs[1].file);
    checks.push({
      server: server.name,
      what: '(d) A/A diff: regressed rows, exit code (--fail-on-regression)',
      value: `${result.diff.regressed} of ${result.diff.matched} matched, exit ${result.diff.exit}`,
      goal: '0, exit 0',
      ok: result.diff.regressed === 0 && result.diff.exit === 0,
    });
  }
  return result;
}

// ---- output ----

function printResult(r: ServerResult, o: Options): void {
  const lines: string[] = [`### ${r.name}`, '', 'Load (bare, then recorded):', '', ...r.commands.map((c) => `    ${c}`), ''];
  const tp = (w: Window): string => `${fmt(w.perSecond, 0)}${w.loadEndedEarly ? ' (load ended early!)' : ''}`;
  lines.push(
    mdTable(
      ['recording', `bare ${r.counterName}`, 'recorded', 'recorded / bare', 'events', 'dropped', 'duration', 'threads', 'locks', 'acquisitions', 'longest hold (ACQ)', 'holds > dur/10', 'warnings', 'released before acquire (held at start)', 'at end', 'cut (release lost)'],
      r.runs.map((run, i) => {
        const w = r.recordings[i].window;
        return [
          run.label,
          tp(r.bare),
          tp(w),
          (w.perSecond / r.bare.perSecond).toFixed(3),
          fmt(run.events),
          fmt(run.dropped),
          seconds(run.durationNs),
          String(run.threads),
          fmt(run.locks),
          fmt(run.acquisitions),
          run.longest ? `${seconds(run.longest.maxHoldNs)} (${fmt(run.longest.acquisitions)})` : '–',
          String(run.longHolds.length),
          String(run.warnings.length),
          fmt(run.releasedBeforeAcquire),
          fmt(run.atEnd),
          run.cut === null ? 'n/a' : fmt(run.cut),
        ];
      }),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    `The client's own figure for its whole run: bare ${r.bareClient === null ? '?' : fmt(r.bareClient, 0)}/s, recorded ${r.recordedClient === null ? '?' : fmt(r.recordedClient, 0)}/s ` +
      `(the recorded run includes the time before and between the attaches). mutex-rec, from spawn to its "recording" line / to exit, for -d ${o.recordSeconds}: ${r.recordings.map((x) => `${x.attachSeconds.toFixed(1)} s / ${x.recorderSeconds.toFixed(1)} s`).join(', ')}. ` +
      `1-min load average: ${r.load1[0].toFixed(2)} before the bare load, ${r.load1[1].toFixed(2)} after the recorded one.`,
  );
  for (const run of r.runs) {
    lines.push('', `${run.label} (${run.file}): ended: ${run.endReason}.`);
    for (const w of run.warnings) lines.push(`- WARNING: ${w}`);
    for (const h of run.longHolds.slice(0, 10)) lines.push(`- hold > duration/10: ${h.name} (${h.key}): max ${seconds(h.maxHoldNs)}, ${fmt(h.acquisitions)} acquisitions`);
    if (run.longHolds.length > 10) lines.push(`- ... and ${run.longHolds.length - 10} more locks with a hold > duration/10`);
    for (const e of run.edgesOverBound.slice(0, 5)) lines.push(`- edge items above ${run.threads} threads: ${e.name} (${e.key}): released before acquire ${fmt(e.releasedBeforeAcquire)}, at end ${fmt(e.atEnd)}`);
    if (run.edgesOverBound.length > 5) lines.push(`- ... and ${run.edgesOverBound.length - 5} more locks with edge items above the thread count`);
  }
  if (r.cycles) {
    lines.push('', `lockorder: ${r.cycles.count} cycles${r.cycles.capped ? ' (capped at --max-cycles)' : ''}.`);
    for (const c of r.cycles.examples) lines.push(`- ${c}`);
  }
  if (r.diff) {
    lines.push('', `A/A diff: ${r.diff.regressed} regressed rows of ${r.diff.matched} matched, exit ${r.diff.exit} (--fail-on-regression).`);
    for (const row of r.diff.rows.slice(0, 5)) lines.push(`- regressed: ${row}`);
    if (r.diff.rows.length > 5) lines.push(`- ... and ${r.diff.rows.length - 5} more`);
  }
  console.log(`${lines.join('\n')}\n`);
}

function printChecks(checks: Check[], skipped: string[]): void {
  console.log('### Checks\n');
  console.log(
    mdTable(
      ['server', 'check', 'value', 'goal', 'verdict'],
      checks.map((c) => [c.server, c.what, c.value, c.goal, c.ok ? 'pass' : 'FAIL']),
    ),
  );
  for (const s of skipped) console.log(`\nskipped: ${s}`);
  console.log('');
}

// ---- main ----

async function main(o: Options): Promise<number> {
  requireRoot('bench/servers');
  const m = machine();
  const started = performance.now();
  mkdirSync(o.out, { recursive: true });
  console.log(`Measured ${utc(m.date)}: ${machineLine(m)}; mutex-rec -d ${o.recordSeconds}, attached ${o.warmup} s into the load.\n`);
  const checks: Check[] = [];
  const skipped: string[] = [];
  let failed = false;
  for (const name of o.only) {
    let server: Server | null = null;
    try {
      server = name === 'memcached' ? await memcached() : await mariadb();
      const result = await measure(server, o, name === 'mariadb' ? 2 : 1);
      printResult(result, o);
      checks.push(...result.checks);
    } catch (err) {
      if (err instanceof Skip) {
        skipped.push(`${name}: ${err.message}`);
        log(`${name} skipped: ${err.message}`);
      } else {
        failed = true;
        log(`${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    } finally {
      await server?.stop();
    }
  }
  printChecks(checks, skipped);
  const bad = checks.filter((c) => !c.ok).length;
  console.log(`${bad} of ${checks.length} checks failed${skipped.length ? `, ${skipped.length} server(s) skipped` : ''}; ${((performance.now() - started) / 1000).toFixed(0)} s in all.`);
  if (failed) return 2;
  if (o.check && (bad > 0 || skipped.length > 0)) return 1;
  return 0;
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', default: SERVERS.join(',') },
      check: { type: 'boolean', default: false },
      'record-seconds': { type: 'string', default: '15' },
      warmup: { type: 'string', default: '5' },
      out: { type: 'string', default: join(ROOT, 'build', 'bench', 'servers') },
    },
  });
  const only = values.only!.split(',').filter(Boolean);
  const unknown = only.filter((s) => !SERVERS.includes(s as ServerName));
  if (unknown.length) {
    process.stderr.write(`servers: unknown server ${unknown.join(', ')} (known: ${SERVERS.join(', ')})\n`);
    process.exit(2);
  }
  stopServersOnSignal();
  main({
    only: only as ServerName[],
    check: values.check!,
    recordSeconds: positiveInt('record-seconds', values['record-seconds']!),
    warmup: positiveInt('warmup', values.warmup!),
    out: values.out!,
  }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`servers: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(err instanceof Skip ? 1 : 2);
    },
  );
}
