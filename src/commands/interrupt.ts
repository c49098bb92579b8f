/**
 * What a signal that stops the process records on its way out: the run being driven, if any
 * (drive.ts registers it). Apart from drive.ts so that cli.ts installs its signal handlers without
 * loading the pipeline before a command needs it.
 */

let onInterrupt: ((signal: string) => void) | undefined;

/** Sets what interruptActiveRun records (drive.ts, while it drives a run); undefined clears it. */
export function whileDriving(record: ((signal: string) => void) | undefined): void {
  onInterrupt = record;
}

/** Records that the active run, if any, was interrupted by `signal`. */
export function interruptActiveRun(signal: string): void {
  onInterrupt?.(signal);
}
