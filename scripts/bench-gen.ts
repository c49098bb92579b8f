/**
 * A piscina worker for `npm run bench`: generates one piece of a benchmark file with the seeded
 * event generator (test/helpers/events.ts). Pieces are independent, so several threads can make
 * them while the main thread writes them in order; the same arguments always give the same bytes.
 */
import { generateEvents } from '../test/helpers/events.js';

/** One piece of one file. */
export interface PieceTask {
  seed: number;
  file: number;
  piece: number;
  lines: number;
  /** Replace every non-ASCII character by a JSON `\uXXXX` escape (same meaning, ASCII bytes). */
  ascii: boolean;
}

/** The piece's bytes and the counts a correct cleaner must report for them. */
export interface Piece {
  data: Uint8Array;
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
}

/** A 32-bit seed for one piece: distinct pieces get unrelated PRNG streams. */
export function pieceSeed(seed: number, file: number, piece: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (file + 0x632be5ab), 0xc2b2ae35);
  h = Math.imul(h ^ (piece + 0x27d4eb2f), 0x165667b1);
  return (h ^ (h >>> 15)) >>> 0;
}

export default function makePiece(t: PieceTask): Piece {
  const g = generateEvents({ seed: pieceSeed(t.seed, t.file, t.piece), lines: t.lines });
  let data: Buffer = g.data;
  if (t.ascii) {
    // Only string contents hold non-ASCII text, so an escape keeps every line's meaning and verdict.
    const text = data.toString('utf8').replace(/[^\x00-\x7f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
    data = Buffer.from(text, 'utf8');
  }
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), lines: g.lines, valid: g.valid, rejected: g.rejected, blank: g.blank };
}
