/**
 * Typed errors and the exit codes they map to. Code deep down throws these; only `cli.ts` turns
 * them into one line on stderr and a process exit code.
 */

/** Exit codes, documented in README.md. Stable: scripts and cron jobs branch on them. */
export const ExitCode = Object.freeze({
  ok: 0,
  internal: 1,
  usage: 2,
  s3Permanent: 3,
  objectsFailed: 4,
  gateBreached: 5,
  stateBusy: 6,
  interrupted: 130,
});

/** Base class: a failure the user can act on, with the exit code it ends the process with. */
export class CleanerError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad flags, missing parameters, an unusable config: nothing was started. */
export class UsageError extends CleanerError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** A rules file that cannot be read, parsed or compiled: refused before any work starts. */
export class SchemaError extends CleanerError {
  constructor(file: string, problem: string) {
    super(`schema ${file}: ${problem}`, ExitCode.usage);
  }
}

/** S3 said no in a way retrying will not fix (access denied, no such bucket, bad credentials, wrong region). */
export class S3PermanentError extends CleanerError {
  constructor(message: string) {
    super(message, ExitCode.s3Permanent);
  }
}

/** S3 kept failing in a way that may pass (resets, 5xx, timeouts) after every retry: resume later. */
export class S3UnavailableError extends CleanerError {
  constructor(message: string) {
    super(message, ExitCode.internal);
  }
}

/** The state database is held by another live cleaner process. */
export class StateBusyError extends CleanerError {
  constructor(message: string) {
    super(message, ExitCode.stateBusy);
  }
}

/** The state database cannot be used (written by a newer version, corrupt, not a cleaner database). */
export class StateError extends CleanerError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** A local file-system problem that stops the run (disk full, permission denied): resume once fixed. */
export class LocalIoError extends CleanerError {
  constructor(message: string) {
    super(message, ExitCode.internal);
  }
}

/**
 * A state transition that changed no row: a bug in cleaner or a race between two writers, never
 * silently ignored. Deliberately not a CleanerError: there is nothing the user can do about it, so
 * the CLI reports it as an internal error (exit code 1, stack trace with DEBUG=1, "please report it").
 */
export class StateTransitionError extends Error {
  constructor(what: string) {
    super(`state transition failed: ${what}`);
    this.name = new.target.name;
  }
}
