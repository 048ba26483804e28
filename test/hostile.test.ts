// tier: probes
// Issue 12, points 8-11: hostile paths and privacy. Planted links at the run file and its -wal,
// export's temporary file, the run file's mode and owner, control characters in names.
// The recorder cases need root (they record a second or stop before attaching anything).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { TextOutput } from '../analyzer/output';
import { Func, Stage } from '../core/events';
import { writeRunFile, type SyntheticEvent } from './lib/synthetic';
import { MUTEX_REC, collect, mutexAnalyze, mutexRec, waitFor } from './lib/tools';
import { scratchDir, workload } from './lib/workloads';

let dir: string;
let steady: string;
before(() => {
  dir = scratchDir();
  steady = workload('steady');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('8. planted links at the run file', () => {
  test('a dangling symlink at -o is refused, with or without --force, and its target is never created', async () => {
    const victim = joinPath(dir, 'victim-created-by-root');
    const link = joinPath(dir, 'dangling.db');
    symlinkSync(victim, link);
    for (const force of [[], ['--force']]) {
      const r = await mutexRec([...force, '-d', '1', '-o', link, '--', steady, '1', '1000']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /dangling\.db is a symbolic link, which mutex-rec does not follow/);
      assert.ok(!existsSync(victim));
      assert.ok(lstatSync(link).isSymbolicLink());
    }
  });

  test('a link planted at the -wal or -shm is refused too, and nothing is created', async () => {
    for (const side of ['-wal', '-shm']) {
      const out = joinPath(dir, `side${side}.db`);
      const victim = joinPath(dir, `victim${side}`);
      symlinkSync(victim, out + side);
      const r = await mutexRec(['-d', '1', '-o', out, '--', steady, '1', '1000']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /is a symbolic link/);
      assert.ok(!existsSync(victim) && !existsSync(out));
    }
  });
});

describe('9. export\'s temporary file', () => {
  test('is created exclusively under a random name: a link planted at the old predictable name is not followed', () => {
    const out = joinPath(dir, 'trace.folded');
    const victim = joinPath(dir, 'victim-file');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, `${out}.tmp-${process.pid}`);
    const o = TextOutput.open(out);
    o.write('a;b 1\n');
    o.close();
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    assert.equal(readFileSync(out, 'utf8'), 'a;b 1\n');
    assert.ok(lstatSync(out).isFile());
    // two at once never share a name
    const a = TextOutput.open(joinPath(dir, 'same.txt'));
    const b = TextOutput.open(joinPath(dir, 'same.txt'));
    a.abort();
    b.abort();
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('same.txt')), []);
  });
});

describe('10. run files are private', () => {
  test('the run file, -wal and -shm are 0600 and, through sudo, owned by the invoking user', async () => {
    const out = joinPath(dir, 'private.db');
    const child = spawn(process.execPath, [MUTEX_REC, '-d', '2', '-o', out, '--', steady, '1', '1000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SUDO_UID: '65534', SUDO_GID: '65533' },
    });
    const done = collect(child, 60_000);
    await waitFor(child.stderr!, /mutex-rec: recording /);
    for (const file of [out, `${out}-wal`, `${out}-shm`]) {
      const st = statSync(file);
      assert.equal(st.mode & 0o777, 0o600, `${file}: ${(st.mode & 0o777).toString(8)}`);
      assert.equal(st.uid, 65534, file);
      assert.equal(st.gid, 65533, file);
    }
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    const st = statSync(out);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, 65534);
  });
});

describe('11. control characters in names', () => {
  const evil = 'ev\x1b[31mil\nx';
  const lock = 0x601040;
  let path: string;
  before(() => {
    mkdirSync(dir, { recursive: true });
    path = joinPath(dir, 'evil.db');
    const events: SyntheticEvent[] = [];
    for (let i = 0; i < 5; i++) {
      events.push({ ts: 1000 * i + 10, requestTs: 1000 * i, stage: Stage.Acquired, func: Func.PthreadMutexLock, tid: 7, lock, ret: 0, caller: 0x401000 } as SyntheticEvent);
      events.push({ ts: 1000 * i + 500, requestTs: null, stage: Stage.Released, func: Func.PthreadMutexUnlock, tid: 7, lock, ret: 0 } as SyntheticEvent);
    }
    writeRunFile(path, events, {
      threads: { 7: evil },
      symbols: [
        { address: lock, name: 'g_\x1b]0;owned\x07lock', kind: 'data' },
        { address: 0x401000, name: 'site\r\nfake line', kind: 'code' },
      ],
    });
  });

  const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/; // anything but \t and \n

  test('report, report --by thread, --by callsite, lockorder print them escaped', async () => {
    for (const args of [['report', path], ['report', path, '--by', 'thread'], ['report', path, '--by', 'callsite'], ['lockorder', path]]) {
      const r = await mutexAnalyze(args);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, RAW_CONTROL, args.join(' '));
    }
    const byThread = await mutexAnalyze(['report', path, '--by', 'thread']);
    assert.match(byThread.stdout, /ev\\x1b\[31mil\\nx/);
  });

  test('events keeps one line per acquisition', async () => {
    const r = await mutexAnalyze(['events', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, RAW_CONTROL);
    const lines = r.stdout.split('\n').filter((l) => /^\s*100\s+7\s/.test(l));
    assert.equal(lines.length, 5, r.stdout);
  });
});
