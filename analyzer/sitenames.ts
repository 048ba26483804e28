import { basename } from 'node:path';

import { formatAddress } from '../core/events';
import { findMapping, type FileMapping } from '../core/mappings';
import type { RunFile } from '../runfile/runfile';
import { StackReader } from './stacks';

/** Frames of the BPF tracing machinery rather than of the traced code. */
const TRACER_FRAME = /^(bpf_prog_|bpf_trampoline_|bpf_trace_run|__bpf_trace_|__traceiter_)/;

/** How a call site without a recorded address (caller 0) is shown. */
export const UNKNOWN_SITE = '(unknown)';

/** The last frame shown of a stack cut where its walk left the mapped code (analyzer/stacks.ts). */
export const TRUNCATED_FRAME = '[truncated: frame-pointer walk left the mapped code]';
/** The outermost frame of a stack whose last frame was found by .eh_frame (the walk was lost in code without frame pointers). */
export const UNWOUND_FRAME = '[truncated: one caller found by .eh_frame, no frame pointers above]';

/** Names of addresses that survive address-space randomisation: the symbol resolved at record time, else object+0xfileoffset. */
class AddressNamer {
  private readonly mappings: FileMapping[];
  private readonly symbols: ReturnType<RunFile['symbols']>;

  constructor(run: RunFile) {
    this.mappings = run.mappings();
    this.symbols = run.symbols();
  }

  /** The symbol name resolved at record time, else object+0xfileoffset, else null. */
  name(address: number): string | null {
    return this.symbols.get(address)?.name ?? this.objectOffset(address);
  }

  /** object+0xfileoffset: stable across runs of the same binaries whatever ASLR did. */
  private objectOffset(address: number): string | null {
    if (address < 0) return null;
    const m = findMapping(this.mappings, address);
    return m ? `${basename(m.path)}+0x${(address - m.start + m.offset).toString(16)}` : null;
  }
}

/**
 * Names of addresses: `named` gives the stable name of a code or data address (function+0xoffset
 * or a data symbol resolved at record time, else object+0xoffset) or null; `site` and `stack` are
 * how call sites and stack frames are shown (the stable name, else the hex address).
 */
export class SiteNamer {
  private readonly namer: AddressNamer;
  private readonly stacks: StackReader;
  private readonly cache = new Map<number, string>();

  constructor(run: RunFile) {
    this.namer = new AddressNamer(run);
    this.stacks = new StackReader(run);
  }

  named(address: number): string | null {
    return this.namer.name(address);
  }

  site(address: number): string {
    if (address === 0) return UNKNOWN_SITE;
    let name = this.cache.get(address);
    if (name === undefined) {
      name = this.named(address) ?? formatAddress(address);
      this.cache.set(address, name);
    }
    return name;
  }

  /**
   * A request's whole stack, innermost frame (in the lock function) first, its call site put back,
   * as names and the addresses they name,
   * as far as it can be believed (StackReader), and whether it was cut there. Kernel stacks taken
   * by a BPF program include the tracer's own frames (bpf_prog_..., bpf_trampoline_...,
   * bpf_trace_run2, __traceiter_...): those are left out.
   */
  frames(stackId: number | null, caller: number): { names: string[]; addresses: number[]; truncated: boolean; unwound: boolean } {
    const { frames, truncated: cut, unwound } = this.stacks.request(stackId, caller);
    const truncated = cut || unwound;
    const names = frames.map((address) => this.site(address));
    // A user stack starts where the probe sits inside the lock function (+0, or a few instructions
    // in: recorder/probe_offsets.ts): named by the function alone, so a stack reads, and a lock
    // class matches, the same whatever the placement.
    if (stackId !== null && frames.length > 1 && frames[0] >= 0) names[0] = names[0].replace(/\+0x[0-9a-f]+$/, '');
    const traced = names.map((_, i) => i).filter((i) => !TRACER_FRAME.test(names[i]));
    const kept = traced.length > 0 ? traced : names.map((_, i) => i);
    return { names: kept.map((i) => names[i]), addresses: kept.map((i) => frames[i]), truncated, unwound };
  }

  /** The request's stack as shown: its frames, then `truncatedFrame` (by default, why) when it was cut. */
  stack(stackId: number | null, caller: number, truncatedFrame?: string): string[] {
    const { names, truncated, unwound } = this.frames(stackId, caller);
    return truncated ? [...names, truncatedFrame ?? (unwound ? UNWOUND_FRAME : TRUNCATED_FRAME)] : names;
  }
}
