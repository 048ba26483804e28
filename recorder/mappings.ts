import { readFileSync, realpathSync } from 'node:fs';

import type { MappingRow } from '../runfile/rows';
import { addon, type MmapWatcher } from './addon';

/**
 * The target's mappings, with the anonymous mapping that directly follows a file mapping (an
 * object's .bss beyond its last file page) attributed to that object, so a static mutex in .bss
 * gets an object+offset name too. Null when the process is gone.
 */
export function readMappings(pid: number): MappingRow[] | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/maps`, 'utf8');
  } catch {
    return null;
  }
  const out: MappingRow[] = [];
  let previous: MappingRow | null = null;
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s*(.*)$/.exec(line);
    if (!m) continue;
    const start = parseInt(m[1], 16);
    const end = parseInt(m[2], 16);
    const executable = m[3][2] === 'x';
    const offset = parseInt(m[4], 16);
    const path = m[5];
    let mapping: MappingRow | null = null;
    if (path.startsWith('/')) mapping = { start, end, offset, path: path.replace(/ \(deleted\)$/, ''), buildId: null, executable };
    else if (path === '' && previous && previous.end === start) {
      const offsetInFile: number = previous.offset + (start - previous.start);
      mapping = { start, end, offset: offsetInFile, path: previous.path, buildId: previous.buildId, executable: false };
    }
    if (mapping) out.push(mapping);
    previous = mapping;
  }
  return out;
}

/**
 * The target's mappings, for naming its addresses: from a perf mmap watcher opened before the
 * target runs (it sees even a process that lives for a millisecond) and from /proc/PID/maps while
 * the process lives (which also shows the anonymous .bss tails the watcher does not name).
 * Each poll returns only what was not returned before (or is now better known).
 */
export class MappingTracker {
  private readonly seen = new Map<string, boolean>(); // start:path -> whether its permissions are known
  private readonly watcher: MmapWatcher | null;

  /** Open it before a launched target is resumed. */
  constructor(private readonly pid: number) {
    try {
      this.watcher = new addon.MmapWatcher(pid);
    } catch {
      this.watcher = null; // /proc/PID/maps alone then
    }
  }

  /** New mappings, and those seen before whose permissions are now known (the store fills them in). */
  poll(): MappingRow[] {
    const fresh: MappingRow[] = [];
    const procMaps = this.stillTheTarget() ? (readMappings(this.pid) ?? []) : [];
    const watched: MappingRow[] = this.watcher ? this.watcher.read().map((m) => ({ ...m, buildId: null })) : [];
    for (const m of [...watched, ...procMaps]) {
      const key = `${m.start}:${m.path}`;
      const known = this.seen.get(key);
      if (known !== undefined && (known || m.executable === null)) continue;
      this.seen.set(key, m.executable !== null);
      fresh.push(m);
    }
    return fresh;
  }

  close(): void {
    this.watcher?.close();
  }

  /** A launched target is a copy of this process until its execve: its maps would be ours. */
  private stillTheTarget(): boolean {
    try {
      return realpathSync(`/proc/${this.pid}/exe`) !== realpathSync(process.execPath);
    } catch {
      return false;
    }
  }
}
