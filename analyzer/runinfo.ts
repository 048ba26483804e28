import { PROBE_FAMILIES, type FamilyCost, type InRunCost, type ProbeFamily } from '../core/probe_cost';
import { KERNEL_METHOD_LIMITS } from '../core/kernel_methods';
import type { RunFile } from '../runfile/runfile';
import { formatCount, formatDuration } from './stats/units';

/** Every output of a contention-mode run says this in its header (README: Contention mode). */
export const CONTENTION_NOTE = 'contention mode: contended waits only, no holds';

/** What a wait and a hold are, as every table says it under the header. */
export function meaningLine(mode: 'full' | 'contention'): string {
  return mode === 'contention'
    ? 'wait = a thread\'s futex wait on a lock word, from its entry to the return of the last wait of the same slow path ' +
        '(a kernel lock\'s: contention_begin to contention_end); no holds; a condition variable\'s waits are shown but are not contention (README: "Contention mode").'
    : 'wait = lock call entry -> return with the lock; hold = lock return -> unlock entry (README: "What the numbers mean").';
}

/** The lines outputs whose stdout is data (JSON, CSV, exports) print on stderr before their warnings. */
export function modeNotes(r: { mode: 'full' | 'contention' }): string[] {
  return r.mode === 'contention' ? [CONTENTION_NOTE] : [];
}

/** The run's identity and health, as every output shows it. */
export function runJson(run: RunFile) {
  const m = run.meta;
  return {
    path: m.path,
    target: { pid: m.targetPid, comm: m.targetComm, cmdline: m.targetCmdline, launched: m.launched, exit: m.targetExit },
    host: m.host,
    kernelRelease: m.kernelRelease,
    toolVersion: m.toolVersion,
    startTime: new Date(Number(m.startRealtimeNs / 1_000_000n)).toISOString(),
    startMonotonicNs: m.startMonotonicNs.toString(),
    durationNs: run.durationNs(),
    events: m.eventCount,
    dropped: m.dropCount,
    endReason: m.endReason,
    probes: { user: m.userProbes, kernel: m.kernelProbe, kernelScope: m.kernelScope },
    mode: m.mode,
    ...(m.mode === 'contention' ? { modeNote: CONTENTION_NOTE } : {}),
    probeCost: { measured: m.probeCost, subtracted: run.subtractedProbeCost() !== null },
  };
}

/** Said at the top of every output: anything that makes the numbers less than complete. */
export function runWarnings(run: RunFile, anomalies: Map<string, number>): string[] {
  const warnings: string[] = [];
  const m = run.meta;
  if (m.dropCount > 0) {
    warnings.push(`${formatCount(m.dropCount)} events were dropped while recording (ring buffer full): acquisitions around them are missing or cut; record again with a larger --ringbuf-mb`);
  }
  if (m.probeFailures && m.probeFailures.stackFailed > 0) {
    warnings.push(
      `${formatCount(m.probeFailures.stackFailed)} call stacks could not be taken (the stack table was full, or held another stack in their slot: code without frame pointers makes many distinct stacks): those lock calls have their call site only; record again with a smaller --stack-depth (8)`,
    );
  }
  if (m.probeFailures?.futexUnread) {
    warnings.push(`${formatCount(m.probeFailures.futexUnread)} futex calls had user registers the probe could not read: they have no call site and no lock kind`);
  }
  const tally = run.futexKindTally;
  if (tally && tally.words.none > 0) {
    warnings.push(
      `${formatCount(tally.words.none)} of ${formatCount(tally.words.function + tally.words.layout + tally.words.none)} futex words (${formatCount(tally.waits.none)} waits) could not be told a lock kind ` +
        '(no C library lock function at their futex call, no glibc pthread layout around the word): they are kind futex, and their waits count as contention',
    );
  }
  if (m.probeFailures && m.probeFailures.pendingFull > 0) {
    warnings.push(`${formatCount(m.probeFailures.pendingFull)} lock calls were not followed (the probes' map of calls in progress was full): their acquisitions are missing`);
  }
  if (m.kernelProbe) warnings.push(`kernel mutexes were probed with ${m.kernelProbe}: it ${KERNEL_METHOD_LIMITS[m.kernelProbe]}`);
  if (m.endReason === null) {
    warnings.push(
      m.recorderPid !== null
        ? `the run is still being recorded (by mutex-rec pid ${m.recorderPid}): this is what it has written so far`
        : 'the recorder did not finish (killed?): the run ends at its last written event',
    );
  }
  const leftOut = [...run.leftOut.entries()];
  if (leftOut.length > 0) {
    const rows = leftOut.reduce((a, [, n]) => a + n, 0);
    warnings.push(`${formatCount(rows)} rows break what a run file holds and were left out (${leftOut.map(([why, n]) => `${formatCount(n)} ${why}`).join(', ')}): the file is damaged`);
  }
  if (m.spooledEvents > 0) {
    warnings.push(`${formatCount(m.spooledEvents)} events are still raw in event_spool (mutex-rec --write-at-stop stopped before writing their rows): read from there; SQL on the events table does not see them`);
  }
  const cut = anomalies.get('hold-cut') ?? 0;
  if (cut > 0) {
    warnings.push(
      `${formatCount(cut)} holds were cut: their lock was taken again with no release seen (a lost event, or a mutex whose type could not be read); they count as open items, not as holds`,
    );
  }
  const others = [...anomalies.entries()].filter(([k]) => k !== 'hold-cut');
  const contradictions = others.reduce((a, [, n]) => a + n, 0);
  if (contradictions > 0) {
    const kinds = others.map(([k, n]) => `${n} ${k}`).join(', ');
    warnings.push(`${contradictions} events contradict the join (${kinds}): they were left out`);
  }
  return warnings;
}

