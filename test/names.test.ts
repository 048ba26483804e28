// tier: probes
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { before, describe, test } from 'node:test';

import Database from 'better-sqlite3';

import { Stage } from '../core/events';
import { mutexAnalyze, mutexRec } from './lib/tools';
import { parseLines, scratchDir, workload } from './lib/workloads';

interface Named {
  callers: Map<string, number>; // call-site name -> request count
  lockNames: Map<string, string>; // lock address (hex) -> name
}

/** The request call sites and lock names the run file holds for the workload's two locks. */
function names(runPath: string, locks: string[]): Named {
  const db = new Database(runPath, { readonly: true });
  const symbol = db.prepare('SELECT name FROM symbols WHERE address = ?').pluck();
  const callers = new Map<string, number>();
  const lockNames = new Map<string, string>();
  for (const hex of locks) {
    const address = Number(BigInt(hex));
    lockNames.set(hex, (symbol.get(address) as string | undefined) ?? '');
    const rows = db.prepare('SELECT caller FROM events WHERE lock = ? AND stage = ?').pluck().all(address, Stage.Acquired) as number[];
    for (const caller of rows) {
      const name = String(symbol.get(caller) ?? '?').replace(/\+0x[0-9a-f]+$/, '');
      callers.set(name, (callers.get(name) ?? 0) + 1);
    }
  }
  db.close();
  return { callers, lockNames };
}

describe('names: global locks by symbol, call sites by function', () => {
  let dir: string;
  before(() => {
    dir = scratchDir();
  });

  test('with .symtab: g_cache_lock and every calling function are named', async () => {
    const exe = workload('names', ['-rdynamic']);
    const runPath = joinPath(dir, 'names.db');
    const r = await mutexRec(['-o', runPath, '--', exe]);
    assert.equal(r.code, 0, r.stderr);
    const locks = parseLines(r.stdout, 'lock');
    const n = names(runPath, locks.map((l) => l.addr));
    assert.equal(n.lockNames.get(locks[0].addr), 'g_cache_lock');
    // Every mapping of a launched target (seen first by the mmap watcher) knows whether it is code.
    const db = new Database(runPath, { readonly: true });
    const perms = db.prepare('SELECT executable, count(*) AS n FROM mappings WHERE path = ? GROUP BY executable').all(exe) as { executable: number | null; n: number }[];
    db.close();
    assert.deepEqual(perms.map((p) => p.executable).sort(), [0, 1], JSON.stringify(perms));
    assert.equal(n.lockNames.get(locks[1].addr), '', 'a heap mutex has no symbol');
    assert.deepEqual(Object.fromEntries(n.callers), { cache_insert: 3, flush_global: 3, static_helper: 3 });
    const report = await mutexAnalyze(['report', runPath, '--format', 'json']);
    const rows = JSON.parse(report.stdout).rows as { key: string; name: string }[];
    const byAddress = new Map(rows.map((row) => [row.key, row.name]));
    assert.equal(byAddress.get(locks[0].addr), 'g_cache_lock');
    assert.match(byAddress.get(locks[1].addr) ?? '', /^mutex@cache_insert\+0x[0-9a-f]+$/);
  });

  test('stripped of .symtab: .dynsym names the exported functions, module+offset the static one', async () => {
    const built = workload('names', ['-rdynamic']);
    const exe = joinPath(dir, 'names-stripped');
    copyFileSync(built, exe);
    execFileSync('strip', ['-s', exe]);
    const runPath = joinPath(dir, 'stripped.db');
    const r = await mutexRec(['-o', runPath, '--', exe]);
    assert.equal(r.code, 0, r.stderr);
    const locks = parseLines(r.stdout, 'lock');
    const n = names(runPath, locks.map((l) => l.addr));
    assert.equal(n.lockNames.get(locks[0].addr), 'g_cache_lock', 'exported global, in .dynsym');
    assert.equal(n.callers.get('cache_insert'), 3);
    assert.equal(n.callers.get('flush_global'), 3);
    const fallback = [...n.callers.keys()].filter((k) => /^names-stripped$/.test(k));
    assert.deepEqual(fallback, ['names-stripped'], `static_helper falls back to module+offset: ${[...n.callers.keys()]}`);
    assert.equal(n.callers.get('names-stripped'), 3);
  });
});
