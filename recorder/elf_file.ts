import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/**
 * A 64-bit little-endian ELF file read in part: `bytes` is as long as the file, and holds its
 * bytes at their offsets only where they were read (the headers, then what fill() asks for); the
 * rest stays zero, never read (pages the kernel maps only when written). The readers take what
 * they parse and no more: a 26 MB server binary needs ~2 MB for its symbols (recorder/elf.ts),
 * ~13 MB for its code and .eh_frame (recorder/callsite_cfa.ts).
 */
export interface ElfSection {
  name: string;
  type: number;
  flags: number;
  address: number; // virtual address
  offset: number; // in the file
  size: number;
  link: number;
  entsize: number;
}

export interface ElfProgramHeader {
  type: number;
  offset: number;
  address: number; // virtual address
  fileSize: number;
  memSize: number;
}

export const SHT_SYMTAB = 2;
export const SHT_RELA = 4;
export const SHT_DYNAMIC = 6;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;
export const SHT_GNU_VERSYM = 0x6fffffff;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;
export const PT_LOAD = 1;
export const PT_INTERP = 3;

export class SparseElf {
  readonly bytes: Buffer;
  readonly sections: ElfSection[];
  readonly programHeaders: ElfProgramHeader[];
  private readonly fd: number;

  /** Reads the headers (ELF, program, section, and the section names); throws for what is not a 64-bit little-endian ELF file. */
  static open(path: string): SparseElf {
    const fd = openSync(path, 'r');
    try {
      return new SparseElf(path, fd);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  private constructor(path: string, fd: number) {
    this.fd = fd;
    this.bytes = Buffer.alloc(fstatSync(fd).size);
    const b = this.bytes;
    this.fill(0, 64);
    if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path} is not an ELF file`);
    if (b[4] !== 2 || b[5] !== 1) throw new Error(`${path} is not a 64-bit little-endian ELF file`);
    this.fill(u64(b, 0x20), b.readUInt16LE(0x36) * b.readUInt16LE(0x38));
    const sectionsAt = u64(b, 0x28);
    const sectionSize = b.readUInt16LE(0x3a);
    const sectionCount = b.readUInt16LE(0x3c);
    const namesIndex = b.readUInt16LE(0x3e);
    this.fill(sectionsAt, sectionSize * sectionCount);
    const namesHeader = sectionsAt + namesIndex * sectionSize;
    if (namesIndex < sectionCount && namesHeader + 0x28 <= b.length) this.fill(u64(b, namesHeader + 0x18), u64(b, namesHeader + 0x20));
    this.programHeaders = readProgramHeaders(b);
    this.sections = readSections(b);
  }

  /** Reads [offset, offset + length) of the file into `bytes` (clipped to the file). */
  fill(offset: number, length: number): void {
    const end = Math.min(offset + length, this.bytes.length);
    for (let at = offset; at < end; ) {
      const n = readSync(this.fd, this.bytes, at, end - at, at);
      if (n === 0) break;
      at += n;
    }
  }

  fillSection(section: ElfSection | undefined): void {
    if (section && section.type !== SHT_NOBITS) this.fill(section.offset, section.size);
  }

  /** The load segments (PT_LOAD). */
  get segments(): ElfProgramHeader[] {
    return this.programHeaders.filter((p) => p.type === PT_LOAD);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** The file offset of a virtual address in the file's data of a load segment, or null. */
export function fileOffsetOf(segments: ElfProgramHeader[], address: number): number | null {
  const segment = segments.find((s) => s.type === PT_LOAD && address >= s.address && address < s.address + s.fileSize);
  return segment ? address - segment.address + segment.offset : null;
}

/** Opens path, lets `read` take what it parses, and closes the file whatever happens. */
export function readSparseElf<T>(path: string, read: (elf: SparseElf) => T): T {
  const elf = SparseElf.open(path);
  try {
    return read(elf);
  } finally {
    elf.close();
  }
}

function readProgramHeaders(b: Buffer): ElfProgramHeader[] {
  const tableAt = u64(b, 0x20);
  const entrySize = b.readUInt16LE(0x36);
  const count = b.readUInt16LE(0x38);
  const headers: ElfProgramHeader[] = [];
  for (let i = 0; i < count; i++) {
    const at = tableAt + i * entrySize;
    if (at + 0x38 > b.length) break;
    headers.push({ type: b.readUInt32LE(at), offset: u64(b, at + 8), address: u64(b, at + 0x10), fileSize: u64(b, at + 0x20), memSize: u64(b, at + 0x28) });
  }
  return headers;
}

function readSections(b: Buffer): ElfSection[] {
  const tableAt = u64(b, 0x28);
  const entrySize = b.readUInt16LE(0x3a);
  const count = b.readUInt16LE(0x3c);
  const namesIndex = b.readUInt16LE(0x3e);
  const sections: ElfSection[] = [];
  const nameOffsets: number[] = [];
  for (let i = 0; i < count; i++) {
    const at = tableAt + i * entrySize;
    if (at + 64 > b.length) break;
    nameOffsets.push(b.readUInt32LE(at));
    sections.push({
      name: '',
      type: b.readUInt32LE(at + 4),
      flags: u64(b, at + 8),
      address: u64(b, at + 0x10),
      offset: u64(b, at + 0x18),
      size: u64(b, at + 0x20),
      link: b.readUInt32LE(at + 0x28),
      entsize: u64(b, at + 0x38),
    });
  }
  const names = sections[namesIndex];
  if (names) sections.forEach((s, i) => (s.name = cString(b, names.offset + nameOffsets[i])));
  // a truncated file: its sections past the end are kept (links are by index), empty
  for (const s of sections) if (s.type !== SHT_NOBITS && s.offset + s.size > b.length) s.size = 0;
  return sections;
}

/** A 64-bit field as a number (BigInt-free: readers run it for every symbol); exact below 2^53. */
export function u64(data: Buffer, at: number): number {
  return data.readUInt32LE(at) + data.readUInt32LE(at + 4) * 0x1_0000_0000;
}

export function cString(data: Buffer, at: number): string {
  const end = data.indexOf(0, at);
  return data.toString('latin1', at, end < 0 ? data.length : end);
}
