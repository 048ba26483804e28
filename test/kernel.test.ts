// tier: vm
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { before, describe, test } from 'node:test';

import { moduleLines, type ModuleLine } from './lib/kernel';
import { join, MUTEX_REC, openRun, REPO, run, type RunFile } from './lib/tools';
import { parseLines, scratchDir, workload } from './lib/workloads';

const TOLERANCE = 0.002; // 0.2%: the module measures itself with ktime_get_ns around the lock calls
/** The recorded acquisition against the module's ktime_get_ns right after mutex_lock returned: the
 * same clock, so a wrong time base would be off by seconds; the emulated VM adds the host's hiccups. */
const ACQUIRED_TOLERANCE_NS = 1_000_000;

/**
 * Boots Debian's 6.1 kernel (kprobes and fentry work there) and runs the scenarios with one method.
 * A guest kernel panic is booted again once: the emulated guest's 6.1.0-56 once oopsed at a NULL
 * function pointer inside perf_event_open (the recorder's call, under the full suite's load;
 * 9 of 9 passed when run again alone), a kernel bug no user program may trigger; a second panic fails.
 */
async function runScenarios(method: 'fentry' | 'kprobe', scenarios: string[]): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const out = mkdtempSync(joinPath(tmpdir(), `vm-${method}-`));
    const r = await run(joinPath(REPO, 'test', 'vm', 'run.sh'), ['--out', out, '--timeout', '240', '--', 'sh', 'test/vm/kernel-scenarios.sh', method, out, ...scenarios], {
      timeoutMs: 300_000,
    });
    if (r.code !== 0 && attempt === 1 && /Kernel panic/.test(r.stderr)) {
      process.stderr.write(`kernel.test: the guest kernel panicked (${r.stderr.trim().split('\n').pop()}): booting it again\n`);
      continue;
    }
    assert.equal(r.code, 0, `VM run failed: ${r.stderr}`);
    return out;
  }
}

/** How a recorded hold or wait misses the module's own measurement by more than TOLERANCE, or null. */
function durationMiss(recorded: number, truth: number, what: string): string | null {
  return Math.abs(recorded - truth) <= TOLERANCE * truth ? null : `${what}: recorded ${recorded} ns, module measured ${truth} ns`;
}

/** How a recorded acquisition time misses the module's clock read by more than ACQUIRED_TOLERANCE_NS, or null. */
function acquiredMiss(acquiredTs: number, m: ModuleLine, runFile: RunFile, what: string): string | null {
  const module = Number(m.acquiredNs - runFile.startMonotonicNs);
  return Math.abs(acquiredTs - module) <= ACQUIRED_TOLERANCE_NS ? null : `${what}: acquired at ${acquiredTs} ns, module ${module} ns`;
}

function within(recorded: number, truth: number, what: string): void {
  const miss = durationMiss(recorded, truth, what);
  assert.ok(miss === null, miss ?? undefined);
}

function holdsOf(runFile: RunFile, m: ModuleLine) {
  return join(runFile.events).acquisitions.filter((a) => a.tid === m.tid && a.lock === m.lock);
}

/**
 * The module's measurements of a VM run that the recording misses by more than the tolerance. In
 * the emulated VM the guest clock is the host's: when the host deschedules qemu between the
 * module's clock read and the probe's (one host tick, 4 ms, against 300 ms), a hold comes out
 * longer by that, a wait shorter (the probes sit outside the module's reads around a hold and
 * inside them around a wait), and an acquisition time apart from the module's. A run with such an
 * outlier is repeated once; the tests then hold the repeated run to the same tolerances.
 */
function outliers(out: string): string[] {
  const off: string[] = [];
  for (const scenario of ['hold', 'nested', 'contend']) {
    const runFile = openRun(joinPath(out, `${scenario}.db`));
    const acquisitions = join(runFile.events).acquisitions;
    const seen = new Map<string, number>(); // the n-th line of a thread and lock is its n-th acquisition
    for (const m of moduleLines(joinPath(out, `${scenario}.module.log`))) {
      const key = `${m.kind}:${m.tid}:${m.lock}`;
      const n = seen.get(key) ?? 0;
      seen.set(key, n + 1);
      const a = acquisitions.filter((x) => x.tid === m.tid && x.lock === m.lock)[n];
      const recorded = a && (m.kind === 'wait' ? a.wait : a.hold);
      const misses = [
        m.ns > 1e6 && recorded != null ? durationMiss(recorded, m.ns, `${scenario}: ${m.kind}`) : null,
        a && m.kind === 'hold' ? acquiredMiss(a.acquiredTs, m, runFile, scenario) : null,
      ];
      for (const miss of misses) if (miss) off.push(miss);
    }
    runFile.db.close();
  }
  return off;
}

before(async () => {
  const prepare = await run('bash', ['-c', `cd ${REPO} && test/vm/prepare.sh >/dev/null && test/kmod/build.sh >/dev/null`], { timeoutMs: 600_000 });
  assert.equal(prepare.code, 0, prepare.stderr);
});

