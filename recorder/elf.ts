import { closeSync, openSync, readSync } from 'node:fs';

import { cString, fileOffsetOf, PT_INTERP, readSparseElf, SHT_DYNSYM, SHT_GNU_VERSYM, SHT_NOTE, SHT_SYMTAB, u64, type ElfProgramHeader, type ElfSection, type SparseElf } from './elf_file';

/** A function symbol an uprobe can be placed on. */
export interface FunctionSymbol {
  name: string;
  address: number; // virtual address in the object
  fileOffset: number; // where uprobes want it
  size: number;
  isDefaultVersion: boolean; // false for hidden versions such as pthread_cond_wait@GLIBC_2.2.5
}

/** A defined data object (a global or static variable). */
export interface DataSymbol {
  name: string;
  address: number;
  size: number;
}

export interface ElfObject {
  path: string;
  buildId: string | null;
  functions: FunctionSymbol[]; // defined STT_FUNC/STT_GNU_IFUNC symbols, .symtab and .dynsym
  data: DataSymbol[]; // defined STT_OBJECT symbols
  /** Virtual address (as symbols give it) of a file offset; past the file data, into .bss. */
  addressOfOffset(fileOffset: number): number | null;
  interpreter: string | null; // PT_INTERP: the dynamic loader of an executable
  hasSymtab: boolean; // a .symtab (the full symbol table): false for a stripped object, which has .dynsym only
  debugLink: { file: string; crc: number } | null; // .gnu_debuglink: the separate debug file's name and CRC-32
  sections: string[]; // section names (.note.go.buildid, .comment, ...)
  comment: string; // the .comment section's strings (compiler versions), joined by newlines
}

const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const NT_GNU_BUILD_ID = 3;
const VERSYM_HIDDEN = 0x8000;

/** Reads the symbols of a 64-bit little-endian ELF file (x86-64, aarch64). */
export function readElf(path: string): ElfObject {
  return readSparseElf(path, (elf) => {
    readNeeded(elf);
    return parse(path, elf);
  });
}

/**
 * What readElf parses, read from the file: symbol and string tables, version symbols, notes,
 * .comment, .gnu_debuglink, the interpreter's name (a 26 MB server binary: ~2 MB of it).
 */
function readNeeded(elf: SparseElf): void {
  for (const s of elf.sections) {
    const symbols = s.type === SHT_SYMTAB || s.type === SHT_DYNSYM;
    if (symbols || s.type === SHT_GNU_VERSYM || s.type === SHT_NOTE || s.name === '.comment' || s.name === '.gnu_debuglink') elf.fillSection(s);
    if (symbols) elf.fillSection(elf.sections[s.link]);
  }
  const interp = interpreterHeader(elf.programHeaders);
  if (interp) elf.fill(interp.offset, interp.fileSize);
}

function parse(path: string, elf: SparseElf): ElfObject {
  const { bytes, sections } = elf;
  const segments = elf.segments;
  const toFileOffset = (vaddr: number): number => fileOffsetOf(segments, vaddr) ?? vaddr;

  const functions: FunctionSymbol[] = [];
  const data: DataSymbol[] = [];
  const seen = new Set<string>(); // a function under several versions, or in .symtab and .dynsym, once
  for (const table of sections.filter((s) => s.type === SHT_DYNSYM || s.type === SHT_SYMTAB)) {
    const strings = sections[table.link];
    const versym = table.type === SHT_DYNSYM ? sections.find((s) => s.type === SHT_GNU_VERSYM) : undefined;
    const count = Math.floor(table.size / (table.entsize || 24));
    for (let i = 1; i < count; i++) {
      const at = table.offset + i * 24;
      const nameOffset = bytes.readUInt32LE(at);
      const info = bytes[at + 4];
      const sectionIndex = bytes.readUInt16LE(at + 6);
      const address = u64(bytes, at + 8);
      const size = u64(bytes, at + 16);
      const type = info & 0xf;
      if (sectionIndex === 0 || address === 0) continue;
      if (type === STT_OBJECT) {
        data.push({ name: cString(bytes, strings.offset + nameOffset), address, size });
        continue;
      }
      if (type !== STT_FUNC && type !== STT_GNU_IFUNC) continue;
      const name = cString(bytes, strings.offset + nameOffset);
      const hidden = versym ? (bytes.readUInt16LE(versym.offset + i * 2) & VERSYM_HIDDEN) !== 0 : false;
      const key = `${name}@${address}`;
      if (seen.has(key)) continue;
      seen.add(key);
      functions.push({ name, address, fileOffset: toFileOffset(address), size, isDefaultVersion: !hidden });
    }
  }
  return {
    path,
    buildId: readBuildId(bytes, sections),
    functions,
    data,
    addressOfOffset(fileOffset: number): number | null {
      const seg = segments.find((s) => fileOffset >= s.offset && fileOffset < s.offset + s.memSize);
      return seg ? fileOffset - seg.offset + seg.address : null;
    },
    interpreter: readInterpreter(elf),
    hasSymtab: sections.some((s) => s.type === SHT_SYMTAB),
    debugLink: readDebugLink(bytes, sections),
    sections: sections.map((s) => s.name),
    comment: readComment(bytes, sections),
  };
}

