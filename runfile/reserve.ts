import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/** Linux's O_TMPFILE (with O_DIRECTORY), which Node does not export: a file with no name at all. */
const O_TMPFILE = 0o20200000;

/** Enough for the stop's header transaction: a few 16 KiB pages (the run row, its overflow) and their WAL frames. */
export const RESERVE_BYTES = 256 * 1024;

/**
 * Disk space held on the run file's device, given back when the recording stops, so that the
 * header (end reason, counts) still fits when the recording filled the disk. The space is a file
 * without a name (O_TMPFILE, else created and unlinked at once): nothing is left behind, even if
 * the recorder is killed. None when the device has not even that much free: the recording stops
 * on the full disk before anything else.
 */
export class SpaceReserve {
  private constructor(private fd: number | null) {}

  static create(dir: string, bytes = RESERVE_BYTES): SpaceReserve {
    let fd: number;
    try {
      fd = openSync(dir, O_TMPFILE | 0o2 /* O_RDWR */, 0o600);
    } catch {
      const path = join(dir, `.mutex-rec-reserve-${randomBytes(6).toString('hex')}`);
      try {
        fd = openSync(path, 'wx', 0o600);
        unlinkSync(path);
      } catch {
        return new SpaceReserve(null);
      }
    }
    try {
      const zeros = Buffer.alloc(64 * 1024);
      for (let written = 0; written < bytes; ) written += writeSync(fd, zeros, 0, Math.min(zeros.length, bytes - written));
    } catch {
      closeSync(fd);
      return new SpaceReserve(null);
    }
    return new SpaceReserve(fd);
  }

  release(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}