for (const method of ['fentry', 'kprobe'] as const) {
  describe(`kernel mutexes with ${method} (in a VM)`, () => {
    let out: string;
    before(async () => {
      out = await runScenarios(method, ['hold', 'nested', 'contend', 'excluded']);
      const off = outliers(out);
      if (off.length > 0) {
        process.stderr.write(`kernel test (${method}): repeating the VM run once, host-time outliers: ${off.join('; ')}\n`);
        out = await runScenarios(method, ['hold', 'nested', 'contend', 'excluded']);
      }
    });

    test("the origin's experiment: every hold across msleep(300) captured, each within 0.2% of the module's measurement", () => {
      const lines = moduleLines(joinPath(out, 'hold.module.log')).filter((m) => m.kind === 'hold');
      assert.equal(lines.length, 3);
      const runFile = openRun(joinPath(out, 'hold.db'));
      assert.equal(runFile.run.kernel_probe, method);
      const recorded = holdsOf(runFile, lines[0]);
      assert.equal(recorded.length, lines.length);
      lines.forEach((m, i) => {
        within(recorded[i].hold!, m.ns, `hold ${i}`);
        const miss = acquiredMiss(recorded[i].acquiredTs, m, runFile, `hold ${i}`);
        assert.ok(miss === null, miss ?? undefined);
      });
      runFile.db.close();
    });

    test('nested mutexes (600 ms around 300 ms): both holds within 0.2%', () => {
      const lines = moduleLines(joinPath(out, 'nested.module.log')).filter((m) => m.kind === 'hold');
      assert.deepEqual(lines.map((m) => m.name).sort(), ['A', 'B']);
      const runFile = openRun(joinPath(out, 'nested.db'));
      for (const m of lines) {
        const recorded = holdsOf(runFile, m);
        assert.equal(recorded.length, 1, `lock ${m.name}`);
        within(recorded[0].hold!, m.ns, `hold of ${m.name}`);
      }
      runFile.db.close();
    });

    test("two kthreads contending (held 1 s): the waiter's recorded wait matches its own measurement within 0.2%", () => {
      const lines = moduleLines(joinPath(out, 'contend.module.log'));
      const waits = lines.filter((m) => m.kind === 'wait');
      assert.equal(waits.length, 3);
      const runFile = openRun(joinPath(out, 'contend.db'));
      for (const m of waits) {
        const recorded = holdsOf(runFile, m);
        assert.equal(recorded.length, 1, `waiter ${m.tid}`);
        within(recorded[0].wait!, m.ns, `wait of tid ${m.tid}`);
        assert.equal(recorded[0].contended, true);
      }
      for (const m of lines.filter((l) => l.kind === 'hold' && l.ns > 1e6)) within(holdsOf(runFile, m)[0].hold!, m.ns, `hold of tid ${m.tid}`);
      runFile.db.close();
    });

    test("a pid filter that excludes the module's task records none of its locks", () => {
      const lines = moduleLines(joinPath(out, 'excluded.module.log'));
      assert.ok(lines.length >= 2, 'the module ran during the recording');
      const runFile = openRun(joinPath(out, 'excluded.db'));
      assert.equal(runFile.events.filter((e) => e.tid === lines[0].tid || e.lock === lines[0].lock).length, 0);
      runFile.db.close();
    });
  });
}

describe("this machine's fallback: contention tracepoints", () => {
  let dir: string;
  before(() => {
    dir = scratchDir();
  });

  test('threads reading one file description: contended f_pos_lock waits with the right tids and a plausible total', async () => {
    const reader = workload('fpos_contend');
    const data = joinPath(dir, 'data.bin');
    writeFileSync(data, Buffer.alloc(32 << 20, 7));
    const runPath = joinPath(dir, 'fpos.db');
    const r = await run(process.execPath, [MUTEX_REC, '--kernel', '--kernel-probe', 'auto', '-o', runPath, '--', reader, data, '4', '1000']);
    assert.equal(r.code, 0, r.stderr);
    const readers = parseLines(r.stdout, 'reader');
    assert.equal(readers.length, 4);
    const runFile = openRun(runPath);
    assert.equal(runFile.run.kernel_probe, 'tracepoint');
    const joined = join(runFile.events);
    const fposWaits = joined.acquisitions.filter((a) => a.kind === 'mutex');
    const readerTids = new Set(readers.map((t) => Number(t.tid)));
    const strangers = fposWaits.filter((a) => !readerTids.has(a.tid));
    assert.deepEqual(strangers.map((a) => a.tid), [], 'waits attributed to threads that are not readers');
    for (const t of readers) {
      const mine = fposWaits.filter((a) => a.tid === Number(t.tid));
      assert.ok(mine.length > 0, `no contended wait recorded for reader ${t.tid}`);
      const total = mine.reduce((s, a) => s + a.wait!, 0);
      assert.ok(total <= Number(t.in_read_ns), `reader ${t.tid}: ${total} ns of waits, ${t.in_read_ns} ns inside read()`);
    }
    assert.ok(fposWaits.every((a) => a.hold === null), 'tracepoints see no hold');
    assert.deepEqual(joined.anomalies, []);
    runFile.db.close();
  });
});

