/**
 * A byte range of an open local file as the body of an upload: streamed from the file by every
 * attempt, so a part costs the same memory whatever its size (a 5 TiB object has 525 MiB parts).
 *
 * Why not a Readable as the body: the SDK never retries a request whose body is a stream (it cannot
 * read it twice; it warns on the console and gives up). A FileRange is no stream to the SDK, so
 * its retries with backoff apply as to a Buffer; the request handler below opens the range afresh
 * for each attempt, just before it is sent. Its payload is not hashed (the signature says
 * UNSIGNED-PAYLOAD, as for any streamed body): no 8 MiB read into memory for a SHA-256.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Bytes read from the file at a time: a few of these per part in flight is all a part holds. */
const READ_BYTES = 256 << 10;

/** `length` bytes of `file` from `start`, to be sent as a request body. */
export class FileRange {
  constructor(
    readonly file: FileHandle,
    readonly start: number,
    readonly length: number,
  ) {}

  /** A fresh stream of the range (the file stays open: other parts and attempts read it too). */
  open(): Readable {
    return this.file.createReadStream({ start: this.start, end: this.start + this.length - 1, autoClose: false, highWaterMark: READ_BYTES });
  }
}

type Request = Parameters<NodeHttpHandler['handle']>[0];

/** The HTTP handler of cleaner's clients: NodeHttpHandler, sending a FileRange body as a stream read from the file. */
export class FileBodyHandler extends NodeHttpHandler {
  override handle(request: Request, options?: Parameters<NodeHttpHandler['handle']>[1]): ReturnType<NodeHttpHandler['handle']> {
    const body: unknown = request.body;
    if (!(body instanceof FileRange)) return super.handle(request, options);
    // A copy: the SDK hands every attempt a clone of the request it holds, whose body must stay the range.
    const attempt = Object.assign(Object.create(Object.getPrototypeOf(request) as object) as Request, request, { body: body.open() });
    return super.handle(attempt, options);
  }
}
