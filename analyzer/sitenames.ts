import { formatAddress } from '../core/events';
import { AddressNamer } from './identity';
import type { RunFile } from './runfile';

/** Frames of the BPF tracing machinery rather than of the traced code. */
const TRACER_FRAME = /^(bpf_prog_|bpf_trampoline_|bpf_trace_run|__bpf_trace_|__traceiter_)/;

/** How a call site without a recorded address (caller 0) is shown. */
export const UNKNOWN_SITE = '(unknown)';

/**
 * Display names of code addresses: call sites and stack frames, as AddressNamer names them
 * (function+0xoffset resolved at record time, else object+0xoffset), else the hex address.
 */
export class SiteNamer {
  private readonly namer: AddressNamer;
  private readonly cache = new Map<number, string>();

  constructor(private readonly run: RunFile) {
    this.namer = new AddressNamer(run);
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
   * A request's whole stack, innermost frame (in the lock function) first, its call site put back.
   * Kernel stacks taken by a BPF program include the tracer's own frames (bpf_prog_...,
   * bpf_trampoline_..., bpf_trace_run2, __traceiter_...): those are left out.
   */
  stack(stackId: number | null, caller: number): string[] {
    const frames = this.run.requestStack(stackId, caller).map((address) => this.site(address));
    const traced = frames.filter((name) => !TRACER_FRAME.test(name));
    return traced.length > 0 ? traced : frames;
  }
}
