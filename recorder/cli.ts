#!/usr/bin/env -S node --max-semi-space-size=2
// A small young generation: writing events boxes several numbers per row for SQLite, and V8 would
// otherwise grow its semi-spaces to 16 MB each for that garbage (about 25 MB more peak RSS at
// 1 M events/s, for no measurable gain in speed).
import { Command, Option } from '@commander-js/extra-typings';

import { collect, integer, positiveNumber, powerOfTwo } from '../core/cli_options';
import { runCli, setVerbose } from '../core/errors';
import { record } from './session';

const VERSION: string = require('../../package.json').version;

const program = new Command('mutex-rec')
  .description('Record every pthread mutex, rwlock and spin lock request, acquisition and release, and every condition-variable wait and signal, of a process into a SQLite run file; or, with --contention, only its contended futex waits.')
  .usage('[options] [--contention] (--pid PID | -- CMD [ARGS...] | --all)')
  .option('-p, --pid <pid>', 'attach to this running process (all its threads, current and future)', positiveNumber('--pid'))
  .option(
    '--contention',
    "contention mode: only the target's contended waits, from its futex calls (no probe on any lock call: production-safe; any futex-based lock: pthread, Rust, Go's runtime, custom); no holds",
    false,
  )
  .option('--user', 'record the pthread mutexes, rwlocks, spin locks and condition variables of the target (the default when neither --kernel nor --all nor --contention is given)', false)
  .option('--kernel', "record the kernel mutexes taken by the target's tasks (with --contention: its contended kernel locks, from the lock:contention tracepoints)", false)
  .option('--all', 'record kernel mutexes of every task (system-wide; no target needed)', false)
  .addOption(
    new Option('--kernel-probe <method>', 'how kernel mutexes are probed: auto tries fentry, then kprobes, then the lock:contention tracepoints')
      .choices(['auto', 'fentry', 'kprobe', 'tracepoint'] as const)
      .default('auto' as const),
  )
  .option('-d, --duration <seconds>', 'stop after this many seconds', positiveNumber('--duration'))
  .option('-o, --output <file>', 'run file to write (default: mutex-<pid>-<yyyymmdd-hhmmss>.db)')
  .option('-f, --force', 'overwrite the output file if it exists', false)
  .option('-q, --quiet', 'no status or progress line on the terminal', false)
  .option('-v, --verbose', "libbpf's messages while the probes are loaded and attached, and an internal error's stack trace", false)
  .option('--print', "print each acquisition as it completes, one line each: PID TID COMM LOCK, its request, acquired and released times and its wait and hold (µs)", false)
  .option('--lib <path>', 'also probe this object (a statically linked executable, a second libc); repeatable', collect, [])
  .addOption(
    new Option(
      '--probe-offsets <where>',
      "where each function's uprobe sits: emulated puts it on the first instruction the kernel emulates (not single-steps) that every call runs with its arguments and stack untouched, +0 when there is none; entry keeps +0 (slower: a second trap per hit)",
    )
      .choices(['emulated', 'entry'] as const)
      .default('emulated' as const),
  )
  .option('--stack-depth <frames>', 'frames kept of each request\'s call stack (1-127)', integer('--stack-depth', 1, 127), 32)
  .option('--no-stacks', 'do not capture call stacks (cheaper; call sites are still recorded)')
  .option('--ringbuf-mb <mb>', 'BPF ring buffer size in MiB (a power of two)', powerOfTwo('--ringbuf-mb'), 16)
  .addOption(new Option('--bench-object <path>', "benchmark only: a BPF object loaded beside the recording, sharing its maps, every program attached").hideHelp())
  .option('--poll-ms <ms>', 'how often the ring buffer is drained into the file (default 20, 250 with --contention: its few events need fewer of the recorder\'s wake-ups; a drain that finds it busy is followed by another after 20 ms)', positiveNumber('--poll-ms'))
  .option(
    '--write-at-stop',
    'keep the events raw while recording (one copy per drain) and write their rows when recording stops: the target shares its CPUs with almost none of the recorder\'s work; the stop takes about 0.5-0.7 s per million events, and until then only mutex-analyze sees the events',
    false,
  )
  .argument('[command...]', 'command to launch and record from its first instruction (after --)')
  .passThroughOptions()
  .version(VERSION)
  .addHelpText(
    'after',
    `
Stops on Ctrl-C, SIGTERM, --duration, or when the target exits; every buffered event is written first.
Examples:
  sudo mutex-rec --pid 4242 --duration 30 -o run.db
  sudo mutex-rec -o run.db -- ./my-server --threads 8
  sudo mutex-rec --kernel --user -o run.db -- ./my-server   # pthread and kernel mutexes
  sudo mutex-rec --all --duration 10 -o kernel.db            # kernel mutexes of every task
  sudo mutex-rec --contention --pid 4242 -d 30 -o run.db     # contended waits only, cheap enough for production
  mutex-analyze report run.db`,
  )
  .exitOverride((err) => {
    if (err.exitCode === 0) process.exit(0);
    process.exit(2);
  })
  .configureOutput({ outputError: (text, write) => write(`mutex-rec: ${text.replace(/^error: /, '').trim()} (see mutex-rec --help)\n`) });

