/** The worker-thread entry for the clean pool: one task is one object. */
import { cleanFile } from './clean-file.js';

export default cleanFile;
