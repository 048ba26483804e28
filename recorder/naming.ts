import { KernelSymbols } from './kallsyms';
import type { MappingRow } from '../runfile/rows';
import type { RunStore } from '../runfile/writer';
import { demangleNames, UserSymbolizer } from './symbolize';

/**
 * Names the run's addresses as the recording goes, while the target's objects are at hand (it may
 * be gone later), so that a recorder killed mid-run leaves them named; the pass at the stop names
 * the rest and demangles C++ names (a killed run keeps them mangled).
 */
export class RunNamer {
  private readonly named = new Set<number>();
  private readonly user = new UserSymbolizer([]);

  constructor(
    private readonly store: RunStore,
    private readonly ksyms: KernelSymbols,
  ) {}

  /**
   * A running target's objects, read before the window opens: naming its first call sites then
   * costs lookups, not reading symbol tables (MariaDB's: ~0.3 s of CPU in the recording's first
   * seconds, taken from the target it records when they share a CPU).
   */
  preload(mappings: MappingRow[]): void {
    this.user.setMappings(mappings);
    this.user.preload();
  }

  /** Names the addresses written since the last pass. */
  pass(): void {
    const { code, data } = this.store.addresses();
    this.name(code, data, this.ksyms);
  }

  /** At the stop: every address of the run not named yet; kallsyms is read again, for modules loaded meanwhile. */
  finish(): void {
    const { code, data } = this.store.addresses(true);
    const kernel = code.some((a) => a < 0) || data.some((a) => a < 0);
    this.name(code, data, kernel ? KernelSymbols.load() : this.ksyms);
    this.store.setBuildIds(this.user.buildIds());
    const mangled = this.store.mangledSymbols();
    demangleNames(mangled.values());
    this.store.addSymbols(mangled);
  }

  /** Objects whose addresses were named without a full symbol table (stripped, no debug file found). */
  withoutSymbols(): string[] {
    return this.user.withoutSymbols();
  }

  private name(code: number[], data: number[], ksyms: KernelSymbols): void {
    const fresh = (a: number[]): number[] => a.filter((x) => !this.named.has(x));
    code = fresh(code);
    data = fresh(data);
    if (code.length === 0 && data.length === 0) return;
    this.user.setMappings(this.store.mappings());
    const names = this.user.symbolize(
      code.filter((a) => a > 0),
      data.filter((a) => a > 0),
    );
    for (const [list, kind] of [[code, 'code'], [data, 'data']] as const) {
      for (const address of list) {
        if (address > 0) continue;
        const name = ksyms.name(address, kind);
        if (name) names.set(address, { name, module: 'kernel', kind });
      }
    }
    this.store.addSymbols(names);
    for (const address of names.keys()) this.named.add(address);
  }
}
