/**
 * Where the caller of a lock call keeps its own return address, for code without frame pointers.
 *
 * When a uprobe on pthread_mutex_lock fires, SP points at the return address R of the lock call,
 * inside a wrapper such as pigz's possess(). Without frame pointers the kernel's stack walk ends
 * there, and the wrapper's name is all a report would show. The wrapper's own return address (its
 * caller) sits at CFA - 8, and .eh_frame says, per pc, how the CFA follows from rsp: at the call
 * instruction CFA = rsp + N. The call pushed R, so at the probe SP = rsp - 8 and the caller's
 * return address is the word at SP + N. This module finds the lock calls of an x86-64 object and
 * their N, so that a BPF program can read one more frame without unwinding.
 *
 * The calls are found by scanning executable bytes for `call rel32` and `call *disp32(%rip)`
 * rather than disassembling: a false hit's N is still the CFA rule at its pc, which is right
 * for any instruction there, so false hits cost a map entry and nothing else.
 */
import { cString, fileOffsetOf, readSparseElf, SHF_ALLOC, SHF_EXECINSTR, SHT_DYNAMIC, SHT_DYNSYM, SHT_NOBITS, SHT_RELA, SHT_SYMTAB, u64, type ElfProgramHeader, type ElfSection } from './elf_file';

/** A call of a lock function, and where its caller's return address is at the call (see module comment). */
export interface LockCallSite {
  returnOffset: number; // file offset of the return address (the byte after the call instruction)
  cfaOffset: number; // at the call instruction, CFA = rsp + cfaOffset (x86-64; DWARF reg 7)
}

/** How the CFA follows from the registers at one pc: a register plus an offset, or a DWARF expression. */
export type CfaRule = { kind: 'register'; register: number; offset: number } | { kind: 'expression' };

/** The call frame instructions that describe one function (an FDE and its CIE), as DWARF lays them out. */
export interface CfiProgram {
  codeAlignment: number; // the CIE's code alignment factor: advance_loc deltas are multiplied by it
  dataAlignment: number; // the CIE's data alignment factor: *_sf offsets are multiplied by it
  initialInstructions: Uint8Array; // the CIE's: the rules at pcBegin
  instructions: Uint8Array; // the FDE's
  pcBegin: number;
  pointerEncoding?: number; // the CIE's 'R' encoding, for DW_CFA_set_loc's operand (default absptr)
  instructionsAddress?: number; // the virtual address of `instructions`, for a pc-relative set_loc
}

const DWARF_RSP = 7;

const EM_X86_64 = 62;
const DT_RELA = 7;
const DT_RELACOUNT = 0x6ffffff9;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const R_X86_64_GLOB_DAT = 6;
const R_X86_64_JUMP_SLOT = 7;
const PLT_SECTIONS = new Set(['.plt', '.plt.sec', '.plt.got']);
const CALL_RIP_INDIRECT = Buffer.from([0xff, 0x15]); // call *disp32(%rip)

/** Calls in this x86-64 ELF object of the functions named (e.g. 'pthread_mutex_lock'), with a CFA rule rsp+N. */
export function lockCallSites(path: string, functions: readonly string[]): LockCallSite[] {
  const elf = readElf(path);
  const targets = new LockTargets(elf, new Set(functions));
  const frames = new FrameTable(elf);
  const sites: LockCallSite[] = [];
  for (const returnAddress of lockCallReturnAddresses(elf, targets)) {
    const rule = frames.cfaRuleAt(returnAddress - 1);
    if (rule?.kind !== 'register' || rule.register !== DWARF_RSP) continue; // rbp-based code: the kernel's frame-pointer walk works
    const returnOffset = returnOffsetOf(elf, returnAddress);
    if (returnOffset !== null) sites.push({ returnOffset, cfaOffset: rule.offset });
  }
  return sites.sort((a, b) => a.returnOffset - b.returnOffset);
}

/** The CFA rules of an ELF object's .eh_frame, by pc (virtual address). */
export function readFrameTable(path: string): { cfaRuleAt(address: number): CfaRule | null } {
  return new FrameTable(readElf(path));
}

