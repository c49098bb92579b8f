/** Why a load cannot go on. */
import { CleanerError, ExitCode } from '../errors.js';

/** A table that does not fit, or a database that refuses the load as a whole: fix it, then resume. */
export class LoadError extends CleanerError {
  constructor(message: string) {
    super(message, ExitCode.internal);
  }
}
