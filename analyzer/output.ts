import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';

import { UserError } from '../core/errors';

const CHUNK_CHARS = 1 << 16;

/**
 * Text written in large chunks to stdout or to a file. A file is written under a temporary name
 * and renamed when complete, so a failed export leaves no truncated file behind. Writes are
 * synchronous (as process.stdout is on Linux), so memory stays bounded whatever the size.
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
    const tmpPath = `${path}.tmp-${process.pid}`;
    try {
      return new TextOutput(openSync(tmpPath, 'w'), path, tmpPath);
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
    if (this.fd === null) process.stdout.write(bytes);
    else writeSync(this.fd, bytes);
  }

  /** Flushes and, for a file, puts it in place. */
  close(): void {
    this.flush();
    if (this.fd === null) return;
    closeSync(this.fd);
    renameSync(this.tmpPath!, this.path!);
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
    if (this.fd === null) process.stdout.write(text);
    else writeSync(this.fd, text);
  }
}