runCli('mutex-rec', async () => {
  program.parse();
  const opts = program.opts();
  setVerbose(opts.verbose);
  if (opts.verbose) (await import('./addon')).addon.setVerbose(true);
  const command = program.args.length > 0 ? program.args : undefined;
  const ringBufferBytes = opts.ringbufMb * 1024 * 1024;
  const { checkPrivileges } = await import('./privileges');
  checkPrivileges();
  const summary = await record({
    pid: opts.pid,
    command,
    contention: opts.contention,
    user: opts.user || (!opts.kernel && !opts.all && !opts.benchObject && !opts.contention),
    kernel: opts.kernel,
    allKernel: opts.all,
    kernelProbe: opts.kernelProbe,
    durationSec: opts.duration,
    output: opts.output,
    force: opts.force,
    print: opts.print,
    quiet: opts.quiet,
    libs: opts.lib,
    ringBufferBytes,
    stackDepth: opts.stacks ? opts.stackDepth : 0,
    benchObject: opts.benchObject ?? null,
    pollMs: opts.pollMs ?? (opts.contention ? 250 : 20),
    writeAtStop: opts.writeAtStop,
    probePlacement: opts.probeOffsets,
    toolVersion: VERSION,
  });
  const method = summary.kernelMethod ? ` Kernel mutexes were probed with ${summary.kernelMethod}.` : '';
  const dropNote = summary.dropped > 0 ? ` WARNING: ${summary.dropped} events were dropped (ring buffer full): raise --ringbuf-mb;` : '';
  process.stderr.write(
    `mutex-rec: recorded ${summary.events.toLocaleString('en-US')} events (${summary.dropped} dropped) from ${summary.threads} threads on ${summary.locks} locks ` +
      `in ${summary.seconds.toFixed(2)} s into ${summary.output}; stopped: ${summary.endReason}.${method}${dropNote} ` +
      `Analyze it with: mutex-analyze report ${summary.output}\n`,
  );
  if (summary.withoutSymbols.length > 0) {
    const { debugSymbolsHint } = await import('./debuginfo');
    process.stderr.write(
      `mutex-rec: no symbol table for ${summary.withoutSymbols.join(', ')} (stripped, and no separate debug info under /usr/lib/debug): ` +
        `their frames are named from exported symbols or as object+offset. For names, ${debugSymbolsHint(summary.withoutSymbols)}.\n`,
    );
  }
  if (summary.hint) process.stderr.write(`mutex-rec: ${summary.hint}\n`);
  return summary.diskFull ? 1 : 0; // the run is kept, but cut short
});
