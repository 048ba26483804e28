import { InvalidArgumentError } from '@commander-js/extra-typings';

import { KIND_FAMILIES, parseAddress, type KindFamily } from './events';

/**
 * Option values of both CLIs, parsed and checked here: each parser turns the text into its type or
 * refuses it with a one-line reason (commander prints it, the CLI exits with code 2). Checks that
 * involve several options stay with the command that has them.
 */

/** `value` as a number that passes `ok`, else refused: "NAME must be WHAT" (or `reason` when given). */
function number(name: string, value: string, ok: (n: number) => boolean, what: string, reason = `${name} must be ${what}`): number {
  const n = Number(value);
  if (value.trim() === '' || !ok(n)) throw new InvalidArgumentError(reason);
  return n;
}

export function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  const what = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `a whole number from ${min} to ${max}`;
  return (value: string): number => number(name, value, (n) => Number.isInteger(n) && n >= min && n <= max, what);
}

export function positiveNumber(name: string) {
  return (value: string): number => number(name, value, (n) => Number.isFinite(n) && n > 0, 'a positive number');
}

export function nonNegative(name: string) {
  return (value: string): number => number(name, value, (n) => Number.isFinite(n) && n >= 0, 'a number >= 0');
}

export function probability(name: string) {
  return (value: string): number => number(name, value, (n) => n > 0 && n < 1, 'a probability between 0 and 1 (exclusive)');
}

export function powerOfTwo(name: string) {
  return (value: string): number => number(name, value, (n) => Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0, 'a power of two (1, 2, 4, ... 1024)');
}

export function seconds(name: string) {
  return (value: string): number => number(name, value, (n) => Number.isFinite(n) && n >= 0, '', `${name} takes seconds since the run start (>= 0)`);
}

export function lockAddress(value: string): number {
  const n = parseAddress(value.replace(/:[RW]$/, '')); // an rwlock's side, as the report prints it: both sides are the lock
  if (n === null) throw new InvalidArgumentError('--lock takes a lock address in hex, as the report prints it (0x7f3a...)');
  return n;
}

/** report --kind mutex,cond: a comma-separated list of lock kinds (core/events.ts KIND_FAMILIES), or all. */
export function kinds(value: string): ReadonlySet<KindFamily> {
  const names = value.split(',').map((k) => k.trim());
  if (names.includes('all')) return new Set(KIND_FAMILIES);
  const bad = names.filter((k) => !(KIND_FAMILIES as readonly string[]).includes(k));
  if (bad.length > 0) throw new InvalidArgumentError(`--kind takes ${KIND_FAMILIES.join(', ')} or all, comma-separated (not ${bad.join(', ')})`);
  return new Set(names as KindFamily[]);
}

/** A repeatable option's values. */
export function collect(value: string, previous: string[]): string[] {
  return previous.concat([value]);
}
