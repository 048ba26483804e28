import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..', '..');
const SOURCES = join(REPO, 'test', 'workloads');
const BUILD_DIR = join(REPO, 'build', 'test-workloads');

/** Compiles test/workloads/NAME.c (or NAME.cc, with g++) once per source change and returns the executable's path. */
export function workload(name: string, extraFlags: string[] = []): string {
  const cplusplus = existsSync(join(SOURCES, `${name}.cc`));
  const source = join(SOURCES, cplusplus ? `${name}.cc` : `${name}.c`);
  const suffix = extraFlags.length ? `-${extraFlags.join('').replace(/[^a-z0-9]/gi, '')}` : '';
  const output = join(BUILD_DIR, `${name}${suffix}`);
  return builtOnce(source, output, () => execFileSync(cplusplus ? 'g++' : 'gcc', ['-O2', '-g', '-Wall', '-pthread', ...extraFlags, '-o', output, source], { stdio: 'inherit' }));
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

/** `output`, built from `source` by `build` unless it is newer than the source. */
function builtOnce(source: string, output: string, build: () => void): string {
  mkdirSync(BUILD_DIR, { recursive: true });
  let fresh = false;
  try {
    fresh = statSync(output).mtimeMs >= statSync(source).mtimeMs;
  } catch {
    fresh = false;
  }
  if (!fresh) build();
  return output;
}

/** Debian's rustc (scripts/setup.sh installs it): compiles test/workloads/NAME.rs. */
export const RUSTC = '/usr/bin/rustc';
export function rustWorkload(name: string): string {
  const source = join(SOURCES, `${name}.rs`);
  const output = join(BUILD_DIR, name);
  return builtOnce(source, output, () => execFileSync(RUSTC, ['-O', '-g', '-o', output, source], { stdio: 'inherit' }));
}

/** Debian's Go (golang-go, installed by scripts/setup.sh): test/workloads/NAME.go built static, without cgo. */
export const GO = '/usr/bin/go';
export function goWorkload(name: string): string {
  const source = join(SOURCES, `${name}.go`);
  const output = join(BUILD_DIR, name);
  return builtOnce(source, output, () => {
    const env = { ...process.env, CGO_ENABLED: '0', GOCACHE: join(BUILD_DIR, 'go-cache'), HOME: BUILD_DIR };
    execFileSync(GO, ['build', '-o', output, source], { stdio: 'inherit', env });
  });
}
