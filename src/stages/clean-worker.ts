/** The worker-thread entry for the clean pool: a task is one object, or (named cleanBlock) one block of a large object. */
import { cleanFile } from './clean-file.js';

export { cleanBlock } from './clean-block.js';
export default cleanFile;
