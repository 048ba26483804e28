import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { UserError } from '../core/errors';

const CHUNK_CHARS = 1 << 16;

/** The reader of stdout went away (`| head`): the analysis ends quietly (analyzer/cli.ts). */
export class ClosedPipe extends Error {
  constructor() {
    super('stdout closed');
  }
}

/**
 * Writes to stdout synchronously, so a closed pipe is known at once (EPIPE, ECONNRESET: ClosedPipe) rather
 * than after the whole analysis, as an 'error' event with a stack trace.
 */
export function writeStdout(data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  for (let at = 0; at < bytes.length; ) {
    try {
      at += writeSync(1, bytes, at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // a socket as stdout (a parent's stdio 'pipe' is a socketpair) closed with data unread: ECONNRESET
      if (code === 'EPIPE' || code === 'ECONNRESET') throw new ClosedPipe();
      if (code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); // a non-blocking stdout is full
    }
  }
}

/** Outputs other than text tables (JSON, CSV, exports) carry the data: their run's notes (contention
 * mode) and warnings go to stderr. */
export function warnOnStderr(warnings: readonly string[], notes: readonly string[] = []): void {
  for (const n of notes) process.stderr.write(`mutex-analyze: ${n}\n`);
  for (const w of warnings) process.stderr.write(`mutex-analyze: WARNING: ${w}\n`);
}

/**
 * Text written in large chunks to stdout or to a file. A file is written under a temporary name
 * (random, created exclusively in the file's directory: never a planted link or file) and renamed
 * when complete, so a failed export leaves nothing behind. Writes are synchronous, so memory stays
 * bounded whatever the size.
 */
export class TextOutput {
  private buffer: string[] = [];
  private buffered = 0;

  private constructor(
    private readonly fd: number | null, // null: stdout
    private readonly path: string | null,
    private readonly tmpPath: string | null,
  ) {}

  /** stdout when path is undefined or '-'. */
  static open(path: string | undefined): TextOutput {
    if (path === undefined || path === '-') return new TextOutput(null, null, null);
    let isDirectory = false;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      // a new file
    }
    if (isDirectory) throw new UserError(`${path} is a directory: give a file name with -o`);
    const tmpPath = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const fd = openSync(tmpPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
      return new TextOutput(fd, path, tmpPath);
    } catch (err) {
      throw new UserError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}: give a writable path with -o`);
    }
  }

  write(text: string): void {
    this.buffer.push(text);
    this.buffered += text.length;
    if (this.buffered >= CHUNK_CHARS) this.flush();
  }

  /** Binary data (a gzipped profile), after the text written so far. */
  writeBytes(bytes: Uint8Array): void {
    this.flush();
    if (this.fd === null) writeStdout(bytes);
    else writeSync(this.fd, bytes);
  }

  /** Flushes and, for a file, puts it in place. */
  close(): void {
    this.flush();
    if (this.fd === null) return;
    closeSync(this.fd);
    try {
      renameSync(this.tmpPath!, this.path!);
    } catch (err) {
      unlinkSync(this.tmpPath!);
      throw new UserError(`cannot write ${this.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}: give a writable file path with -o`);
    }
  }

  /** Drops a file that was not completed. */
  abort(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    unlinkSync(this.tmpPath!);
  }

  private flush(): void {
    if (this.buffered === 0) return;
    const text = this.buffer.join('');
    this.buffer = [];
    this.buffered = 0;
    if (this.fd === null) writeStdout(text);
    else writeSync(this.fd, text);
  }
}
