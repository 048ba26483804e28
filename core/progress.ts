/**
 * A progress line on stderr for passes that take more than a second (a large run, a diff of
 * several): only on a terminal, never with --quiet, erased when the pass ends.
 */
export const progressSettings = {
  quiet: false,
  afterMs: Number(process.env.MUTEX_PROGRESS_AFTER_MS ?? 1000), // tests set 0
};

export class Progress {
  private readonly started = Date.now();
  private shown = 0;

  constructor(private readonly what: string) {}

  /** fraction: of the pass done, 0 to 1. */
  update(fraction: number): void {
    if (progressSettings.quiet || !process.stderr.isTTY) return;
    const now = Date.now();
    if (now - this.started < progressSettings.afterMs || now - this.shown < 200) return;
    this.shown = now;
    process.stderr.write(`\r\x1b[Kmutex-analyze: ${this.what}: ${Math.min(100, Math.round(100 * fraction))}%`);
  }

  done(): void {
    if (this.shown > 0) process.stderr.write('\r\x1b[K');
    this.shown = 0;
  }
}
