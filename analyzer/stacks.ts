import type { RunFile, RunMapping } from '../runfile/runfile';

/** A request's call stack, innermost frame first, as far as it can be believed. */
export interface RequestStack {
  frames: number[];
  /** The recorded walk went on past the last frame, through addresses outside the mapped code: those were dropped. */
  truncated: boolean;
  /** The last frame is the lock call's caller's call site, found by .eh_frame where the frame-pointer walk was lost: nothing above it was recorded. */
  unwound: boolean;
}

/**
 * Request stacks as every analysis sees them (report --stack, folded export, lock classes).
 *
 * The kernel walks user stacks by frame pointers; through code built without them the walk reads
 * whatever the stack holds (`0x6f72726520646000`: ASCII bytes) and takes it for return addresses.
 * A return address lies in code, so a user-space frame outside every executable file mapping of the
 * target ends the stack: it and every frame after it are dropped and the stack is marked truncated.
 * Anonymous executable memory (JIT-compiled code) is in no file mapping and is not recorded: a
 * stack ends, truncated, at its first JIT frame, and the interpreter's frames above it are lost.
 * Kernel frames (negative addresses) are kept as they are. A run with no mapping recorded (nothing
 * to judge by) keeps every frame; a mapping whose permissions are not known counts as code.
 */
export class StackReader {
  private readonly code: CodeRanges | null;

  constructor(private readonly run: RunFile) {
    const mappings = run.mappings();
    this.code = mappings.length > 0 ? new CodeRanges(mappings.filter((m) => m.executable !== false)) : null;
  }

  request(stackId: number | null, caller: number): RequestStack {
    const { recorded, unwound } = this.recorded(stackId);
    const frames = withCallSite(recorded, caller);
    const code = this.code;
    const cut = code ? frames.findIndex((address) => address >= 0 && !code.has(address)) : -1;
    return cut < 0 ? { frames, truncated: false, unwound } : { frames: frames.slice(0, cut), truncated: true, unwound: false };
  }

  /**
   * The recorded frames; with an outer caller (the caller's own call site, read where .eh_frame
   * says, recorder/callsite_cfa.ts), the frame-pointer walk is kept only where it agrees with it:
   * through code built without frame pointers it read whatever rbp held, so the stack is then the
   * lock function and the outer caller (withCallSite puts the call site between them).
   */
  private recorded(stackId: number | null): { recorded: number[]; unwound: boolean } {
    if (stackId === null) return { recorded: [], unwound: false };
    const outer = this.run.unwoundStack(stackId);
    if (!outer) return { recorded: this.run.stack(stackId), unwound: false };
    const walked = this.run.stack(outer.stackId);
    if (walked[1] === outer.outerCaller) return { recorded: walked, unwound: false };
    return { recorded: walked.length > 0 ? [walked[0], outer.outerCaller] : [], unwound: walked.length > 0 };
  }
}

/**
 * A stack taken at a lock function's entry lacks the call site (the frame-pointer walk starts in
 * the caller's frame): it is put back from the event's caller (see schema.sql).
 */
function withCallSite(frames: number[], caller: number): number[] {
  if (caller === 0) return frames;
  if (frames.length === 0) return [caller];
  if (frames[1] === caller) return frames;
  return [frames[0], caller, ...frames.slice(1)];
}

/** The address ranges of some mappings, merged (mappings seen twice or split by mprotect overlap). */
class CodeRanges {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  constructor(mappings: RunMapping[]) {
    for (const m of [...mappings].sort((a, b) => a.start - b.start)) {
      const last = this.ends.length - 1;
      if (last >= 0 && m.start <= this.ends[last]) this.ends[last] = Math.max(this.ends[last], m.end);
      else {
        this.starts.push(m.start);
        this.ends.push(m.end);
      }
    }
  }

  has(address: number): boolean {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (address < this.starts[mid]) hi = mid - 1;
      else if (address >= this.ends[mid]) lo = mid + 1;
      else return true;
    }
    return false;
  }
}
