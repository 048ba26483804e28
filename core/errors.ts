/** A problem the user can fix: printed as one line (with the fix), exit code 2, no stack trace. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

export const EXIT_USAGE = 2;

let verbose = false;

/** --verbose: an internal error's stack trace too. */
export function setVerbose(on: boolean): void {
  verbose = on;
}

/** Runs a CLI's main function and turns failures into one-line messages and exit codes. */
export function runCli(tool: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (err: unknown) => {
      if (err instanceof UserError) {
        process.stderr.write(`${tool}: ${err.message}\n`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      process.stderr.write(`${tool}: internal error: ${message}\n`);
      if (verbose && err instanceof Error) process.stderr.write(`${err.stack}\n`);
      process.exitCode = 1;
    },
  );
}
