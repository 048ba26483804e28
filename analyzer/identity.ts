import { basename } from 'node:path';

import { formatAddress } from '../core/events';
import { findMapping, type FileMapping } from '../core/mappings';
import type { RunFile } from './runfile';

/**
 * A lock's name that survives address-space randomisation, so runs can be compared:
 * - 'object': the mutex lives in a mapped object's data (a global or static): object+offset, or
 *   a kernel global: symbol+offset;
 * - 'callsite': a heap mutex, named by the code location of its first acquisition (object+offset
 *   of the lock call's return address), numbered when several share one site;
 * - 'address': neither is known; matching across runs by address is weak (ASLR moves it).
 */
export interface LockIdentity {
  id: string;
  strength: 'object' | 'callsite' | 'address';
}

export class AddressNamer {
  private readonly mappings: FileMapping[];
  private readonly symbols: ReturnType<RunFile['symbols']>;

  constructor(run: RunFile) {
    this.mappings = run.mappings();
    this.symbols = run.symbols();
  }

  /** The symbol name resolved at record time, else object+0xfileoffset, else null. */
  name(address: number): string | null {
    return this.symbols.get(address)?.name ?? this.objectOffset(address);
  }

  /** object+0xfileoffset: stable across runs of the same binaries whatever ASLR did. */
  private objectOffset(address: number): string | null {
    if (address < 0) return null;
    const m = findMapping(this.mappings, address);
    return m ? `${basename(m.path)}+0x${(address - m.start + m.offset).toString(16)}` : null;
  }
}

/** Identities of locks given their first acquisition's call site, in first-seen order. */
export function lockIdentities(namer: AddressNamer, locks: { lock: number; firstCaller: number }[]): Map<number, LockIdentity> {
  const out = new Map<number, LockIdentity>();
  const perSite = new Map<string, number>();
  for (const { lock, firstCaller } of locks) {
    const object = namer.name(lock);
    if (object) {
      out.set(lock, { id: object, strength: 'object' });
      continue;
    }
    const site = firstCaller ? namer.name(firstCaller) : null;
    if (site) {
      const n = (perSite.get(site) ?? 0) + 1;
      perSite.set(site, n);
      out.set(lock, { id: `mutex@${site}${n > 1 ? `#${n}` : ''}`, strength: 'callsite' });
      continue;
    }
    out.set(lock, { id: formatAddress(lock), strength: 'address' });
  }
  return out;
}