/** How every text output of one run begins: its warnings, its header; then what the output is about (`intro`), if given, and a blank line. */
export function textPreamble(warnings: string[], run: ReturnType<typeof runJson>, intro?: string): string[] {
  return [...warnings.map((w) => `WARNING: ${w}`), ...runHeader(run), ...(intro === undefined ? [] : [intro, ''])];
}

export function runHeader(r: ReturnType<typeof runJson>): string[] {
  const target = `pid ${r.target.pid ?? '?'} (${r.target.comm ?? '?'})${r.target.launched ? ' launched' : ''}`;
  const lines = [
    `run: ${r.path}: ${target} on ${r.host}, kernel ${r.kernelRelease}, started ${r.startTime}, ${formatDuration(r.durationNs)}, ` +
      `${formatCount(r.events)} events, ${formatCount(r.dropped)} dropped, ended: ${r.endReason ?? 'not finished'}`,
  ];
  if (r.mode === 'contention') lines.push(CONTENTION_NOTE);
  if (r.probes.user) lines.push(probeCostLine(r.probeCost));
  return lines;
}

/** What the pthread waits and holds shown are net of (README: "What the numbers mean"). */
function probeCostLine({ measured, subtracted }: ReturnType<typeof runJson>['probeCost']): string {
  if (!measured) return 'probe cost: not measured in this run: pthread waits and holds include the probes\' own cost';
  const inside = measured.callNs !== undefined ? ` and ${formatDuration(measured.callNs)} per call its holder makes inside it` : '';
  const cost = `${formatDuration(measured.waitNs)} per lock call, ${formatDuration(measured.holdNs)} per hold${inside}`;
  const line = subtracted ? `probe cost: ${cost} subtracted from pthread waits and holds (--raw keeps it)` : `probe cost: ${cost} measured, not subtracted`;
  const inRun = measured.inRun ? `; ${inRunPart(measured.inRun, measured.waitNs)}` : '';
  if (!measured.families) return line + inRun; // a run from before rwlocks, spin locks and conds were recorded
  // Each kind's probes are measured on their own (recorder/calibrate.ts).
  const each = PROBE_FAMILIES.map((f): [ProbeFamily, FamilyCost | undefined] => [f, measured.families![f]]);
  const own = each
    .filter((e): e is [ProbeFamily, FamilyCost] => e[1] !== undefined)
    .map(([f, c]) => (f === 'cond' ? `cond waits ${formatDuration(c.waitNs)}` : `${f} ${formatDuration(c.waitNs)}/${formatDuration(c.holdNs)}`));
  const missing = each.filter(([, c]) => c === undefined).map(([f]) => f);
  return `${line}; each kind its own: ${own.join(', ') || 'none'}${missing.length ? `; ${missing.join(', ')}: not measured, shown as recorded` : ''}${inRun}`;
}

/** What the target's own uncontended calls found the probes to cost (core/probe_cost.ts, InRunCost). */
function inRunPart(inRun: InRunCost, calibratedNs: number): string {
  const spans = inRun.perSpanWaitNs.filter((w): w is number => w !== null);
  const range = spans.length > 1 ? `, ${formatDuration(Math.min(...spans))} to ${formatDuration(Math.max(...spans))} second by second` : '';
  return `in the target, its ${inRun.calls.toLocaleString('en-US')} uncontended lock calls found ${formatDuration(inRun.waitNs)} per call${range}: every cost scaled by that against the calibration's ${formatDuration(calibratedNs)}`;
}
