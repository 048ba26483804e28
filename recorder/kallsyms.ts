import { readFileSync } from 'node:fs';

interface KernelSymbol {
  address: number; // signed 64-bit, as events store kernel addresses
  name: string;
  isData: boolean;
}

/** A lock this far past a data symbol is still taken to be inside it (a mutex in a global struct). */
const MAX_DATA_OFFSET = 64 * 1024;
const MAX_TEXT_OFFSET = 1024 * 1024;

/** /proc/kallsyms, sorted by address, for naming kernel callers and global kernel mutexes. */
export class KernelSymbols {
  private readonly symbols: KernelSymbol[];
  private readonly names: Set<string>;

  static load(): KernelSymbols {
    let text = '';
    try {
      text = readFileSync('/proc/kallsyms', 'utf8');
    } catch {
      // no kallsyms: names stay unknown
    }
    return new KernelSymbols(text);
  }

  /** No symbols: a recording without kernel probes has no kernel address to name (RunNamer.finish reads kallsyms if one shows up). */
  static none(): KernelSymbols {
    return new KernelSymbols('');
  }

  private constructor(text: string) {
    const symbols: KernelSymbol[] = [];
    this.names = new Set();
    for (const line of text.split('\n')) {
      const [hex, type, name] = line.split(/\s+/);
      if (!name) continue;
      this.names.add(name);
      const address = Number(BigInt.asIntN(64, BigInt(`0x${hex}`)));
      if (address === 0) continue; // addresses hidden (kptr_restrict)
      symbols.push({ address, name, isData: 'dDbBrR'.includes(type) });
    }
    this.symbols = symbols.sort((a, b) => a.address - b.address);
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  /** symbol+0xoffset for a code address, or for a data address inside a global; null otherwise. */
  name(address: number, kind: 'code' | 'data'): string | null {
    let lo = 0;
    let hi = this.symbols.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.symbols[mid].address <= address) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return null;
    const s = this.symbols[found];
    const offset = address - s.address;
    if (kind === 'data' ? !s.isData || offset > MAX_DATA_OFFSET : s.isData || offset > MAX_TEXT_OFFSET) return null;
    return offset === 0 ? s.name : `${s.name}+0x${offset.toString(16)}`;
  }
}
