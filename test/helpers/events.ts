/**
 * Deterministic web-event JSON lines for tests and benchmarks, with the exact counts a correct
 * cleaner must report for them under the default rules (src/validate/default-schema.ts):
 * required event_id (uuid), session_id (uuid), event_type (non-blank string), timestamp (RFC 3339
 * date-time); optional event_date (full-date), email (email), user_id (non-blank string).
 */
import { gzipSync } from 'node:zlib';

/** Options for `generateEvents`. */
export interface GenerateOptions {
  /** Same seed, same bytes, on every machine and Node version. */
  seed: number;
  /** How many lines to produce; every one ends with `\n`. */
  lines: number;
  /** Share of lines that break the rules or are not JSON objects (default 0.04). */
  rejectRate?: number;
  /** Share of lines that are empty or whitespace-only (default 0.01). */
  blankRate?: number;
}

/** Generated input and what a correct cleaner must count in it; `valid + rejected + blank === lines`. */
export interface GeneratedEvents {
  data: Buffer;
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
}

/** Returns a seeded PRNG yielding floats in [0, 1): the same sequence for the same 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Gzips a buffer (for `.gz` inputs). */
export function gzip(buf: Buffer): Buffer {
  return gzipSync(buf);
}

/**
 * Produces `lines` JSON lines: mostly valid web events, `rejectRate` of them invalid in one of many
 * ways, `blankRate` of them blank. Which lines are which is random but fixed by `seed`; the counts
 * returned are exactly what was written.
 */
export function generateEvents(opts: GenerateOptions): GeneratedEvents {
  const { seed, lines, rejectRate = 0.04, blankRate = 0.01 } = opts;
  if (!Number.isInteger(lines) || lines < 0) throw new RangeError(`lines must be a non-negative integer, got ${lines}`);
  if (!(rejectRate >= 0 && blankRate >= 0 && rejectRate + blankRate <= 1)) {
    throw new RangeError(`rejectRate and blankRate must be >= 0 and sum to at most 1, got ${rejectRate} and ${blankRate}`);
  }
  const g = new Gen(mulberry32(seed));
  const chunks: Buffer[] = [];
  let text = '';
  let valid = 0;
  let rejected = 0;
  let blank = 0;
  for (let i = 0; i < lines; i++) {
    const r = g.rand();
    let line: string;
    if (r < blankRate) {
      line = g.pick(BLANKS);
      blank++;
    } else if (r < blankRate + rejectRate) {
      line = g.rejectedLine();
      rejected++;
    } else {
      line = JSON.stringify(g.event());
      valid++;
    }
    text += line + '\n';
    // Flush in ~1 MiB pieces: one string for a million lines would pass V8's ~512 MiB string limit.
    if (text.length >= 1 << 20) {
      chunks.push(Buffer.from(text, 'utf8'));
      text = '';
    }
  }
  chunks.push(Buffer.from(text, 'utf8'));
  return { data: Buffer.concat(chunks), lines, valid, rejected, blank };
}

// Only spaces and tabs: every reader agrees these are blank. "\r" is left out because the splitter
// treats a "\r" before "\n" as part of the terminator, and other readers may not.
const BLANKS = ['', '', ' ', '  ', '\t', ' \t ', '    '];

const EVENT_TYPES = ['page_view', 'page_view', 'page_view', 'click', 'click', 'purchase', 'signup'];

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.107 Mobile Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0',
  'ShopApp/5.2.1 (iPhone; iOS 18.1)',
  'ShopApp/5.2.0 (Android 14; Pixel 8)',
  'ShopApp/5.1.9 (iPad; iPadOS 17.6)',
  'ShopApp/5.2.1 (Android 13; SM-S911B)',
];

const REFERRERS = [
  'https://www.google.com/',
  'https://duckduckgo.com/',
  'https://www.facebook.com/',
  'https://news.ycombinator.com/item?id=41234567',
  'https://example.com/blog/winter-sale',
  '',
];

// Some titles are non-ASCII, astral emoji included, so byte offsets and character counts differ.
const TITLES = [
  'Home',
  'Winter sale: up to 40% off',
  'Crème brûlée torch set — "chef" edition',
  'Cart',
  '東京のおすすめ商品',
  '🎉 New arrivals',
  'Checkout \\ step 2/3',
  'Über uns',
];

const SCREENS: Array<[number, number]> = [[1920, 1080], [1440, 900], [390, 844], [412, 915], [2560, 1440], [1366, 768]];
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY'];
const DOMAINS = ['example.com', 'mail.example.org', 'example.net', 'corp.example.co.uk'];
const FIRST = ['ana', 'bo', 'chen', 'dmitri', 'eve', 'fatima', 'gus', 'hiro', 'ines', 'jo'];

// Events fall in one week; a week keeps several distinct event_date values in every file.
const WEEK_START_MS = Date.UTC(2026, 10, 2); // 2026-11-02T00:00:00Z
const WEEK_MS = 7 * 24 * 3600 * 1000;

