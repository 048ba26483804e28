/** --raw, for every subcommand that shows waits or holds (README: "What the numbers mean"). */
export const RAW_FLAG = '--raw';
export const RAW_HELP = "waits and holds as recorded: the probes' own cost (measured at the start of the recording) not subtracted";

/** Subcommand actions are async; the CLI awaits the one that ran. */
export type ActionRunner = (action: () => Promise<number | void>) => void;
