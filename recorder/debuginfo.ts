import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';

import { readElf, type ElfObject } from './elf';

/** Where gdb and perf look for separate debug info (gdb's `debug-file-directory`). */
export const DEFAULT_DEBUG_DIRS = ['/usr/lib/debug'];

/**
 * The separate debug file of a stripped object, found as gdb and perf find it: by build-id,
 * DIR/.build-id/NN/REST.debug; then by .gnu_debuglink, next to the object, in its .debug/
 * subdirectory, and under DIR with the object's directory (/usr/lib/debug/usr/bin/x.debug). A
 * build-id candidate must carry the same build-id, a debuglink one the CRC-32 the link gives (and
 * the build-id, when both have one). Null when none is found.
 */
export function findDebugFile(elf: ElfObject, debugDirs: readonly string[] = DEFAULT_DEBUG_DIRS): ElfObject | null {
  const id = elf.buildId;
  if (id && id.length > 2) {
    for (const dir of debugDirs) {
      const debug = readIfElf(join(dir, '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`));
      if (debug && debug.buildId === id) return debug;
    }
  }
  const link = elf.debugLink;
  if (link) {
    const here = dirname(elf.path);
    for (const path of [join(here, link.file), join(here, '.debug', link.file), ...debugDirs.map((dir) => join(dir, here, link.file))]) {
      if (path === elf.path || !existsSync(path)) continue;
      if (crc32(readFileSync(path)) >>> 0 !== link.crc) continue;
      const debug = readIfElf(path);
      if (debug && (!id || !debug.buildId || debug.buildId === id)) return debug;
    }
  }
  return null;
}

/**
 * An object's own symbols, then those of its debug file at addresses it has none for: the names it
 * exports keep winning where they exist. Of several debug names at one address (aliases), the one
 * with the fewest leading underscores and no `__GI_` (glibc's internal alias) wins; symbol versions
 * (`@@GLIBC_2.2.5`) are dropped.
 */
export function withDebugSymbols<S extends { name: string; address: number; size: number }>(own: S[], debug: S[]): S[] {
  const taken = new Set(own.map((s) => s.address));
  const best = new Map<number, S>();
  for (const symbol of debug) {
    if (taken.has(symbol.address)) continue;
    const s = { ...symbol, name: symbol.name.replace(/@.*$/, '') };
    const previous = best.get(s.address);
    if (!previous || aliasRank(s) < aliasRank(previous) || (aliasRank(s) === aliasRank(previous) && s.size > previous.size)) best.set(s.address, s);
  }
  return [...own, ...best.values()];
}

function aliasRank(s: { name: string }): number {
  return (s.name.startsWith('__GI_') ? 100 : 0) + (/^_*/.exec(s.name)?.[0].length ?? 0);
}

function readIfElf(path: string): ElfObject | null {
  if (!existsSync(path)) return null;
  try {
    return readElf(path);
  } catch {
    return null;
  }
}

/**
 * How to get the symbols of objects that had none: the Debian package that owns each (dpkg), whose
 * debug symbols are in PACKAGE-dbgsym (libc6's in libc6-dbg).
 */
export function debugSymbolsHint(paths: readonly string[]): string {
  const packages = new Set<string>();
  for (const path of paths) {
    const pkg = owningPackage(path);
    if (pkg) packages.add(pkg === 'libc6' ? 'libc6-dbg' : `${pkg}-dbgsym`);
  }
  const install = packages.size > 0 ? `apt install ${[...packages].sort().join(' ')}` : 'install their -dbgsym packages';
  return (
    `on Debian, ${install} (the -dbgsym packages are in the debian-debug archive: add ` +
    '"deb http://deb.debian.org/debian-debug <suite>-debug main" to the apt sources), then record again'
  );
}

/** The Debian package that installed a file, or null (no dpkg, or not a packaged file). */
function owningPackage(path: string): string | null {
  // usrmerge: dpkg may know /lib/x86_64-linux-gnu/libc.so.6 and not /usr/lib/...
  for (const candidate of [path, path.replace(/^\/usr\/(lib|bin|sbin)\//, '/$1/')]) {
    try {
      const out = execFileSync('dpkg-query', ['-S', candidate], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const pkg = /^([^:,\s]+)/.exec(out)?.[1];
      if (pkg) return pkg;
    } catch {
      // not found under this name
    }
  }
  return null;
}
