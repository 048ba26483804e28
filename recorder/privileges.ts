import { readFileSync } from 'node:fs';

import { UserError } from '../core/errors';

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** Loading BPF programs and attaching uprobes needs CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON. */
export function checkPrivileges(): void {
  const status = readFileSync('/proc/self/status', 'utf8');
  const hex = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0';
  const caps = BigInt(`0x${hex}`);
  const has = (cap: bigint): boolean => ((caps >> cap) & 1n) === 1n;
  if (has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) return;
  throw new UserError('recording needs root (or CAP_BPF and CAP_PERFMON): run it with sudo');
}
