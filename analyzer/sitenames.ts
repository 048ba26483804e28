import { formatAddress } from '../core/events';
import { AddressNamer } from './identity';
import type { RunFile } from './runfile';
import { StackReader } from './stacks';

/** Frames of the BPF tracing machinery rather than of the traced code. */
const TRACER_FRAME = /^(bpf_prog_|bpf_trampoline_|bpf_trace_run|__bpf_trace_|__traceiter_)/;

/** How a call site without a recorded address (caller 0) is shown. */
export const UNKNOWN_SITE = '(unknown)';

/** The last frame shown of a stack cut where its walk left the mapped code (analyzer/stacks.ts). */
export const TRUNCATED_FRAME = '[truncated: frame-pointer walk left the mapped code]';

/**
 * Display names of code addresses: call sites and stack frames, as AddressNamer names them
 * (function+0xoffset resolved at record time, else object+0xoffset), else the hex address.
 */
export class SiteNamer {
  private readonly namer: AddressNamer;
  private readonly stacks: StackReader;
  private readonly cache = new Map<number, string>();

  constructor(run: RunFile) {
    this.namer = new AddressNamer(run);
    this.stacks = new StackReader(run);
  }

  site(address: number): string {
    if (address === 0) return UNKNOWN_SITE;
    let name = this.cache.get(address);
    if (name === undefined) {
      name = this.namer.name(address) ?? formatAddress(address);
      this.cache.set(address, name);
    }
    return name;
  }

  /**
   * A request's whole stack, innermost frame (in the lock function) first, its call site put back,
   * as far as it can be believed (StackReader), and whether it was cut there. Kernel stacks taken
   * by a BPF program include the tracer's own frames (bpf_prog_..., bpf_trampoline_...,
   * bpf_trace_run2, __traceiter_...): those are left out.
   */
  frames(stackId: number | null, caller: number): { names: string[]; truncated: boolean } {
    const { frames, truncated } = this.stacks.request(stackId, caller);
    const names = frames.map((address) => this.site(address));
    const traced = names.filter((name) => !TRACER_FRAME.test(name));
    return { names: traced.length > 0 ? traced : names, truncated };
  }

  /** The request's stack as shown: its frames, then `truncatedFrame` when it was cut. */
  stack(stackId: number | null, caller: number, truncatedFrame = TRUNCATED_FRAME): string[] {
    const { names, truncated } = this.frames(stackId, caller);
    return truncated ? [...names, truncatedFrame] : names;
  }
}