// ---------------------------------------------------------------------------------------------
// ELF

interface Elf {
  bytes: Buffer;
  sections: ElfSection[];
  segments: ElfProgramHeader[]; // PT_LOAD
  relativeRelocations: { tableAddress: number; count: number } | null; // see relativeRelocations()
}

/** What this module parses, read from the file (recorder/elf_file.ts): symbol and relocation tables, code, .eh_frame. mariadbd is 26 MB, of which this reads 13. */
function readElf(path: string): Elf {
  return readSparseElf(path, (file) => {
    if (file.bytes.readUInt16LE(0x12) !== EM_X86_64) throw new Error(`${path} is not an x86-64 object`);
    const elf: Elf = { bytes: file.bytes, sections: file.sections, segments: file.segments, relativeRelocations: null };
    for (const s of elf.sections.filter((s) => s.type === SHT_DYNAMIC)) file.fillSection(s);
    elf.relativeRelocations = relativeRelocations(elf);
    for (const s of elf.sections) {
      if (s.type === SHT_NOBITS) continue;
      const symbols = s.type === SHT_SYMTAB || s.type === SHT_DYNSYM;
      if (symbols) file.fillSection(elf.sections[s.link]);
      if (isDynamicRelocations(s)) {
        const skipped = firstUsefulRelocation(elf, s) * 24;
        file.fill(s.offset + skipped, s.size - skipped);
      } else if (symbols || s.flags & SHF_EXECINSTR || s.name === '.eh_frame') {
        file.fillSection(s);
      }
    }
    return elf;
  });
}

function isDynamicRelocations(section: ElfSection): boolean {
  return section.type === SHT_RELA && (section.flags & SHF_ALLOC) !== 0;
}

/** DT_RELACOUNT: how many R_X86_64_RELATIVE relocations lead the DT_RELA table (188k of mariadbd's 192k), which need no reading. */
function relativeRelocations(elf: Elf): { tableAddress: number; count: number } | null {
  const dynamic = elf.sections.find((s) => s.type === SHT_DYNAMIC);
  if (!dynamic) return null;
  let tableAddress: number | null = null;
  let count = 0;
  for (let at = dynamic.offset; at + 16 <= dynamic.offset + dynamic.size; at += 16) {
    const tag = u64(elf.bytes, at);
    if (tag === DT_RELA) tableAddress = u64(elf.bytes, at + 8);
    if (tag === DT_RELACOUNT) count = u64(elf.bytes, at + 8);
  }
  return tableAddress === null ? null : { tableAddress, count };
}

function firstUsefulRelocation(elf: Elf, relocations: ElfSection): number {
  const relative = elf.relativeRelocations;
  return relative && relative.tableAddress === relocations.address ? Math.min(relative.count, Math.floor(relocations.size / 24)) : 0;
}

function returnOffsetOf(elf: Elf, returnAddress: number): number | null {
  // Located by the call's last byte: a call that ends its segment returns to the segment's end.
  const last = fileOffsetOf(elf.segments, returnAddress - 1);
  return last === null ? null : last + 1;
}

/** Function symbols' names without their version (`pthread_cond_wait@GLIBC_2.2.5`, as .symtab spells them). */
function baseName(name: string): string {
  const at = name.indexOf('@');
  return at < 0 ? name : name.slice(0, at);
}

/** Whether a symbol's name is one of those asked for, decoding only the names that start like one (mariadbd has 30k symbols). */
class NameFilter {
  private readonly firstBytes: Set<number>;

  constructor(private readonly names: ReadonlySet<string>) {
    this.firstBytes = new Set([...names].map((name) => name.charCodeAt(0)));
  }

  matchesSymbol(elf: Elf, table: ElfSection, index: number): boolean {
    const strings = elf.sections[table.link];
    if (!strings) return false;
    const nameAt = strings.offset + elf.bytes.readUInt32LE(table.offset + index * 24);
    return this.firstBytes.has(elf.bytes[nameAt]) && this.names.has(baseName(cString(elf.bytes, nameAt)));
  }
}

