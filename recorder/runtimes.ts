import { findFunction, readElf, type ElfObject } from './elf';

/**
 * Programs whose locks are not pthread mutexes: Go (sync.Mutex parks goroutines in its runtime,
 * which sleeps on futex(2)), Rust (std::sync::Mutex is a futex word since 1.62), and anything
 * statically linked without a C library. Full mode probes the C library's pthread functions and
 * sees none of their locks; contention mode (--contention) sees their futex calls.
 */
export interface RuntimeGuess {
  language: 'Go' | 'Rust' | null; // null: only "static, without a C library" is known
  evidence: string; // what says so, for the message
}

const RUST_SYMBOL = /^(rust_begin_unwind|rust_panic|__rust_alloc|__rust_start_panic)$|^_ZN.*17h[0-9a-f]{16}E$/;

/** What kind of program an executable looks like, or null for an ordinary C/C++ one. */
export function guessRuntime(elf: ElfObject): RuntimeGuess | null {
  if (elf.sections.includes('.note.go.buildid') || elf.sections.includes('.go.buildinfo')) return { language: 'Go', evidence: 'a Go build-id note' };
  if (/rustc version/.test(elf.comment)) return { language: 'Rust', evidence: 'built by rustc' };
  if (elf.functions.some((f) => RUST_SYMBOL.test(f.name))) return { language: 'Rust', evidence: 'Rust symbols' };
  if (!elf.interpreter && !findFunction(elf, 'pthread_mutex_lock')) return { language: null, evidence: 'statically linked without a C library' };
  return null;
}

export function guessRuntimeOf(path: string): RuntimeGuess | null {
  try {
    return guessRuntime(readElf(path));
  } catch {
    return null;
  }
}

function describe(guess: RuntimeGuess): string {
  return guess.language ? `a ${guess.language} program (${guess.evidence})` : `${guess.evidence}`;
}

/** Why full mode cannot see a program's locks, and what to do: when it found no pthread library at all. */
export function noPthreadAdvice(guess: RuntimeGuess): string {
  return `it is ${describe(guess)}: its locks are not pthread mutexes; record them with --contention (futex waits and wakes, any language)`;
}

/** Said after a full-mode recording that saw no lock taken by the program's own code. */
export function fullModeHint(executable: string, guess: RuntimeGuess): string {
  return (
    `no lock taken by ${executable}'s own code was recorded, and it is ${describe(guess)}: ` +
    `its locks are built on futex(2), not on the C library's pthread mutexes, so this mode cannot see them; record it with --contention`
  );
}
