/** cleaner's own version, as package.json states it (reports, alerts and delivered files carry it). */
import { readFileSync } from 'node:fs';

export const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
