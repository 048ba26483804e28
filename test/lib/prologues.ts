/**
 * The first bytes of each function mutex-rec probes, as hex: what test/probe_offsets.test.ts
 * decodes for C libraries this machine does not have.
 *   node dist/test/lib/prologues.js LIBC_PATH > lines   (one "symbol hex" line per function)
 * and the fixture file (test/fixtures/glibc-prologues.txt) reads them back.
 */
import { readFileSync } from 'node:fs';

import { findFunction, readElf, readFunctionCode } from '../../recorder/elf';
import { PROBED_SYMBOLS } from '../../recorder/probes';

export const PROLOGUE_BYTES = 64;
export const PROBED_FUNCTIONS = PROBED_SYMBOLS;

/** symbol -> its first PROLOGUE_BYTES bytes (fewer when the function is shorter). */
export function extractPrologues(path: string): Map<string, Buffer> {
  const elf = readElf(path);
  const out = new Map<string, Buffer>();
  for (const name of PROBED_FUNCTIONS) {
    const sym = findFunction(elf, name);
    if (sym) out.set(name, readFunctionCode(elf, sym).subarray(0, PROLOGUE_BYTES));
  }
  return out;
}

/** A fixture file: `[package version]` sections of `symbol hex` lines; `#` starts a comment. */
export function readPrologueFixture(path: string): Map<string, Map<string, Buffer>> {
  const sections = new Map<string, Map<string, Buffer>>();
  let current: Map<string, Buffer> | null = null;
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) sections.set(header[1], (current = new Map()));
    else if (current) {
      const [name, hex] = line.split(/\s+/);
      current.set(name, Buffer.from(hex, 'hex'));
    }
  }
  return sections;
}

if (require.main === module) {
  const path = process.argv[2];
  if (!path) throw new Error('usage: node dist/test/lib/prologues.js LIBC_PATH');
  for (const [name, code] of extractPrologues(path)) process.stdout.write(`${name} ${code.toString('hex')}\n`);
}