// ---------------------------------------------------------------------------------------------
// Finding the calls

/** What a lock call's operand can point at: a lock function, its PLT stub, or its GOT slot. */
class LockTargets {
  readonly functionAddresses = new Set<number>(); // the named functions defined in this object
  readonly gotSlots = new Set<number>(); // GOT slots the dynamic linker fills with a named function
  private readonly pltStart: number; // the PLT sections' span
  private readonly pltEnd: number;
  private readonly stubs = new Map<number, boolean>(); // PLT stub address: does it jump through a lock slot

  constructor(
    private readonly elf: Elf,
    wanted: ReadonlySet<string>,
  ) {
    const names = new NameFilter(wanted);
    const plts = elf.sections.filter((s) => PLT_SECTIONS.has(s.name));
    this.pltStart = Math.min(...plts.map((s) => s.address));
    this.pltEnd = Math.max(...plts.map((s) => s.address + s.size));
    for (const table of elf.sections.filter((s) => s.type === SHT_SYMTAB || s.type === SHT_DYNSYM)) this.addDefinedFunctions(table, names);
    for (const relocations of elf.sections.filter(isDynamicRelocations)) this.addGotSlots(relocations, names);
  }

  isLockFunction(address: number): boolean {
    return address >= this.pltStart && address < this.pltEnd ? this.isLockStub(address) : this.functionAddresses.has(address);
  }

  private isLockStub(address: number): boolean {
    let known = this.stubs.get(address);
    if (known === undefined) {
      const slot = pltStubSlot(this.elf, address);
      known = slot !== null && this.gotSlots.has(slot);
      this.stubs.set(address, known);
    }
    return known;
  }

  private addDefinedFunctions(table: ElfSection, names: NameFilter): void {
    const { bytes } = this.elf;
    const count = Math.floor(table.size / 24);
    for (let i = 1; i < count; i++) {
      const at = table.offset + i * 24;
      const type = bytes[at + 4] & 0xf;
      const sectionIndex = bytes.readUInt16LE(at + 6);
      if ((type !== STT_FUNC && type !== STT_GNU_IFUNC) || sectionIndex === 0) continue;
      if (names.matchesSymbol(this.elf, table, i)) this.functionAddresses.add(u64(bytes, at + 8));
    }
  }

  private addGotSlots(relocations: ElfSection, names: NameFilter): void {
    const { bytes } = this.elf;
    const symbols = this.elf.sections[relocations.link];
    if (!symbols || (symbols.type !== SHT_DYNSYM && symbols.type !== SHT_SYMTAB)) return; // a static binary's IRELATIVE table
    const count = Math.floor(relocations.size / 24);
    for (let i = firstUsefulRelocation(this.elf, relocations); i < count; i++) {
      const at = relocations.offset + i * 24;
      const type = bytes.readUInt32LE(at + 8);
      if (type !== R_X86_64_JUMP_SLOT && type !== R_X86_64_GLOB_DAT) continue;
      const symbol = bytes.readUInt32LE(at + 12);
      if (symbol !== 0 && names.matchesSymbol(this.elf, symbols, symbol)) this.gotSlots.add(u64(bytes, at));
    }
  }
}

/** The GOT slot a PLT stub jumps through: [endbr64] [bnd] jmp *disp32(%rip). */
function pltStubSlot(elf: Elf, address: number): number | null {
  const section = elf.sections.find((s) => PLT_SECTIONS.has(s.name) && address >= s.address && address < s.address + s.size);
  if (!section) return null;
  const end = section.offset + section.size;
  let at = address - section.address + section.offset;
  if (at + 4 <= end && elf.bytes.readUInt32BE(at) === 0xf30f1efa) at += 4; // endbr64
  if (at < end && elf.bytes[at] === 0xf2) at += 1; // bnd
  if (at + 6 > end || elf.bytes[at] !== 0xff || elf.bytes[at + 1] !== 0x25) return null;
  return at + 6 - section.offset + section.address + elf.bytes.readInt32LE(at + 2);
}

