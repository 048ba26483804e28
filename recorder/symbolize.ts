import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';

import { DEFAULT_DEBUG_DIRS, findDebugFile, withDebugSymbols } from './debuginfo';
import { readElf, type ElfObject } from './elf';
import { findMapping } from '../core/mappings';
import type { MappingRow, SymbolRow } from '../runfile/rows';

interface SortedSymbols {
  starts: number[];
  names: string[];
  sizes: number[];
}

interface LoadedObject {
  elf: ElfObject;
  code: SortedSymbols;
  data: SortedSymbols;
  fullSymbols: boolean; // a .symtab, its own or its separate debug file's; else .dynsym only
  used: boolean; // it named an address
}

/** How far past an object's last file mapping its .bss may reach. */
const BSS_REACH = 64 << 20;

/**
 * Names user-space addresses from the ELF symbols of the objects the target had mapped: .symtab;
 * for a stripped object, the .symtab of its separate debug file (recorder/debuginfo.ts), with its
 * .dynsym; else .dynsym alone. Runs while recording and when it ends, from the recorded mappings,
 * so it works after the target exited. Names come as the objects have them: C++ ones mangled
 * (demangleNames, once at the stop: a c++filt run per naming pass cost a fork of the recorder).
 */
export class UserSymbolizer {
  private mappings: MappingRow[] = [];
  private readonly objects = new Map<string, LoadedObject | null>();
  private readonly debugDirs: readonly string[];

  constructor(mappings: MappingRow[], opts: { debugDirs?: readonly string[] } = {}) {
    this.setMappings(mappings);
    this.debugDirs = opts.debugDirs ?? DEFAULT_DEBUG_DIRS;
  }

  /** Objects that named addresses with no full symbol table (stripped, no debug file found). */
  withoutSymbols(): string[] {
    return [...this.objects].filter(([, o]) => o && o.used && !o.fullSymbols).map(([path]) => path);
  }

  /** Reads the symbols of every object with code among the mappings now, rather than at its first address. */
  preload(): void {
    for (const m of this.mappings) if (m.executable !== false) this.load(m.path);
  }

  /** The mappings known now (they grow while recording); objects already read are kept. */
  setMappings(mappings: MappingRow[]): void {
    this.mappings = [...mappings].sort((a, b) => a.start - b.start);
  }

  /** Build-ids of the objects read so far, by path. */
  buildIds(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [path, object] of this.objects) if (object?.elf.buildId) out.set(path, object.elf.buildId);
    return out;
  }

  symbolize(code: number[], data: number[]): Map<number, SymbolRow> {
    const out = new Map<number, SymbolRow>();
    for (const address of code) {
      const n = this.name(address, 'code');
      if (n) out.set(address, n);
    }
    for (const address of data) {
      const n = this.name(address, 'data');
      if (n) out.set(address, n);
    }
    return out;
  }

  private name(address: number, kind: 'code' | 'data'): SymbolRow | null {
    const mapping = findMapping(this.mappings, address) ?? (kind === 'data' ? this.mappingBelow(address) : null);
    if (!mapping) return null;
    const module = basename(mapping.path);
    const fileOffset = address - mapping.start + mapping.offset;
    const object = this.load(mapping.path);
    if (object) object.used = true;
    const vaddr = object?.elf.addressOfOffset(fileOffset) ?? null;
    const symbol = object && vaddr !== null ? lookup(kind === 'code' ? object.code : object.data, vaddr, kind) : null;
    if (symbol) return { name: symbol, module, kind };
    // Code, and data inside the object's own segments (a stripped program's globals, its .bss
    // too), are placed in their module, as the analyzer names them from the mappings: the .bss
    // beyond the file's pages only /proc/PID/maps shows, which a short-lived target may not leave
    // time to read. Other data (heap-like) gets no name.
    const inImage = kind === 'code' || vaddr !== null;
    return inImage ? { name: `${module}+0x${fileOffset.toString(16)}`, module, kind } : null;
  }


  /**
   * For a data address in no recorded mapping: the file mapping just below it. A .bss is an
   * anonymous mapping after its object's data, which only /proc/PID/maps shows (the mmap watcher
   * does not), and a target that lives a few ms may be gone before that is read; the object's
   * segments (ElfObject.addressOfOffset, through p_memsz) say whether the address is its .bss.
   */
  private mappingBelow(address: number): MappingRow | null {
    let lo = 0;
    let hi = this.mappings.length - 1;
    let below: MappingRow | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.mappings[mid].start <= address) {
        below = this.mappings[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return below && address - below.end < BSS_REACH ? below : null;
  }

  private load(path: string): LoadedObject | null {
    if (!this.objects.has(path)) {
      try {
        const elf = readElf(path);
        const debug = elf.hasSymtab ? null : findDebugFile(elf, this.debugDirs);
        const functions = debug ? withDebugSymbols(elf.functions, debug.functions) : elf.functions;
        const data = debug ? withDebugSymbols(elf.data, debug.data) : elf.data;
        this.objects.set(path, { elf, code: sorted(functions), data: sorted(data), fullSymbols: elf.hasSymtab || debug !== null, used: false });
      } catch {
        this.objects.set(path, null); // gone or unreadable: module+offset names only
      }
    }
    return this.objects.get(path) ?? null;
  }
}

function sorted(symbols: { name: string; address: number; size: number }[]): SortedSymbols {
  const s = [...symbols].sort((a, b) => a.address - b.address || b.size - a.size);
  return { starts: s.map((x) => x.address), names: s.map((x) => x.name), sizes: s.map((x) => x.size) };
}

/** The symbol whose [start, start+size) holds vaddr (a size-0 code symbol: the nearest below). */
function lookup(table: SortedSymbols, vaddr: number, kind: 'code' | 'data'): string | null {
  let lo = 0;
  let hi = table.starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (table.starts[mid] <= vaddr) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return null;
  const offset = vaddr - table.starts[found];
  const size = table.sizes[found];
  if (size > 0 ? offset >= size : kind === 'data' || offset > 1 << 20) return null;
  return offset === 0 ? table.names[found] : `${table.names[found]}+0x${offset.toString(16)}`;
}

/** Demangles C++ names (_Z...) in place with one c++filt run; leaves them as they are without it. */
export function demangleNames(names: Iterable<SymbolRow>): void {
  const mangled = [...names].filter((s) => s.name.startsWith('_Z'));
  if (mangled.length === 0) return;
  const split = mangled.map((s) => {
    const plus = s.name.lastIndexOf('+0x');
    return plus > 0 ? [s.name.slice(0, plus), s.name.slice(plus)] : [s.name, ''];
  });
  let lines: string[];
  try {
    lines = execFileSync('c++filt', [], { input: split.map(([n]) => n).join('\n'), encoding: 'utf8' }).split('\n');
  } catch {
    return;
  }
  mangled.forEach((s, i) => {
    if (lines[i]) s.name = lines[i] + split[i][1];
  });
}
