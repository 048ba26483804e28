// tier: probes
import assert from 'node:assert/strict';
import { copyFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { execFileSync } from 'node:child_process';
import type { Report } from '../analyzer/report';
import { mutexAnalyze, mutexRec } from './lib/tools';
import { scratchDir, workload } from './lib/workloads';

/** test/workloads/order.c, its debug info moved to order.debug beside it, stripped, linked to it. */
function strippedOrder(): { dir: string; prog: string } {
  const dir = scratchDir();
  const prog = join(dir, 'order');
  copyFileSync(workload('order'), prog);
  execFileSync('objcopy', ['--only-keep-debug', prog, `${prog}.debug`]);
  execFileSync('strip', ['--strip-all', prog]);
  execFileSync('objcopy', [`--add-gnu-debuglink=${prog}.debug`, prog]);
  return { dir, prog };
}

async function recordOrder(dir: string, prog: string): Promise<{ names: string[]; stderr: string }> {
  const out = join(dir, `run-${Math.random().toString(16).slice(2)}.db`);
  const rec = await mutexRec(['-o', out, '--', prog, 'inversion']);
  assert.equal(rec.code, 0, rec.stderr);
  const r = await mutexAnalyze(['report', out, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  // The dynamic loader's own locks (_rtld_global+0x...) are taken when threads start: left out here.
  const names = (JSON.parse(r.stdout) as Report).rows.map((row) => row.name).filter((n) => !n.startsWith('_rtld_global'));
  return { names: names.sort(), stderr: rec.stderr };
}

describe('mutex-rec on a stripped program', () => {
  test('with its .gnu_debuglink file beside it: the static mutexes by name, no word about missing symbols', async () => {
    const { dir, prog } = strippedOrder();
    const { names, stderr } = await recordOrder(dir, prog);
    assert.deepEqual(names, ['lock_a', 'lock_b']);
    assert.doesNotMatch(stderr, /no symbol table/);
  });

  test('without it: object+offset names, and the summary says which object had no symbols and how to get them', async () => {
    const { dir, prog } = strippedOrder();
    renameSync(`${prog}.debug`, join(dir, 'moved.debug'));
    const { names, stderr } = await recordOrder(dir, prog);
    for (const name of names) assert.match(name, /^order\+0x[0-9a-f]+$/);
    assert.match(stderr, new RegExp(`no symbol table for ${prog} \\(stripped, and no separate debug info under /usr/lib/debug\\)`));
    assert.match(stderr, /-dbgsym packages .*debian-debug/);
  });
});
