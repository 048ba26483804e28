/**
 * Stop requests: SIGINT, SIGTERM and SIGHUP are handled from the start of record() until the run
 * file is finished, so no signal kills the recorder half-way (nor leaves a launched target stopped
 * before its execve). The first signal asks for the stop; a second is told to wait; a third
 * hurries the stop (the addresses left are not named, the target gets no grace period).
 */
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export class StopRequests {
  reason: string | null = null;
  private signals = 0;
  private finished = false;
  private wake: (() => void) | null = null;
  private poked = false;
  private readonly handler = (signal: NodeJS.Signals): void => this.onSignal(signal);

  constructor() {
    for (const s of SIGNALS) process.on(s, this.handler);
  }

  /** A third signal came: finish the file as it is. */
  get hurried(): boolean {
    return this.signals >= 3;
  }

  request(reason: string): void {
    if (this.reason === null) this.reason = reason;
    this.wake?.();
  }

  /** Ends the current sleep early (or the next one, when none is going on), without asking for a
   * stop: a stop condition may have changed. */
  poke(): void {
    if (this.wake) this.wake();
    else this.poked = true;
  }

  /** Resolves after ms, or as soon as a stop is requested (or poke() is called). */
  sleep(ms: number): Promise<void> {
    if (this.reason !== null || this.poked) {
      this.poked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake?.(), ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  /** The file is finished: a signal from now on, as the recorder exits, is ignored (never kills it half-way through its summary). */
  close(): void {
    this.finished = true;
  }

  private onSignal(signal: NodeJS.Signals): void {
    if (this.finished) return;
    this.signals++;
    if (this.signals === 1) this.request(signal === 'SIGINT' ? 'interrupted (SIGINT)' : `stopped (${signal})`);
    else if (this.signals === 2) process.stderr.write('\nmutex-rec: stopping, please wait: the run file is being finished (a third signal hurries it: no more names)\n');
    else if (this.signals === 3) process.stderr.write('mutex-rec: hurrying the stop: the addresses left are not named, the target is killed\n');
  }
}

/** Lets pending signals be handled between the synchronous steps of the stop. */
export function yieldToSignals(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
