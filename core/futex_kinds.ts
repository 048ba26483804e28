import { futexKind, type FutexKind, type KindSource } from './futex';
import type { RawEvent } from './events';

/** What the run file gives the classification: a stack's innermost frame, an address's name. */
export interface KindEvidence {
  innermostFrame(stackId: number): number | null;
  codeName(address: number): string | null; // function+0xoffset, or null
}

/** How many futex words (and waits) got their kind from each source: said in every contention run's warnings. */
export interface KindTally {
  words: Record<KindSource, number>;
  waits: Record<KindSource, number>;
}

/**
 * The kind of each futex event's lock (core/futex.ts futexKind), from the C library function its
 * call was made in (the innermost frame of its stack, named at record time) and the layout flags.
 * A word keeps the first kind it was told by a function; else its layout's; counted per word.
 */
export class FutexKinds {
  private readonly byStack = new Map<number, string | null>(); // stack id -> innermost function name
  private readonly byWord = new Map<number, FutexKind>();
  private readonly waits: Record<KindSource, number> = { function: 0, layout: 0, none: 0 };

  constructor(private readonly evidence: KindEvidence) {}

  /** The kind of a futex event's lock (its word), remembering how it was told. */
  kindOf = (e: RawEvent): string => {
    const fn = e.stackId != null ? this.innermostFunction(e.stackId) : null;
    const told = futexKind(e.flags ?? 0, fn);
    const known = this.byWord.get(e.lock);
    const rank = (k: FutexKind): number => (k.source === 'function' ? 2 : k.source === 'layout' ? 1 : 0);
    const kind = known && rank(known) >= rank(told) ? known : told;
    if (kind !== known) this.byWord.set(e.lock, kind);
    if (e.stage !== 4) this.waits[kind.source]++;
    return kind.kind;
  };

  tally(): KindTally {
    const words: Record<KindSource, number> = { function: 0, layout: 0, none: 0 };
    for (const k of this.byWord.values()) words[k.source]++;
    return { words, waits: { ...this.waits } };
  }

  private innermostFunction(stackId: number): string | null {
    let name = this.byStack.get(stackId);
    if (name === undefined) {
      const frame = this.evidence.innermostFrame(stackId);
      const full = frame === null ? null : this.evidence.codeName(frame);
      name = full === null ? null : full.replace(/\+0x[0-9a-f]+$/, '');
      this.byStack.set(stackId, name);
    }
    return name;
  }
}
