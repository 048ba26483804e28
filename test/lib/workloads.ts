import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..', '..');
const SOURCES = join(REPO, 'test', 'workloads');
const BUILD_DIR = join(REPO, 'build', 'test-workloads');

/** Compiles test/workloads/NAME.c (or NAME.cc, with g++) once per source change and returns the executable's path. */
export function workload(name: string, extraFlags: string[] = []): string {
  mkdirSync(BUILD_DIR, { recursive: true });
  const cplusplus = existsSync(join(SOURCES, `${name}.cc`));
  const source = join(SOURCES, cplusplus ? `${name}.cc` : `${name}.c`);
  const suffix = extraFlags.length ? `-${extraFlags.join('').replace(/[^a-z0-9]/gi, '')}` : '';
  const output = join(BUILD_DIR, `${name}${suffix}`);
  let fresh = false;
  try {
    fresh = statSync(output).mtimeMs >= statSync(source).mtimeMs;
  } catch {
    fresh = false;
  }
  if (!fresh) execFileSync(cplusplus ? 'g++' : 'gcc', ['-O2', '-g', '-Wall', '-pthread', ...extraFlags, '-o', output, source], { stdio: 'inherit' });
  return output;
}

export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'mutex-test-'));
}

/** Lines like `hold tid=1 lock=0x55 acquired_ns=5 released_ns=9` as records of their key=value fields. */
export function parseLines(output: string, kind: string): Record<string, string>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith(`${kind} `))
    .map((line) => Object.fromEntries(line.slice(kind.length + 1).split(' ').map((kv) => kv.split('=') as [string, string])));
}
