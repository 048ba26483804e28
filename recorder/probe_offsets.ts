/**
 * Where in a function to put its uprobe so that the kernel emulates the probed instruction.
 *
 * An x86 uprobe replaces an instruction with int3. On a hit the kernel either emulates that
 * instruction or copies it out of line and single-steps it, which costs a second trap (#DB): in a
 * VM ~15 µs per hit instead of ~0.4 µs. What it emulates is decided by arch/x86/kernel/uprobes.c,
 * arch_uprobe_analyze_insn():
 *   - uprobe_init_insn() refuses any instruction with an ES/CS/DS/SS or LOCK prefix (is_prefix_bad);
 *   - branch_setup_xol_ops() emulates the nops of x86_nops[] (arch/x86/include/asm/nops.h: 1-8
 *     bytes; 9-11 on newer kernels carry a CS prefix and are refused above), any one-byte opcode
 *     0x90 with prefixes, jmp rel8/rel32 (eb, e9), call rel32 (e8), jcc rel8/rel32 (70-7f, 0f 80-8f),
 *     and refuses those branches when they carry a 0x66 prefix;
 *   - push_setup_xol_ops() emulates push reg (50-57), alone or with the one REX prefix 0x41 (r8-r15);
 *   - every other instruction is single-stepped.
 *
 * The probe is moved to the first emulated instruction that every call executes, before which
 * nothing changed what the BPF programs read at the probe: the argument registers, rsp (the entry
 * program reads the return address at [rsp], and a uretprobe on the same site hijacks it), rbp
 * (the user stack walk starts from it) and memory (the mutex's state is read at the request).
 */
import type * as Iced from 'iced-x86';

export type ProbeInsn = 'emulated' | 'single-stepped';
export type KernelHandling = ProbeInsn | 'refused';
export type ArgRegister = 'rdi' | 'rsi';

/** A probe site inside a function. */
export interface ProbeSite {
  offset: number; // bytes past the function's first instruction
  insn: ProbeInsn; // how the kernel executes the probed instruction
  text: string; // the probed instruction (AT&T syntax)
}

/** How far the straight-line prefix is searched. */
export const MAX_PREFIX_INSNS = 16;
export const MAX_PREFIX_BYTES = 64;

// x86_nops[len] for 64-bit kernels (arch/x86/include/asm/nops.h, BYTES_NOP1..BYTES_NOP8).
const X86_NOPS: readonly (readonly number[])[] = [
  [],
  [0x90],
  [0x66, 0x90],
  [0x0f, 0x1f, 0x00],
  [0x0f, 0x1f, 0x40, 0x00],
  [0x0f, 0x1f, 0x44, 0x00, 0x00],
  [0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00],
  [0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00],
  [0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00],
];
const LEGACY_PREFIXES = new Set([0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67]);
const BAD_PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0xf0]); // ES CS SS DS LOCK

/** What the kernel does with one instruction (its bytes, exactly) when a uprobe sits on it. */
export function kernelHandling(bytes: Uint8Array): KernelHandling {
  let i = 0;
  const prefixes: number[] = [];
  while (i < bytes.length && LEGACY_PREFIXES.has(bytes[i])) prefixes.push(bytes[i++]);
  const rex = i < bytes.length && (bytes[i] & 0xf0) === 0x40 ? bytes[i++] : null;
  if (prefixes.some((p) => BAD_PREFIXES.has(p))) return 'refused';
  const op = bytes[i];
  const op2 = bytes[i + 1];

  const nop = X86_NOPS[bytes.length];
  if (nop && nop.every((b, k) => bytes[k] === b)) return 'emulated';
  if (op === 0x90) return 'emulated';
  const branch = op === 0xeb || op === 0xe9 || op === 0xe8 || (op >= 0x70 && op <= 0x7f) || (op === 0x0f && op2 >= 0x80 && op2 <= 0x8f);
  if (branch) return prefixes.includes(0x66) ? 'refused' : 'emulated';
  if (op >= 0x50 && op <= 0x57 && (bytes.length === 1 || (bytes.length === 2 && rex === 0x41))) return 'emulated';
  return 'single-stepped';
}

let iced: typeof Iced | null = null;
function decoderLibrary(): typeof Iced {
  // Loaded on first use: compiling its WebAssembly takes ~70 ms, which only probe planning needs.
  return (iced ??= require('iced-x86') as typeof Iced);
}

interface Decoded {
  offset: number;
  length: number;
  text: string;
  flow: Iced.FlowControl;
  branchTarget: number | null; // direct branches and calls: offset of the target in the code
  writesRegisters: Set<Iced.Register>; // full registers (eax -> rax)
  writesMemory: boolean;
  opaque: boolean; // invalid, or its register use is not fully known (xsave and the like)
}

