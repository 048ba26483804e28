import { closeSync, openSync, readSync, fstatSync } from 'node:fs';

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

const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_DYNSYM = 11;
const SHT_GNU_VERSYM = 0x6fffffff;
const PT_LOAD = 1;
const PT_INTERP = 3;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const NT_GNU_BUILD_ID = 3;
const VERSYM_HIDDEN = 0x8000;

interface Section {
  name: string;
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

interface LoadSegment {
  vaddr: number;
  offset: number;
  filesz: number;
  memsz: number;
}

/** Reads the symbols of a 64-bit little-endian ELF file (x86-64, aarch64). */
export function readElf(path: string): ElfObject {
  const bytes = readNeeded(path);
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path} is not an ELF file`);
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new Error(`${path} is not a 64-bit little-endian ELF file`);

  const sections = readSections(bytes);
  const segments = readLoadSegments(bytes);
  const toFileOffset = (vaddr: number): number => {
    const seg = segments.find((s) => vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz);
    return seg ? vaddr - seg.vaddr + seg.offset : vaddr;
  };

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
      const seg = segments.find((s) => fileOffset >= s.offset && fileOffset < s.offset + s.memsz);
      return seg ? fileOffset - seg.offset + seg.vaddr : null;
    },
    interpreter: readInterpreter(bytes),
    hasSymtab: sections.some((s) => s.type === SHT_SYMTAB),
    debugLink: readDebugLink(bytes, sections),
    sections: sections.map((s) => s.name),
    comment: readComment(bytes, sections),
  };
}

/** The .comment section: NUL-separated strings such as "GCC: (Debian 12.2.0-14) 12.2.0" or "rustc version 1.63.0". */
function readComment(data: Buffer, sections: Section[]): string {
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

/**
 * The file's bytes that readElf uses, at their offsets (headers, symbol and string tables, notes,
 * .comment, .gnu_debuglink, the interpreter's name); the rest stays zero, never read or touched.
 * A 26 MB server binary is ~2 MB of them: reading all of it cost ~140 ms and its page faults.
 */
function readNeeded(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const data = Buffer.alloc(fstatSync(fd).size); // zero pages the kernel maps only when written
    const fill = (offset: number, length: number): void => {
      const end = Math.min(offset + length, data.length);
      for (let at = offset; at < end; ) {
        const n = readSync(fd, data, at, end - at, at);
        if (n === 0) break;
        at += n;
      }
    };
    fill(0, 64);
    if (data.length < 64 || data.readUInt32BE(0) !== 0x7f454c46 || data[4] !== 2 || data[5] !== 1) return data; // readElf says what it is not
    fill(u64(data, 0x20), data.readUInt16LE(0x36) * data.readUInt16LE(0x38));
    const shoff = u64(data, 0x28);
    const shentsize = data.readUInt16LE(0x3a);
    const shnum = data.readUInt16LE(0x3c);
    fill(shoff, shentsize * shnum);
    const shstrndx = data.readUInt16LE(0x3e);
    const shstrAt = shoff + shstrndx * shentsize;
    if (shstrndx < shnum && shstrAt + 64 <= data.length) fill(u64(data, shstrAt + 0x18), u64(data, shstrAt + 0x20));
    const sections = readSections(data);
    for (const s of sections) {
      const symbols = s.type === SHT_SYMTAB || s.type === SHT_DYNSYM;
      if (symbols || s.type === SHT_GNU_VERSYM || s.type === SHT_NOTE || s.name === '.comment' || s.name === '.gnu_debuglink') fill(s.offset, s.size);
      if (symbols && sections[s.link]) fill(sections[s.link].offset, sections[s.link].size);
    }
    const interp = interpreterRange(data);
    if (interp) fill(interp.offset, interp.size);
    return data;
  } finally {
    closeSync(fd);
  }
}

function readSections(data: Buffer): Section[] {
  const shoff = Number(data.readBigUInt64LE(0x28));
  const shentsize = data.readUInt16LE(0x3a);
  const shnum = data.readUInt16LE(0x3c);
  const shstrndx = data.readUInt16LE(0x3e);
  const raw = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    if (at + 64 > data.length) break;
    raw.push({
      nameOffset: data.readUInt32LE(at),
      type: data.readUInt32LE(at + 4),
      offset: Number(data.readBigUInt64LE(at + 0x18)),
      size: Number(data.readBigUInt64LE(at + 0x20)),
      link: data.readUInt32LE(at + 0x28),
      entsize: Number(data.readBigUInt64LE(at + 0x38)),
    });
  }
  const names = raw[shstrndx];
  return raw.map((s) => ({ ...s, name: names ? cString(data, names.offset + s.nameOffset) : '' }));
}

function readLoadSegments(data: Buffer): LoadSegment[] {
  const phoff = Number(data.readBigUInt64LE(0x20));
  const phentsize = data.readUInt16LE(0x36);
  const phnum = data.readUInt16LE(0x38);
  const segments: LoadSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (data.readUInt32LE(at) !== PT_LOAD) continue;
    segments.push({
      offset: Number(data.readBigUInt64LE(at + 8)),
      vaddr: Number(data.readBigUInt64LE(at + 0x10)),
      filesz: Number(data.readBigUInt64LE(at + 0x20)),
      memsz: Number(data.readBigUInt64LE(at + 0x28)),
    });
  }
  return segments;
}

/** PT_INTERP's bytes in the file: where an executable names its dynamic loader. */
function interpreterRange(data: Buffer): { offset: number; size: number } | null {
  const phoff = u64(data, 0x20);
  const phentsize = data.readUInt16LE(0x36);
  const phnum = data.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 0x28 <= data.length && data.readUInt32LE(at) === PT_INTERP) return { offset: u64(data, at + 8), size: u64(data, at + 0x20) };
  }
  return null;
}

function readInterpreter(data: Buffer): string | null {
  const range = interpreterRange(data);
  return range ? cString(data, range.offset) : null;
}

function readBuildId(data: Buffer, sections: Section[]): string | null {
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
function readDebugLink(data: Buffer, sections: Section[]): { file: string; crc: number } | null {
  const link = sections.find((s) => s.name === '.gnu_debuglink');
  if (!link || link.size < 8) return null;
  const file = cString(data, link.offset);
  const crcAt = link.offset + align4(file.length + 1);
  if (file === '' || crcAt + 4 > link.offset + link.size) return null;
  return { file, crc: data.readUInt32LE(crcAt) };
}

/** A 64-bit field as a number (BigInt-free: this runs for every symbol); exact below 2^53. */
function u64(data: Buffer, at: number): number {
  return data.readUInt32LE(at) + data.readUInt32LE(at + 4) * 0x1_0000_0000;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function cString(data: Buffer, at: number): string {
  const end = data.indexOf(0, at);
  return data.toString('latin1', at, end < 0 ? data.length : end);
}