/** The return addresses of `call rel32` to a lock function and `call *disp32(%rip)` through a lock's GOT slot. */
function lockCallReturnAddresses(elf: Elf, targets: LockTargets): number[] {
  const found: number[] = [];
  for (const section of elf.sections) {
    if (!(section.flags & SHF_EXECINSTR) || section.type === SHT_NOBITS || PLT_SECTIONS.has(section.name)) continue;
    const code = elf.bytes.subarray(section.offset, section.offset + section.size);
    // indexOf (memchr) rather than a loop over every byte: 3-4x faster on mariadbd's 9.6 MB of code.
    for (let at = code.indexOf(0xe8); at >= 0 && at + 5 <= code.length; at = code.indexOf(0xe8, at + 1)) {
      const returnAddress = section.address + at + 5;
      if (targets.isLockFunction(returnAddress + code.readInt32LE(at + 1))) found.push(returnAddress);
    }
    for (let at = code.indexOf(CALL_RIP_INDIRECT); at >= 0 && at + 6 <= code.length; at = code.indexOf(CALL_RIP_INDIRECT, at + 1)) {
      const returnAddress = section.address + at + 6;
      if (targets.gotSlots.has(returnAddress + code.readInt32LE(at + 2))) found.push(returnAddress);
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// .eh_frame

const DW_EH_PE_omit = 0xff;
const DW_EH_PE_pcrel = 0x10;

/** A CIE, reduced to what its FDEs need. */
interface Cie {
  codeAlignment: number;
  dataAlignment: number;
  pointerEncoding: number; // 'R': how its FDEs encode pc_begin (and DW_CFA_set_loc)
  hasAugmentationData: boolean; // 'z': its FDEs carry a length-prefixed augmentation block
  initialInstructions: Buffer;
}

/** An FDE, located: its pc range and where its instructions are. */
interface Fde {
  pcBegin: number;
  pcEnd: number;
  cie: Cie;
  instructionsStart: number; // file offsets
  instructionsEnd: number;
}

/** The FDEs of .eh_frame sorted by pc, parsed once; instructions run only for the pcs asked about. */
class FrameTable {
  private readonly fdes: Fde[] = [];
  private readonly addressDelta: number; // virtual address minus file offset, in .eh_frame

  constructor(private readonly elf: Elf) {
    const section = elf.sections.find((s) => s.name === '.eh_frame' && s.type !== SHT_NOBITS);
    this.addressDelta = section ? section.address - section.offset : 0;
    if (section) this.indexFdes(section);
    this.fdes.sort((a, b) => a.pcBegin - b.pcBegin);
  }

  cfaRuleAt(address: number): CfaRule | null {
    const fde = this.fdeAt(address);
    if (!fde) return null;
    return cfaRuleAt(
      {
        codeAlignment: fde.cie.codeAlignment,
        dataAlignment: fde.cie.dataAlignment,
        initialInstructions: fde.cie.initialInstructions,
        instructions: this.elf.bytes.subarray(fde.instructionsStart, fde.instructionsEnd),
        pcBegin: fde.pcBegin,
        pointerEncoding: fde.cie.pointerEncoding,
        instructionsAddress: fde.instructionsStart + this.addressDelta,
      },
      address,
    );
  }

  private fdeAt(address: number): Fde | null {
    let low = 0;
    let high = this.fdes.length - 1;
    let found = -1; // the last FDE starting at or before address
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (this.fdes[mid].pcBegin <= address) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    const fde = this.fdes[found];
    return fde && address < fde.pcEnd ? fde : null;
  }

  private indexFdes(section: ElfSection): void {
    const cies = new Map<number, Cie | null>(); // by file offset; null: one this parser cannot use
    const end = section.offset + section.size;
    const reader = new CfiReader(this.elf.bytes, section.offset, end, this.addressDelta); // one for all entries: there are 35k in mariadbd
    try {
      while (reader.at + 4 <= end) {
        reader.end = end;
        let length = reader.u32();
        if (length === 0) break; // the terminator
        const is64 = length === 0xffffffff;
        if (is64) length = reader.u64();
        const entryEnd = reader.at + length;
        if (entryEnd > end) break;
        reader.end = entryEnd;
        const idAt = reader.at;
        const id = is64 ? reader.u64() : reader.u32();
        if (id !== 0) {
          const cieAt = idAt - id;
          if (!cies.has(cieAt)) cies.set(cieAt, cieAt >= section.offset ? this.parseCieAt(cieAt, end) : null);
          const cie = cies.get(cieAt);
          if (cie) this.addFde(reader, cie);
        }
        reader.at = entryEnd;
      }
    } catch (error) {
      if (!(error instanceof MalformedCfi)) throw error; // a length past the end: the FDEs indexed so far stay usable
    }
  }

  private parseCieAt(at: number, sectionEnd: number): Cie | null {
    try {
      const entry = new CfiReader(this.elf.bytes, at, sectionEnd, this.addressDelta);
      let length = entry.u32();
      const is64 = length === 0xffffffff;
      if (is64) length = entry.u64();
      const reader = new CfiReader(this.elf.bytes, entry.at, Math.min(entry.at + length, sectionEnd), this.addressDelta);
      if ((is64 ? reader.u64() : reader.u32()) !== 0) return null; // the FDE's CIE pointer is wrong
      return parseCie(reader);
    } catch (error) {
      if (error instanceof MalformedCfi) return null;
      throw error;
    }
  }

  /** Indexes the FDE whose body `reader` holds (past its CIE pointer), unless it is malformed: the next entry's length is known. */
  private addFde(reader: CfiReader, cie: Cie): void {
    try {
      const pcBegin = reader.pointer(cie.pointerEncoding);
      const pcRange = reader.pointer(cie.pointerEncoding & 0x0f); // a length: the format without the application
      if (cie.hasAugmentationData) reader.skip(reader.uleb());
      if (pcBegin === null || pcRange === null || pcRange <= 0) return;
      this.fdes.push({ pcBegin, pcEnd: pcBegin + pcRange, cie, instructionsStart: reader.at, instructionsEnd: reader.end });
    } catch (error) {
      if (!(error instanceof MalformedCfi)) throw error;
    }
  }
}

/** A CIE from just past its CIE id to its end. */
function parseCie(reader: CfiReader): Cie | null {
  const version = reader.u8();
  if (version !== 1 && version !== 3 && version !== 4) return null;
  const augmentation = reader.cString();
  if (augmentation.includes('eh')) reader.skip(8); // GCC 2's eh_data pointer, before 'z' existed
  if (version === 4) reader.skip(2); // address_size, segment_selector_size
  const codeAlignment = reader.uleb();
  const dataAlignment = reader.sleb();
  if (version === 1) reader.u8();
  else reader.uleb(); // the return address register
  let pointerEncoding = 0;
  const hasAugmentationData = augmentation.startsWith('z');
  if (hasAugmentationData) {
    const dataLength = reader.uleb();
    const dataEnd = reader.at + dataLength;
    for (const letter of augmentation.slice(1)) {
      if (letter === 'R') pointerEncoding = reader.u8();
      else if (letter === 'P') reader.skipPointer(reader.u8());
      else if (letter === 'L') reader.u8();
      else if (letter !== 'S' && letter !== 'B') break; // unknown, but 'z' says where its data ends
    }
    reader.at = dataEnd;
  } else if (augmentation !== '' && augmentation !== 'eh') {
    return null; // without 'z', an unknown augmentation hides where the instructions start
  }
  return { codeAlignment, dataAlignment, pointerEncoding, hasAugmentationData, initialInstructions: reader.data.subarray(reader.at, reader.end) };
}

// ---------------------------------------------------------------------------------------------
// Call frame instructions

const enum Op {
  Nop = 0x00,
  SetLoc = 0x01,
  AdvanceLoc1 = 0x02,
  AdvanceLoc2 = 0x03,
  AdvanceLoc4 = 0x04,
  OffsetExtended = 0x05,
  RestoreExtended = 0x06,
  Undefined = 0x07,
  SameValue = 0x08,
  Register = 0x09,
  RememberState = 0x0a,
  RestoreState = 0x0b,
  DefCfa = 0x0c,
  DefCfaRegister = 0x0d,
  DefCfaOffset = 0x0e,
  DefCfaExpression = 0x0f,
  Expression = 0x10,
  OffsetExtendedSf = 0x11,
  DefCfaSf = 0x12,
  DefCfaOffsetSf = 0x13,
  ValOffset = 0x14,
  ValOffsetSf = 0x15,
  ValExpression = 0x16,
  GnuWindowSave = 0x2d, // also AArch64's negate_ra_state: no operands either way
  GnuArgsSize = 0x2e,
  GnuNegativeOffsetExtended = 0x2f,
  // The high two bits, with an operand in the low six:
  AdvanceLoc = 0x40,
  Offset = 0x80,
  Restore = 0xc0,
}

/** The CFA rule in effect at `pc`, or null when the instructions cannot say (malformed, or an unknown opcode). */
export function cfaRuleAt(program: CfiProgram, pc: number): CfaRule | null {
  const state: CfaState = { location: program.pcBegin, rule: null, saved: [] };
  try {
    const cie = new CfiReader(asBuffer(program.initialInstructions));
    if (execute(cie, program, state, pc) === 'past pc') return state.rule;
    const fde = asBuffer(program.instructions);
    execute(new CfiReader(fde, 0, fde.length, program.instructionsAddress ?? 0), program, state, pc);
    return state.rule;
  } catch (error) {
    if (error instanceof MalformedCfi) return null;
    throw error;
  }
}

interface CfaState {
  location: number; // the pc the current row starts at
  rule: CfaRule | null;
  saved: (CfaRule | null)[]; // DW_CFA_remember_state's stack (of the CFA rule: the only column tracked)
}

/** Runs instructions until they end or the next row starts past `pc`. Every other column's operands are skipped. */
function execute(reader: CfiReader, program: CfiProgram, state: CfaState, pc: number): 'end' | 'past pc' {
  const advanceTo = (location: number): boolean => {
    if (location > pc) return false;
    state.location = location;
    return true;
  };
  const advanceBy = (delta: number): boolean => advanceTo(state.location + delta * program.codeAlignment);
  const setOffset = (offset: number): void => {
    state.rule = state.rule?.kind === 'register' ? { ...state.rule, offset } : null;
  };

  while (reader.at < reader.end) {
    const opcode = reader.u8();
    switch (opcode & 0xc0) {
      case Op.AdvanceLoc:
        if (!advanceBy(opcode & 0x3f)) return 'past pc';
        continue;
      case Op.Offset:
        reader.uleb();
        continue;
      case Op.Restore:
        continue;
    }
    switch (opcode) {
      case Op.Nop:
      case Op.GnuWindowSave:
        break;
      case Op.SetLoc:
        if (!advanceTo(reader.pointer(program.pointerEncoding ?? 0) ?? Infinity)) return 'past pc';
        break;
      case Op.AdvanceLoc1:
        if (!advanceBy(reader.u8())) return 'past pc';
        break;
      case Op.AdvanceLoc2:
        if (!advanceBy(reader.u16())) return 'past pc';
        break;
      case Op.AdvanceLoc4:
        if (!advanceBy(reader.u32())) return 'past pc';
        break;
      case Op.DefCfa:
        state.rule = { kind: 'register', register: reader.uleb(), offset: reader.uleb() };
        break;
      case Op.DefCfaSf:
        state.rule = { kind: 'register', register: reader.uleb(), offset: reader.sleb() * program.dataAlignment };
        break;
      case Op.DefCfaRegister: {
        const register = reader.uleb();
        state.rule = state.rule?.kind === 'register' ? { ...state.rule, register } : null;
        break;
      }
      case Op.DefCfaOffset:
        setOffset(reader.uleb());
        break;
      case Op.DefCfaOffsetSf:
        setOffset(reader.sleb() * program.dataAlignment);
        break;
      case Op.DefCfaExpression:
        reader.skip(reader.uleb());
        state.rule = { kind: 'expression' };
        break;
      case Op.RememberState:
        state.saved.push(state.rule);
        break;
      case Op.RestoreState:
        if (state.saved.length > 0) state.rule = state.saved.pop()!;
        break;
      case Op.RestoreExtended:
      case Op.Undefined:
      case Op.SameValue:
      case Op.GnuArgsSize:
        reader.uleb();
        break;
      case Op.OffsetExtended:
      case Op.Register:
      case Op.ValOffset:
      case Op.GnuNegativeOffsetExtended:
        reader.uleb();
        reader.uleb();
        break;
      case Op.OffsetExtendedSf:
      case Op.ValOffsetSf:
        reader.uleb();
        reader.sleb();
        break;
      case Op.Expression:
      case Op.ValExpression:
        reader.uleb();
        reader.skip(reader.uleb());
        break;
      default:
        throw new MalformedCfi(`unknown call frame instruction 0x${opcode.toString(16)}`);
    }
  }
  return 'end';
}

// ---------------------------------------------------------------------------------------------
// Reading

class MalformedCfi extends Error {}

/** A cursor over DWARF data that refuses to read past `end`. */
class CfiReader {
  constructor(
    readonly data: Buffer,
    public at = 0,
    public end = data.length,
    private readonly addressDelta = 0, // virtual address minus offset: where pc-relative pointers are relative to
  ) {}

  u8(): number {
    this.need(1);
    return this.data[this.at++];
  }

  u16(): number {
    this.need(2);
    return this.data.readUInt16LE((this.at += 2) - 2);
  }

  u32(): number {
    this.need(4);
    return this.data.readUInt32LE((this.at += 4) - 4);
  }

  u64(): number {
    this.need(8);
    return u64(this.data, (this.at += 8) - 8);
  }

  uleb(): number {
    return this.leb128(false);
  }

  sleb(): number {
    return this.leb128(true);
  }

  private leb128(signed: boolean): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if (!(byte & 0x80)) return signed && byte & 0x40 ? value - scale : value;
    }
  }

  cString(): string {
    const nul = this.data.indexOf(0, this.at);
    if (nul < 0 || nul >= this.end) throw new MalformedCfi('unterminated string');
    const text = this.data.toString('latin1', this.at, nul);
    this.at = nul + 1;
    return text;
  }

  skip(n: number): void {
    this.need(n);
    this.at += n;
  }

  /** A DW_EH_PE-encoded pointer: null when omitted or relative to a base this reader does not know. */
  pointer(encoding: number): number | null {
    if (encoding === DW_EH_PE_omit) return null;
    const fieldAddress = this.at + this.addressDelta;
    const value = this.pointerValue(encoding & 0x0f);
    switch (encoding & 0x70) {
      case 0:
        return value;
      case DW_EH_PE_pcrel:
        return value + fieldAddress;
      default:
        return null; // textrel, datarel, funcrel, aligned: not used by x86-64 toolchains in .eh_frame
    }
  }

  /** Skips a pointer whose value is not needed (a personality routine's). */
  skipPointer(encoding: number): void {
    if (encoding !== DW_EH_PE_omit) this.pointerValue(encoding & 0x0f);
  }

  private pointerValue(format: number): number {
    switch (format) {
      case 0x00: // absptr: an address, 8 bytes on x86-64
      case 0x04: // udata8
        return this.u64();
      case 0x01:
        return this.uleb();
      case 0x02:
        return this.u16();
      case 0x03:
        return this.u32();
      case 0x09:
        return this.sleb();
      case 0x0a:
        this.need(2);
        return this.data.readInt16LE((this.at += 2) - 2);
      case 0x0b:
        this.need(4);
        return this.data.readInt32LE((this.at += 4) - 4);
      case 0x0c:
        this.need(8);
        return Number(this.data.readBigInt64LE((this.at += 8) - 8));
      default:
        throw new MalformedCfi(`unknown pointer format 0x${format.toString(16)}`);
    }
  }

  private need(n: number): void {
    if (this.at + n > this.end) throw new MalformedCfi('truncated');
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}