/** Every way a line can be rejected; each entry takes a valid event and returns a rejected line. */
const REJECTS: Array<(g: Gen, e: Record<string, unknown>) => string> = [
  // Broken JSON: a valid event cut short (at a code-point boundary, so still valid UTF-8).
  (g, e) => {
    const cps = Array.from(JSON.stringify(e));
    return cps.slice(0, 1 + g.int(cps.length - 1)).join('');
  },
  // Valid JSON that is not an object.
  (g) => g.pick(['[1,2]', '"x"', '42', 'null', 'true', '[]', '[{"event_id":"x"}]', '"{\\"event_type\\":\\"click\\"}"']),
  // A required field missing.
  (g, e) => {
    delete e[g.pick(['event_id', 'event_id', 'session_id', 'event_type', 'timestamp'])];
    return JSON.stringify(e);
  },
  // event_id not a uuid.
  (g, e) => {
    const id = e.event_id as string;
    e.event_id = g.pick([`evt-${g.int(1e6)}`, id.replaceAll('-', ''), `${id.slice(0, 35)}g`, '', 12345]);
    return JSON.stringify(e);
  },
  // event_type blank or not a string.
  (g, e) => {
    e.event_type = g.pick(['  ', '', '\t', 7, null]);
    return JSON.stringify(e);
  },
  // timestamp not an RFC 3339 date-time.
  (g, e) => {
    e.timestamp = g.pick(['2026-13-45T99:00:00Z', '2026-11-05 12:34', '2026-11-05', 'yesterday', 1762345678]);
    return JSON.stringify(e);
  },
  // email present but malformed.
  (g, e) => {
    e.email = g.pick(['not-an-email', 'ana@', '@example.com', 'ana example.com']);
    return JSON.stringify(e);
  },
  // event_date present but not a real calendar date.
  (g, e) => {
    e.event_date = g.pick(['2026-02-30', '2026-11-31', '2026/11/05', '05-11-2026']);
    return JSON.stringify(e);
  },
  // user_id present but blank.
  (g, e) => {
    e.user_id = g.pick(['', '   ']);
    return JSON.stringify(e);
  },
];

/** Each byte as two lowercase hex digits. */
const HEX2 = Array.from({ length: 256 }, (_, x) => x.toString(16).padStart(2, '0'));

/** Random building blocks, all drawn from one PRNG so the whole output follows from the seed. */
class Gen {
  constructor(readonly rand: () => number) {}

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  uuid(): string {
    // Sixteen random bytes in order, as hex pairs from a table (the tests generate millions).
    let h = '';
    for (let k = 0; k < 16; k++) {
      let x = this.int(256);
      if (k === 6) x = (x & 0x0f) | 0x40; // version 4
      else if (k === 8) x = (x & 0x3f) | 0x80; // RFC 4122 variant
      if (k === 4 || k === 6 || k === 8 || k === 10) h += '-';
      h += HEX2[x];
    }
    return h;
  }

  /** A valid event; optional fields are sometimes left out, as in real traffic. */
  event(): Record<string, unknown> {
    const ms = WEEK_START_MS + this.int(WEEK_MS);
    const iso = new Date(ms).toISOString();
    // Both forms are RFC 3339; some producers drop the milliseconds.
    const timestamp = this.rand() < 0.8 ? iso : `${iso.slice(0, 19)}Z`;
    const eventType = this.pick(EVENT_TYPES);
    const [w, h] = this.pick(SCREENS);
    const productIds: string[] = [];
    for (let k = 3 + this.int(6); k > 0; k--) productIds.push(`p_${this.int(10000)}`);
    const properties: Record<string, unknown> = {
      user_agent: this.pick(USER_AGENTS),
      page_title: this.pick(TITLES),
      screen: { width: w, height: h },
      product_ids: productIds,
    };
    if (this.rand() < 0.4) properties.referrer = this.pick(REFERRERS);
    if (eventType === 'purchase') {
      properties.order = { total: Math.round(this.rand() * 50000) / 100, currency: this.pick(CURRENCIES), items: productIds.length };
    }
    if (eventType === 'click') properties.element = this.pick(['#buy', 'a.nav-link', 'button.add-to-cart', '#search']);
    const e: Record<string, unknown> = {
      event_id: this.uuid(),
      session_id: this.uuid(),
      event_type: eventType,
      timestamp,
    };
    // Present on 90% of events: the date in UTC, as the original producer wrote it.
    if (this.rand() < 0.9) e.event_date = iso.slice(0, 10);
    if (this.rand() < 0.85) e.user_id = `u_${this.int(100000)}`;
    if (this.rand() < 0.5) e.email = `${this.pick(FIRST)}.${this.int(1000)}@${this.pick(DOMAINS)}`;
    e.page_url = `https://example.com/p/${this.int(5000)}`;
    e.properties = properties;
    return e;
  }

  /** A line that is not JSON, not an object, or an object that breaks at least one default rule. */
  rejectedLine(): string {
    return this.pick(REJECTS)(this, this.event());
  }
}
