import { statSync } from 'node:fs';

import type { MutexSession } from './addon';
import { lockCallSites } from './callsite_cfa';

/**
 * The BPF table of lock calls (bpf/outer_caller.bpf.h), filled object by object: each object's
 * calls of the probed functions and where, at each, the caller's own return address is. Objects
 * are known by inode and size, as the BPF program sees the file behind a return address; one read
 * once, whatever path or process maps it.
 */
export class OuterCallerTable {
  private readonly done = new Set<string>();
  /** Lock calls put in the table, over every object read. */
  sites = 0;

  constructor(
    private readonly session: MutexSession,
    private readonly functions: readonly string[],
  ) {}

  /** Reads the objects not read yet; one that is not an x86-64 ELF file, or is gone, adds nothing. */
  add(paths: Iterable<string>): void {
    for (const path of paths) {
      let ino: number;
      let size: number;
      try {
        ({ ino, size } = statSync(path));
      } catch {
        continue;
      }
      const key = `${ino}:${size}`;
      if (this.done.has(key)) continue;
      this.done.add(key);
      let sites: ReturnType<typeof lockCallSites>;
      try {
        sites = lockCallSites(path, this.functions);
      } catch {
        continue;
      }
      if (sites.length === 0) continue;
      const offsets = Float64Array.from(sites, (s) => s.returnOffset);
      const cfaOffsets = Uint32Array.from(sites, (s) => s.cfaOffset);
      this.sites += this.session.addLockCallSites(ino, size, offsets, cfaOffsets);
    }
  }
}