/** The .comment section: NUL-separated strings such as "GCC: (Debian 12.2.0-14) 12.2.0" or "rustc version 1.63.0". */
function readComment(data: Buffer, sections: ElfSection[]): string {
  const s = sections.find((x) => x.name === '.comment');
  if (!s || s.offset + s.size > data.length) return '';
  return data
    .subarray(s.offset, s.offset + Math.min(s.size, 4096))
    .toString('latin1')
    .split('\0')
    .filter(Boolean)
    .join('\n');
}

/** The default-version definition of a function (pthread_cond_wait@@GLIBC_2.3.2, not @GLIBC_2.2.5). */
export function findFunction(elf: ElfObject, name: string): FunctionSymbol | undefined {
  const candidates = elf.functions.filter((f) => f.name === name);
  return candidates.find((f) => f.isDefaultVersion) ?? candidates[0];
}

/** A function's code as the file holds it (its symbol's size; `fallback` bytes when that is 0). */
export function readFunctionCode(elf: ElfObject, sym: FunctionSymbol, fallback = 64): Buffer {
  const fd = openSync(elf.path, 'r');
  try {
    const code = Buffer.alloc(sym.size > 0 ? sym.size : fallback);
    return code.subarray(0, readSync(fd, code, 0, code.length, sym.fileOffset));
  } finally {
    closeSync(fd);
  }
}

/** PT_INTERP: where an executable names its dynamic loader. */
function interpreterHeader(headers: ElfProgramHeader[]): ElfProgramHeader | undefined {
  return headers.find((h) => h.type === PT_INTERP);
}

function readInterpreter(elf: SparseElf): string | null {
  const interp = interpreterHeader(elf.programHeaders);
  return interp ? cString(elf.bytes, interp.offset) : null;
}

function readBuildId(data: Buffer, sections: ElfSection[]): string | null {
  for (const note of sections.filter((s) => s.type === SHT_NOTE)) {
    let at = note.offset;
    const end = note.offset + note.size;
    while (at + 12 <= end) {
      const nameSize = data.readUInt32LE(at);
      const descSize = data.readUInt32LE(at + 4);
      const type = data.readUInt32LE(at + 8);
      const nameAt = at + 12;
      const descAt = nameAt + align4(nameSize);
      if (type === NT_GNU_BUILD_ID && cString(data, nameAt) === 'GNU') {
        return data.subarray(descAt, descAt + descSize).toString('hex');
      }
      at = descAt + align4(descSize);
    }
  }
  return null;
}

/** .gnu_debuglink: a NUL-terminated file name, padded to 4 bytes, then the debug file's CRC-32. */
function readDebugLink(data: Buffer, sections: ElfSection[]): { file: string; crc: number } | null {
  const link = sections.find((s) => s.name === '.gnu_debuglink');
  if (!link || link.size < 8) return null;
  const file = cString(data, link.offset);
  const crcAt = link.offset + align4(file.length + 1);
  if (file === '' || crcAt + 4 > link.offset + link.size) return null;
  return { file, crc: data.readUInt32LE(crcAt) };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

