import { InvalidArgumentError } from 'commander';

import { parseAddress } from '../../core/events';

/** Option parsers shared by the subcommands: each rejects bad values with a one-line reason. */
export function integer(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

export function lockAddress(value: string): number {
  const n = parseAddress(value.replace(/:[RW]$/, '')); // an rwlock's side, as the report prints it: both sides are the lock
  if (n === null) throw new InvalidArgumentError('--lock takes a lock address in hex, as the report prints it (0x7f3a...)');
  return n;
}

export function seconds(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} takes seconds since the run start (>= 0)`);
    return n;
  };
}

/** --raw, for every subcommand that shows waits or holds (README: "What the numbers mean"). */
export const RAW_FLAG = '--raw';
export const RAW_HELP = "waits and holds as recorded: the probes' own cost (measured at the start of the recording) not subtracted";

/** Subcommand actions are async; the CLI awaits the one that ran. */
export type ActionRunner = (action: () => Promise<number | void>) => void;
