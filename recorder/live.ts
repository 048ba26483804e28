import { escapeControl } from '../core/escape';
import type { EventBatch } from './addon';
import { fillEvent } from '../runfile/columns';
import { Joiner } from '../core/join';
import { ORIGIN_HEADER, originLine } from '../core/origin_format';
import type { RawEvent } from '../core/events';
import type { ProbeCost } from '../core/probe_cost';

/** --print: joins events as they arrive and prints each finished acquisition in the origin's format, net of the probe cost as mutex-analyze events shows it. */
export class LivePrinter {
  private readonly comms = new Map<number, string>();
  private readonly joiner: Joiner;
  private readonly out: NodeJS.WritableStream;
  private nextId = 1;

  constructor(out: NodeJS.WritableStream, probeCost: ProbeCost | null) {
    this.out = out;
    this.joiner = new Joiner({ acquisition: (a) => this.out.write(`${originLine(a, this.comms.get(a.tid) ?? '?')}\n`) }, { probeCost });
    this.out.write(`${ORIGIN_HEADER}\n`);
  }

  push(batch: EventBatch): void {
    for (const t of batch.threads) this.comms.set(t.tid, escapeControl(t.comm));
    const e: RawEvent = { id: 0, ts: 0, requestTs: null, stage: 0, func: 0, pid: 0, tid: 0, lock: 0, ret: 0, caller: 0 };
    for (let i = 0; i < batch.count; i++) {
      e.id = this.nextId++;
      fillEvent(e, batch, i);
      this.joiner.push(e);
    }
  }

  /** The recording stopped: what the join still keeps (a contention run's last futex wait of each thread) is printed. */
  finish(): void {
    this.joiner.finish();
  }
}

/** The one-line status on a terminal: elapsed time, event rate, drops. */
export class StatusLine {
  private lastEvents = 0;
  private lastTime = 0;

  constructor(private readonly out: NodeJS.WriteStream) {}

  update(elapsedSec: number, events: number, dropped: number): void {
    const dt = elapsedSec - this.lastTime;
    if (dt < 0.5) return;
    const rate = (events - this.lastEvents) / dt;
    this.lastEvents = events;
    this.lastTime = elapsedSec;
    const text = `recording: ${elapsedSec.toFixed(1)} s, ${events.toLocaleString('en-US')} events, ${Math.round(rate).toLocaleString('en-US')} events/s, ${dropped} dropped`;
    this.out.write(`\r\x1b[K${text}`);
  }

  clear(): void {
    this.out.write('\r\x1b[K');
  }
}
