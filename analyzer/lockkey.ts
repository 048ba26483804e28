import { RWLOCK_READ, RWLOCK_WRITE, SPIN, formatAddress } from '../core/events';

/**
 * The key of a lock's row: its address, except that a pthread rwlock is two rows, its read side
 * (pthread_rwlock:R: shared holds, one per reader) and its write side (pthread_rwlock:W), whose
 * waits and holds mean different things. The read side's key is its address moved past every
 * canonical x86-64 address (user addresses are below 2^47), still an exact double.
 */
const READ_SIDE = 2 ** 50;

export function lockRowKey(lock: number, kind: string): number {
  return kind === RWLOCK_READ && lock >= 0 && lock < READ_SIDE ? lock + READ_SIDE : lock;
}

/** The lock address of a row key. */
export function rowLock(key: number): number {
  return key >= READ_SIDE ? key - READ_SIDE : key;
}

/** An rwlock row's side, from its kind: 'R', 'W', or null for any other lock. */
export function rwMode(kind: string): 'R' | 'W' | null {
  return kind === RWLOCK_READ ? 'R' : kind === RWLOCK_WRITE ? 'W' : null;
}

/** A row's key as shown: the address, with `:R` or `:W` for the sides of an rwlock. */
export function rowKeyText(key: number, kind: string): string {
  const mode = rwMode(kind);
  return mode ? `${formatAddress(rowLock(key))}:${mode}` : formatAddress(rowLock(key));
}

/** What a lock class is called after: `mutex@SITE`, `rwlock@SITE`, `spin@SITE`, `cond@SITE`. */
export function classPrefix(kind: string): string {
  if (kind.startsWith('pthread_rwlock')) return 'rwlock';
  if (kind === SPIN) return 'spin';
  if (kind === 'pthread_cond') return 'cond';
  return 'mutex';
}
