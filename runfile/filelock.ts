import { readFileSync, statSync } from 'node:fs';

/**
 * The mutex-rec writing a run file: the process holding the flock on its -wal (runfile/create.ts)
 * until it has finished it. The lock is on the -wal, not the database: on NFS and 9p the kernel
 * turns flock into a whole-file POSIX lock, which would conflict with SQLite's own byte-range
 * locks on the database; SQLite never locks the -wal.
 */
export function recorderOf(runPath: string): number | null {
  return flockHolder(runPath + '-wal');
}

/** The process holding an exclusive flock on a file, from /proc/locks. Null when none (or the file is gone). */
function flockHolder(path: string): number | null {
  let dev: number;
  let ino: number;
  let locks: string;
  try {
    const st = statSync(path);
    dev = st.dev;
    ino = st.ino;
    locks = readFileSync('/proc/locks', 'utf8');
  } catch {
    return null;
  }
  // glibc's dev_t encoding; /proc/locks prints MAJOR:MINOR in hex, then the inode.
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00);
  const id = `${hex(major)}:${hex(minor)}:${ino}`;
  for (const line of locks.split('\n')) {
    // 1: FLOCK  ADVISORY  WRITE 4242 00:2f:1234 0 EOF   (a "->" line is a waiter, not a holder)
    const f = line.trim().split(/\s+/);
    if (f[1] === 'FLOCK' && f[3] === 'WRITE' && f[5] === id) return Number(f[4]);
  }
  return null;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
