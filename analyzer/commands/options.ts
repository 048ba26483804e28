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
  const n = parseAddress(value);
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

/** Subcommand actions are async; the CLI awaits the one that ran. */
export type ActionRunner = (action: () => Promise<number | void>) => void;
