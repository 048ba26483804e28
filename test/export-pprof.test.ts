import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { Profile } from 'pprof-format';

import { LockScript } from './lib/lockscript';
import { mutexAnalyze } from './lib/tools';
import { ScratchRuns, type SyntheticRunOptions } from './lib/synthetic';

const L = 0xa000;
const M = 0xb000;
const INSERT = 0x1010;
const LOOKUP = 0x1020;
const LOCK_FN = 0x7000;
const MAIN = 0x5010;
const UNNAMED = 0x6000; // in the mapping, no symbol
const PLACED = 0x6800; // in the mapping, named by the recorder as object+offset (no symbol covers it)
const BUILD_ID = '3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d';
const SYMBOLS: SyntheticRunOptions['symbols'] = [
  { address: L, name: 'cache_lock', kind: 'data' },
  { address: M, name: 'index_lock', kind: 'data' },
  { address: INSERT, name: 'cache_insert+0x1c', kind: 'code' },
  { address: LOOKUP, name: 'cache_lookup+0x10', kind: 'code' },
  { address: LOCK_FN, name: 'pthread_mutex_lock', kind: 'code' },
  { address: MAIN, name: 'main+0x10', kind: 'code' },
  { address: PLACED, name: 'synthetic+0x5800', kind: 'code' }, // the synthetic runs' module is 'synthetic'
];
const MAPPINGS: SyntheticRunOptions['mappings'] = [{ start: 0x1000, end: 0x8000, path: '/usr/bin/prog', executable: true, buildId: BUILD_ID }];
const STACKS = { 1: [LOCK_FN, MAIN, PLACED], 2: [LOCK_FN, UNNAMED, 0x6f72726520646000] }; // 2: a walk that left the mapped code

const runs = new ScratchRuns({ symbols: SYMBOLS, mappings: MAPPINGS, stacks: STACKS, threads: { 100: 'main', 1: 'worker-1', 2: 'worker-2' } });

/** Contention on cache_lock (worker-2 waits for worker-1, twice), index_lock uncontended, one stack cut. */
function contendedRun(): string {
  const s = new LockScript();
  for (let i = 0; i < 2; i++) {
    const t0 = i * 100_000;
    s.lock(1, L, INSERT, { stackId: 1, waitNs: 2_000 });
    s.request(2, L, LOOKUP, { stackId: 2, at: t0 + 40_000 });
    s.unlock(1, L, 0, { at: t0 + 50_000 }).acquired(2, L, LOOKUP, { at: t0 + 52_500 }).unlock(2, L, 0, { at: t0 + 60_000 });
  }
  s.lock(1, M, LOOKUP, { stackId: 1, waitNs: 700 }).unlock(1, M);
  return runs.write(s.events);
}

async function pprofOf(path: string): Promise<{ file: string; profile: Profile; str: (i: unknown) => string }> {
  const file = joinPath(runs.dir, `${Math.random().toString(16).slice(2)}.pb.gz`);
  const r = await mutexAnalyze(['export', path, '--format', 'pprof', '-o', file]);
  assert.equal(r.code, 0, r.stderr);
  const profile = Profile.decode(gunzipSync(readFileSync(file)));
  return { file, profile, str: (i) => profile.stringTable.strings[Number(i)] };
}

async function json<T>(args: string[]): Promise<T> {
  const r = await mutexAnalyze([...args, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

describe('export --format pprof', () => {
  test("Go's mutex-profile sample types; the sums are the report's contended acquisitions, contended wait and hold totals", async () => {
    const path = contendedRun();
    const { profile, str } = await pprofOf(path);
    assert.deepEqual(profile.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`), ['contentions/count', 'delay/nanoseconds', 'hold/nanoseconds']);
    assert.equal(`${str(profile.periodType!.type)}/${str(profile.periodType!.unit)}`, 'contentions/count');
    assert.equal(str(profile.defaultSampleType), 'delay');
    const sum = (k: number): number => profile.sample.reduce((a, s) => a + Number(s.value[k]), 0);
    const report = await json<{ rows: { contended: number; hold: { total: number } | null }[] }>(['report', path, '--top', '1000']);
    const blockers = await json<{ contended: { waits: number; totalNs: number } }>(['report', path, '--blockers']);
    assert.equal(sum(0), report.rows.reduce((a, r) => a + r.contended, 0));
    assert.equal(sum(0), 2);
    assert.equal(sum(0), blockers.contended.waits);
    assert.equal(sum(1), blockers.contended.totalNs);
    assert.equal(sum(1), 2 * 12_500);
    assert.equal(sum(2), report.rows.reduce((a, r) => a + (r.hold?.total ?? 0), 0));
  });

  test('locations from the recorded stacks, leaf first, named by function; mappings with build-ids; labels', async () => {
    const { profile, str } = await pprofOf(contendedRun());
    const fn = new Map(profile.function.map((f) => [Number(f.id), str(f.name)]));
    const loc = new Map(profile.location.map((l) => [Number(l.id), l]));
    const frames = (s: (typeof profile.sample)[number]): string[] => s.locationId.map((id) => fn.get(Number(loc.get(Number(id))!.line[0].functionId))!);
    const labels = (s: (typeof profile.sample)[number]): Record<string, string | number> =>
      Object.fromEntries(s.label.map((l) => [str(l.key), Number(l.str) ? str(l.str) : Number(l.num)]));
    const waiter = profile.sample.find((s) => Number(s.value[0]) > 0)!;
    assert.deepEqual(frames(waiter), ['pthread_mutex_lock', 'cache_lookup', 'prog+0x5000', '[truncated]']);
    assert.deepEqual(labels(waiter), { lock: 'cache_lock', kind: 'pthread_mutex', pid: 100, tid: 2, comm: 'worker-2' });
    const holder = profile.sample.find((s) => labels(s).lock === 'cache_lock' && labels(s).tid === 1)!;
    assert.deepEqual(frames(holder), ['pthread_mutex_lock', 'cache_insert', 'main', 'synthetic+0x5800'], 'object+offset is a function of its own, not "synthetic"');
    assert.deepEqual(holder.value.map(Number), [0, 0, 47_000 + 87_000]);
    const leaf = loc.get(Number(holder.locationId[0]))!;
    assert.equal(Number(leaf.address), LOCK_FN);
    const mapping = profile.mapping.find((m) => Number(m.id) === Number(leaf.mappingId))!;
    assert.deepEqual([str(mapping.filename), str(mapping.buildId), Number(mapping.memoryStart), Number(mapping.memoryLimit)], ['/usr/bin/prog', BUILD_ID, 0x1000, 0x8000]);
  });

  test('go tool pprof reads it: -top lists the functions by contended delay', { skip: goMissing() }, async () => {
    const { file } = await pprofOf(contendedRun());
    const top = execFileSync('go', ['tool', 'pprof', '-top', '-sample_index=delay', file], { encoding: 'utf8', env: { ...process.env, PPROF_BINARY_PATH: '/nonexistent' } });
    assert.match(top, /Type: delay/);
    assert.match(top, /25us total/);
    assert.match(top, /pthread_mutex_lock/);
    assert.match(top, /cache_lookup/);
  });

  test('a binary profile is not written to a terminal; -o - writes it to stdout', async () => {
    const r = await mutexAnalyze(['export', contendedRun(), '--format', 'pprof', '-o', '-']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length > 0, true);
  });
});

function goMissing(): string | false {
  return spawnSync('go', ['version']).status === 0 ? false : 'go is not installed (Debian golang-go): the read-back checks above still ran';
}
