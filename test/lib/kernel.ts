import { readFileSync } from 'node:fs';

/** The module's own measurement lines (mutex_origin: hold/wait ...), from a dmesg excerpt. */
export interface ModuleLine {
  kind: 'hold' | 'wait';
  tid: number;
  lock: number; // signed, as the run file stores kernel addresses
  name: string;
  requestNs?: bigint;
  acquiredNs: bigint;
  releasedNs?: bigint;
  ns: number; // hold_ns or wait_ns
}

export function moduleLines(path: string): ModuleLine[] {
  const out: ModuleLine[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /mutex_origin: (hold|wait) (.*)$/.exec(line);
    if (!m) continue;
    const f = Object.fromEntries(m[2].split(' ').map((kv) => kv.split('=') as [string, string]));
    out.push({
      kind: m[1] as 'hold' | 'wait',
      tid: Number(f.tid),
      lock: Number(BigInt.asIntN(64, BigInt(`0x${f.lock}`))),
      name: f.name,
      requestNs: f.request_ns ? BigInt(f.request_ns) : undefined,
      acquiredNs: BigInt(f.acquired_ns),
      releasedNs: f.released_ns ? BigInt(f.released_ns) : undefined,
      ns: Number(m[1] === 'hold' ? f.hold_ns : f.wait_ns),
    });
  }
  return out;
}
