/** A file-backed memory mapping of the target: [start, end) maps the file from offset on. */
export interface FileMapping {
  start: number;
  end: number;
  offset: number;
  path: string;
}

/** The mapping holding address, by binary search of mappings sorted by start; null if none. */
export function findMapping<M extends FileMapping>(sortedByStart: M[], address: number): M | null {
  let lo = 0;
  let hi = sortedByStart.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = sortedByStart[mid];
    if (address < m.start) hi = mid - 1;
    else if (address >= m.end) lo = mid + 1;
    else return m;
  }
  return null;
}