/** Decodes code (a function's bytes, its entry at offset 0) instruction by instruction. */
function* decode(code: Uint8Array, limit = Infinity): Generator<Decoded> {
  const x = decoderLibrary();
  const decoder = new x.Decoder(64, code, x.DecoderOptions.None);
  const infos = new x.InstructionInfoFactory();
  const formatter = new x.Formatter(x.FormatterSyntax.Gas);
  const insn = new x.Instruction();
  const isWrite = (a: Iced.OpAccess) =>
    a === x.OpAccess.Write || a === x.OpAccess.CondWrite || a === x.OpAccess.ReadWrite || a === x.OpAccess.ReadCondWrite;
  try {
    for (let n = 0; n < limit && decoder.canDecode; n++) {
      decoder.decodeOut(insn);
      const offset = Number(insn.ip);
      if (insn.isInvalid) {
        yield { offset, length: insn.length, text: '(bad)', flow: x.FlowControl.Exception, branchTarget: null, writesRegisters: new Set(), writesMemory: false, opaque: true };
        return;
      }
      const info = infos.info(insn);
      const registers = info.usedRegisters();
      const memory = info.usedMemory();
      const flow = insn.flowControl;
      const target = insn.op0Kind === x.OpKind.NearBranch64 ? Number(insn.nearBranchTarget) : null;
      yield {
        offset,
        length: insn.length,
        text: formatter.format(insn),
        flow,
        branchTarget: target,
        writesRegisters: new Set(registers.filter((r) => isWrite(r.access)).map((r) => x.RegisterExt.fullRegister(r.register))),
        writesMemory: memory.some((m) => isWrite(m.access)),
        opaque: insn.isSaveRestoreInstruction,
      };
      for (const r of registers) r.free();
      for (const m of memory) m.free();
      info.free();
    }
  } finally {
    insn.free();
    formatter.free();
    infos.free();
    decoder.free();
  }
}

/** The probe site at the function's entry (+0), as it is. */
export function entrySite(code: Uint8Array): ProbeSite {
  for (const d of decode(code, 1)) return { offset: 0, insn: handlingOf(code, d), text: d.text };
  return { offset: 0, insn: 'single-stepped', text: '(none)' };
}

/**
 * The first instruction of the function's straight-line prefix (at most MAX_PREFIX_INSNS
 * instructions in MAX_PREFIX_BYTES) that the kernel emulates, with nothing before it that
 * branches, writes one of `keep`, rsp or rbp, or writes memory; and that no direct branch of the
 * function jumps into (such a jump would hit the probe again, or without its entry). The
 * instruction itself may be a branch. None: the entry (+0).
 */
export function chooseProbeSite(code: Uint8Array, keep: readonly ArgRegister[]): ProbeSite {
  const x = decoderLibrary();
  const watched = new Set<Iced.Register>([x.Register.RSP, x.Register.RBP, ...keep.map((r) => (r === 'rdi' ? x.Register.RDI : x.Register.RSI))]);
  let chosen: ProbeSite | null = null;
  for (const d of decode(code.subarray(0, MAX_PREFIX_BYTES), MAX_PREFIX_INSNS)) {
    if (d.opaque) break;
    if (handlingOf(code, d) === 'emulated') {
      chosen = { offset: d.offset, insn: 'emulated', text: d.text };
      break;
    }
    if (d.flow !== x.FlowControl.Next || d.writesMemory || [...d.writesRegisters].some((r) => watched.has(r))) break;
  }
  if (!chosen || chosen.offset === 0 || jumpedInto(code, chosen.offset)) return entrySite(code);
  return chosen;
}

/**
 * A function whose first instruction the kernel refuses to probe (glibc's x86-64 pthread_spin_lock
 * starts with `lock decl (%rdi)`, the lock itself): the site of its second instruction, where the
 * programs see the lock after that operation, and which the function's retry loop reaches again
 * (the programs keep a re-entered call's first request). Null when the entry can be probed.
 */
export function afterRefusedEntry(code: Uint8Array): ProbeSite | null {
  const [first, second] = [...decode(code.subarray(0, MAX_PREFIX_BYTES), 2)];
  if (!first || !second || kernelHandling(code.subarray(0, first.length)) !== 'refused') return null;
  const x = decoderLibrary();
  if (first.flow !== x.FlowControl.Next || [...first.writesRegisters].some((r) => r === x.Register.RSP || r === x.Register.RBP || r === x.Register.RDI)) return null;
  if (kernelHandling(code.subarray(second.offset, second.offset + second.length)) === 'refused') return null;
  return { offset: second.offset, insn: handlingOf(code, second), text: second.text };
}

function handlingOf(code: Uint8Array, d: Decoded): ProbeInsn {
  // A refused instruction cannot be probed at all; at the entry, attaching reports it.
  return kernelHandling(code.subarray(d.offset, d.offset + d.length)) === 'emulated' ? 'emulated' : 'single-stepped';
}

/** Does a direct branch of the function (a linear sweep of all its code) land in (0, offset]? */
function jumpedInto(code: Uint8Array, offset: number): boolean {
  for (const d of decode(code)) {
    if (d.branchTarget !== null && d.branchTarget > 0 && d.branchTarget <= offset) return true;
  }
  return false;
}
