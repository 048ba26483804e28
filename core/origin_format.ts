import type { Acquisition } from './join';
import { formatAddress } from './events';

/**
 * One acquisition per line in the design origin's format: pid, comm, the three stage times
 * (mutex_acq_time = request, mutex_lock_time = acquired, mutex_unlock_time = released, µs since
 * the run start), then acq_time (wait) and hold_time in µs. Nanosecond precision is kept.
 */
export const ORIGIN_HEADER =
  'PID     TID     COMM             LOCK                MUTEX_ACQ_TIME   MUTEX_LOCK_TIME  MUTEX_UNLOCK_TIME  ACQ_TIME(us)   HOLD_TIME(us)';

export function originLine(a: Acquisition, comm: string): string {
  const wait = a.wait === null ? '-' : micros(a.wait);
  return [
    String(a.pid).padEnd(7),
    String(a.tid).padEnd(7),
    comm.padEnd(16),
    formatAddress(a.lock).padEnd(19),
    micros(a.requestTs).padStart(16),
    micros(a.acquiredTs).padStart(16),
    (a.releasedTs === null ? '-' : micros(a.releasedTs)).padStart(17),
    wait.padStart(13),
    (a.hold === null ? '-' : micros(a.hold)).padStart(15),
  ].join(' ');
}

function micros(ns: number): string {
  return (ns / 1000).toFixed(3);
}
