import { statSync } from 'node:fs';

import type { FileMapping } from '../core/mappings';
import type { MutexSession } from './addon';
import { lockCallSites, type LockCallSite } from './callsite_cfa';
import { reachablePath } from './targets';

/**
 * The BPF tables of lock calls (bpf/outer_caller.bpf.h), filled object by object: each object's
 * calls of the probed functions and where, at each, the caller's own return address is. Objects
 * are known by inode and size, as the BPF program sees the file behind a return address; each is
 * read once, whatever path or process maps it. Where the target's mappings are known, their calls
 * also go into the programs' per-process cache at their addresses: a call there needs no lookup
 * (bpf_find_vma, which fails while the process changes its mappings).
 */
export class OuterCallerTable {
  private readonly byFile = new Map<string, LockCallSite[]>(); // `${ino}:${size}` -> its lock calls, by return offset
  private readonly cachedMappings = new Set<string>(); // `${pid}:${start}:${path}`: a mapping the poll reports again is not cached again
  /** Lock calls put in the table, over every object read. */
  sites = 0;

  constructor(
    private readonly session: MutexSession,
    private readonly functions: readonly string[],
  ) {}

  /** Reads the objects not read yet; one that is not an x86-64 ELF file, or is gone, adds nothing. */
  add(paths: Iterable<string>): void {
    for (const path of paths) this.sitesOf(path);
  }

  /** The target's executable mappings (paths as it sees them): their objects read, their lock calls cached at their addresses. */
  cache(pid: number, mappings: Iterable<FileMapping & { executable: boolean | null }>): void {
    const addresses: number[] = [];
    const cfaOffsets: number[] = [];
    for (const m of mappings) {
      const seen = `${pid}:${m.start}:${m.path}`;
      if (m.executable === false || this.cachedMappings.has(seen)) continue;
      this.cachedMappings.add(seen);
      const sites = this.sitesOf(reachablePath(pid, m.path));
      const mappedEnd = m.offset + (m.end - m.start);
      for (const site of sites) {
        // a return address at the very end of the mapping is the last call's: still this mapping's
        if (site.returnOffset <= m.offset || site.returnOffset > mappedEnd) continue;
        addresses.push(m.start + site.returnOffset - m.offset);
        cfaOffsets.push(site.cfaOffset);
      }
    }
    if (addresses.length > 0) this.session.cacheOuterCallSites(pid, Float64Array.from(addresses), Uint32Array.from(cfaOffsets));
  }

  private sitesOf(path: string): LockCallSite[] {
    let file: { ino: number; size: number };
    try {
      file = statSync(path);
    } catch {
      return [];
    }
    const key = `${file.ino}:${file.size}`;
    const known = this.byFile.get(key);
    if (known) return known;
    const sites = callSitesOrNone(path, this.functions);
    this.byFile.set(key, sites);
    if (sites.length > 0) {
      const offsets = Float64Array.from(sites, (s) => s.returnOffset);
      this.sites += this.session.addLockCallSites(file.ino, file.size, offsets, Uint32Array.from(sites, (s) => s.cfaOffset));
    }
    return sites;
  }
}

function callSitesOrNone(path: string, functions: readonly string[]): LockCallSite[] {
  try {
    return lockCallSites(path, functions);
  } catch {
    return [];
  }
}
