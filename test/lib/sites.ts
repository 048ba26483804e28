import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';

/**
 * The function of `binary` a call-site name points into, whichever way the analyzer named it:
 * "take_a_then_b+0x1c" (a symbol resolved at record time) or "order+0x136c" (object + file offset,
 * resolved here through the program headers and `nm -S` sizes). null when it is in neither.
 */
export function functionOfSite(binary: string, site: string): string | null {
  const m = /^(.+)\+0x([0-9a-f]+)$/.exec(site);
  if (!m) return null;
  if (m[1] !== basename(binary)) return m[1];
  const vaddr = fileOffsetToVaddr(binary, parseInt(m[2], 16));
  if (vaddr === null) return null;
  for (const line of execFileSync('nm', ['-S', '--defined-only', binary], { encoding: 'utf8' }).split('\n')) {
    const [start, size, type, name] = line.trim().split(/\s+/);
    if (!name || !/^[tT]$/.test(type)) continue;
    const from = parseInt(start, 16);
    if (vaddr >= from && vaddr < from + parseInt(size, 16)) return name;
  }
  return null;
}

function fileOffsetToVaddr(binary: string, offset: number): number | null {
  for (const line of execFileSync('readelf', ['-lW', binary], { encoding: 'utf8' }).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'LOAD') continue;
    const [fileOffset, vaddr, , fileSize] = [f[1], f[2], f[3], f[4]].map((x) => parseInt(x, 16));
    if (offset >= fileOffset && offset < fileOffset + fileSize) return vaddr + (offset - fileOffset);
  }
  return null;
}
