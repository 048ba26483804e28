// tier: probes
// Issue 12, point 17: a progress line on a terminal for the recorder's stop and for long analyses
// (stderr only; none when stderr is not a terminal, none with --quiet). The terminal is a pty made
// by script(1); the recorder case needs root and real probes.
import assert from 'node:assert/strict';
import { join as joinPath } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rmSync } from 'node:fs';

import { Func, Stage } from '../core/events';
import { writeRunFile, type SyntheticEvent } from './lib/synthetic';
import { MUTEX_ANALYZE, MUTEX_REC, mutexAnalyze, run } from './lib/tools';
import { scratchDir, workload } from './lib/workloads';

let dir: string;
before(() => (dir = scratchDir()));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs node with args on a pseudo-terminal; returns what the terminal showed. */
async function onTerminal(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; screen: string }> {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const command = ['env', ...vars, process.execPath, ...args].map((a) => `'${a}'`).join(' ');
  const r = await run('script', ['-qec', command, '/dev/null'], { timeoutMs: 60_000 });
  return { code: r.code, screen: r.stdout };
}

describe('17. progress lines', () => {
  test('the recorder shows its stop on a terminal, and nothing with --quiet', async () => {
    const steady = workload('steady');
    const shown = await onTerminal([MUTEX_REC, '-d', '1', '-o', joinPath(dir, 'a.db'), '--', steady, '1', '1000']);
    assert.equal(shown.code, 0, shown.screen);
    assert.match(shown.screen, /mutex-rec: stopping: detaching the probes/);
    assert.match(shown.screen, /mutex-rec: stopping: naming the addresses/);
    const quiet = await onTerminal([MUTEX_REC, '--quiet', '-d', '1', '-o', joinPath(dir, 'b.db'), '--', steady, '1', '1000']);
    assert.equal(quiet.code, 0, quiet.screen);
    assert.doesNotMatch(quiet.screen, /stopping:|recording: /);
  });

  test('an analysis shows how far it has read on a terminal only, and nothing with --quiet', async () => {
    const path = joinPath(dir, 'run.db');
    const events: SyntheticEvent[] = [];
    for (let i = 0; i < 40_000; i++) {
      events.push({ ts: 1000 * i + 100, requestTs: 1000 * i, stage: Stage.Acquired, func: Func.PthreadMutexLock, tid: 7, lock: 0x601040, ret: 0 } as SyntheticEvent);
      events.push({ ts: 1000 * i + 600, requestTs: null, stage: Stage.Released, func: Func.PthreadMutexUnlock, tid: 7, lock: 0x601040, ret: 0 } as SyntheticEvent);
    }
    writeRunFile(path, events);
    const env = { MUTEX_PROGRESS_AFTER_MS: '0' }; // every pass counts as long
    const shown = await onTerminal([MUTEX_ANALYZE, 'report', path], env);
    assert.equal(shown.code, 0, shown.screen);
    assert.match(shown.screen, /mutex-analyze: reading run\.db: \d+%/);
    const quiet = await onTerminal([MUTEX_ANALYZE, 'report', path, '--quiet'], env);
    assert.doesNotMatch(quiet.screen, /reading run\.db/);
    process.env.MUTEX_PROGRESS_AFTER_MS = '0';
    try {
      const piped = await mutexAnalyze(['report', path]);
      assert.equal(piped.code, 0, piped.stderr);
      assert.doesNotMatch(piped.stderr, /reading/);
    } finally {
      delete process.env.MUTEX_PROGRESS_AFTER_MS;
    }
  });
});
