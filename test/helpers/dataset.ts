/**
 * A deterministic, size-targeted data set of web-event objects for soaks: nested prefixes, some
 * `.gz` objects, varied reject and blank rates, a few edge cases, and optionally objects above
 * 100 MB. Objects are generated and uploaded one at a time, so memory stays bounded by the largest
 * object whatever the total size.
 */
import { generateEvents, gzip, mulberry32 } from './events.js';
import type { S3Server } from './s3.js';

/** One object of the plan: everything needed to generate its bytes again. */
export interface ObjectSpec {
  key: string;
  seed: number;
  lines: number;
  rejectRate: number;
  blankRate: number;
  gz: boolean;
  /** Planned above 100 MB (uncompressed). */
  large: boolean;
  /** The last line is left without its "\n" (when that line is not empty). */
  noFinalNewline: boolean;
}

/** A planned data set; the same options give the same plan and the same bytes. */
export interface DatasetPlan {
  /** Every key starts with this. */
  prefix: string;
  objects: ObjectSpec[];
  targetBytes: number;
  /** Why fewer large objects were planned than asked for, if so. */
  note?: string;
}

/** What one generated object holds: the counts a correct cleaner must report for it. */
export interface ObjectFigures {
  key: string;
  gz: boolean;
  /** Uncompressed bytes (what the cleaner reads after gunzip). */
  bytes: number;
  /** Bytes as stored in S3. */
  storedBytes: number;
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
}

// Above 100 MB and above 100 MiB (104.9 MB), with room to vary.
const LARGE_MIN = 110e6;
const LARGE_SPREAD = 25e6;
const LARGE_MAX_COUNT = 3;
// Large objects take at most this share of the data set, so the many small ones still carry weight.
const LARGE_SHARE = 0.5;
const REJECT_RATES = [0, 0.01, 0.04, 0.04, 0.04, 0.1, 0.3];
const BLANK_RATES = [0, 0.01, 0.01, 0.05];
// Measured over 4,000 generated lines of several seeds: 525–530 bytes. Only sizes the plan.
const SAMPLE_LINES = 4000;

/**
 * Plans `objects` objects holding about `targetBytes` uncompressed bytes in total, under `prefix`.
 * With `large`, up to three objects are planned at 110–135 MB each, when that leaves at least half
 * of the data set for the others.
 */
export function planDataset(opts: { seed: number; targetBytes: number; objects: number; large: boolean; prefix?: string }): DatasetPlan {
  const { seed, targetBytes, objects } = opts;
  const prefix = opts.prefix ?? 'data/';
  const rand = mulberry32(seed * 7919 + 17);
  const sample = generateEvents({ seed, lines: SAMPLE_LINES });
  const lineBytes = sample.data.length / SAMPLE_LINES;

  let nLarge = 0;
  let note: string | undefined;
  if (opts.large) {
    nLarge = Math.min(LARGE_MAX_COUNT, Math.floor((targetBytes * LARGE_SHARE) / (LARGE_MIN + LARGE_SPREAD)));
    if (nLarge === 0) {
      note = `no object above 100 MB: ${(targetBytes / 1e6).toFixed(0)} MB is too small (needs ${((2 * (LARGE_MIN + LARGE_SPREAD)) / 1e6).toFixed(0)} MB)`;
    }
  }

  const specs: ObjectSpec[] = [];
  let left = targetBytes;
  for (let k = 0; k < nLarge; k++) {
    const bytes = LARGE_MIN + rand() * LARGE_SPREAD;
    left -= bytes;
    specs.push({
      key: `${prefix}big/large-${k}.jsonl${k % 2 === 0 ? '.gz' : ''}`,
      seed: seed * 1000 + 900 + k,
      lines: Math.round(bytes / lineBytes),
      rejectRate: 0.04,
      blankRate: 0.01,
      gz: k % 2 === 0,
      large: true,
      noFinalNewline: false,
    });
  }

  // Two edge objects: an empty one, and a small one whose every line is rejected (empty output).
  specs.push({ key: `${prefix}edge/empty.jsonl`, seed: seed * 1000 + 1, lines: 0, rejectRate: 0, blankRate: 0, gz: false, large: false, noFinalNewline: false });
  const rejectedLines = 200 + Math.floor(rand() * 300);
  specs.push({ key: `${prefix}edge/all-rejected.jsonl`, seed: seed * 1000 + 2, lines: rejectedLines, rejectRate: 1, blankRate: 0, gz: false, large: false, noFinalNewline: false });
  left -= rejectedLines * lineBytes;

  // The rest share what is left, with sizes spread over about 1:20.
  const rest = objects - specs.length;
  const weights = Array.from({ length: rest }, () => Math.exp(3 * rand()));
  const sum = weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < rest; i++) {
    const day = String(1 + (i % 7)).padStart(2, '0');
    // Every third object one level deeper, so prefixes nest to different depths.
    const folder = i % 3 === 2 ? `${prefix}2026/11/${day}/${String(i % 24).padStart(2, '0')}h/` : `${prefix}2026/11/${day}/`;
    const gz = i % 4 === 1;
    specs.push({
      key: `${folder}part-${String(i).padStart(4, '0')}.jsonl${gz ? '.gz' : ''}`,
      seed: seed * 1000 + 10 + i,
      lines: Math.max(1, Math.round((Math.max(0, left) * weights[i]) / sum / lineBytes)),
      rejectRate: REJECT_RATES[Math.floor(rand() * REJECT_RATES.length)],
      blankRate: BLANK_RATES[Math.floor(rand() * BLANK_RATES.length)],
      gz,
      large: false,
      noFinalNewline: i === 3,
    });
  }
  return { prefix, objects: specs, targetBytes, note };
}

/** Generates one planned object: its bytes as stored, and its figures. */
export function generateObject(spec: ObjectSpec): { body: Buffer; figures: ObjectFigures } {
  const ev = generateEvents({ seed: spec.seed, lines: spec.lines, rejectRate: spec.rejectRate, blankRate: spec.blankRate });
  let data = ev.data;
  // Dropping the final "\n" keeps the line count only when the last line has content.
  if (spec.noFinalNewline && data.length >= 2 && data[data.length - 2] !== 0x0a) data = data.subarray(0, data.length - 1);
  const body = spec.gz ? gzip(data) : data;
  return {
    body,
    figures: { key: spec.key, gz: spec.gz, bytes: data.length, storedBytes: body.length, lines: ev.lines, valid: ev.valid, rejected: ev.rejected, blank: ev.blank },
  };
}

/**
 * Generates and uploads every planned object, one at a time with one upload in flight while the
 * next object is generated: at most two objects are in memory. Resolves with each object's figures.
 */
export async function uploadDataset(
  s3: S3Server,
  bucket: string,
  plan: DatasetPlan,
  onObject?: (f: ObjectFigures, index: number) => void,
): Promise<ObjectFigures[]> {
  const figures: ObjectFigures[] = [];
  let inFlight: Promise<void> | undefined;
  for (let i = 0; i < plan.objects.length; i++) {
    const spec = plan.objects[i];
    const { body, figures: f } = generateObject(spec);
    await inFlight;
    inFlight = s3.put(bucket, spec.key, body).then(() => onObject?.(f, i));
    figures.push(f);
  }
  await inFlight;
  return figures;
}
