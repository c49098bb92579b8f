/**
 * An HTTP proxy for tests that sits in front of a real S3 server (s3rver) on loopback and breaks
 * some of the requests that pass through it, the way S3 and the network do: throttling, server
 * errors, connections reset before or during a body, bodies cut short, bodies that stop arriving.
 *
 * By default only reads are broken: GET and HEAD of objects, and listings. With `writes`, object
 * PUTs, POSTs and DELETEs (single and multipart uploads, their completion, deletes) are broken too,
 * the ways a write fails (WRITE_FAULT_KINDS). Bucket-level calls are always forwarded untouched.
 * Requests are forwarded with every header unchanged, Host included, so SigV4 signatures made for
 * the proxy's address still verify behind it (`verifyCredentials` checks exactly that).
 */
import { createServer, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { createHash, createHmac } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { mulberry32 } from './events.js';

/** Every fault the proxy can inject. */
export const FAULT_KINDS = ['503', '500', 'reset-before', 'reset-during', 'short-body', 'stall'] as const;
/**
 * - `503`: SlowDown, as S3 throttles; `500`: InternalError. Both with S3's XML error body.
 * - `reset-before`: the connection is reset before any response.
 * - `reset-during`: headers and part of the body, then the connection is reset.
 * - `short-body`: headers promising the full Content-Length, part of the body, then a clean close.
 * - `stall`: headers and part of the body, then nothing, until the client gives up.
 *
 * A response with no body (HEAD, an empty object) cannot break mid-body: there `reset-during` and
 * `short-body` become `reset-before`, and `stall` sends nothing at all. Counts record what was done.
 */
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Every fault the proxy can inject into a write (with `writes`). */
export const WRITE_FAULT_KINDS = ['503', '500', 'reset-before', 'reset-after', 'slow', 'stall'] as const;
/**
 * - `503`, `500`: as for reads; the server never sees the request.
 * - `reset-before`: the connection is reset before the request reaches the server.
 * - `reset-after`: the server did the write (stored the part, completed the upload); the client's
 *   connection is reset instead of getting the answer, so its retry repeats a write that happened.
 * - `slow`: the request body reaches the server slowly (32 KiB every 10 ms), then all is well.
 * - `stall`: the request is taken in and never answered, until the client's idle timeout.
 */
export type WriteFaultKind = (typeof WRITE_FAULT_KINDS)[number];

export interface FaultProxyOptions {
  /** The real server behind the proxy, `http://127.0.0.1:<port>`. */
  target: string;
  /** Share of breakable requests (object GET/HEAD, listings) that get a fault, 0 to 1; default 0. */
  rate?: number;
  /** The kinds to inject; default all of FAULT_KINDS. */
  kinds?: readonly FaultKind[];
  /** Seeds which requests are broken, how, and where bodies are cut; default 1. */
  seed?: number;
  /**
   * When set, every request's SigV4 signature is checked as S3 checks it, and a mismatch is answered
   * with 403 SignatureDoesNotMatch. s3rver 3.7.1 checks the access key id but never the signature.
   */
  verifyCredentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * `enforce` (default, as S3 does): a GET or HEAD whose If-Match names another ETag than the object's
   * gets 412 PreconditionFailed. `ignore`: If-Match is passed through, and s3rver 3.7.1 ignores it,
   * as some S3-compatible stores do.
   */
  ifMatch?: 'enforce' | 'ignore';
  /** Break object writes as well, at `writeRate`, with these kinds; default none (writes are forwarded). */
  writes?: readonly WriteFaultKind[];
  /** Share of object writes broken with `writes`; default `rate`. */
  writeRate?: number;
}

/** What kind of request the proxy saw. */
export type Operation = 'list' | 'get' | 'head' | 'write' | 'other';

/** A running proxy; `stop()` closes it and every connection it holds. */
export interface FaultProxy {
  /** Where to point the client (`--endpoint-url`, AWS_ENDPOINT_URL_S3): `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** Faults injected so far, by kind (live). Hook actions are not counted. */
  injected: Record<FaultKind | WriteFaultKind, number>;
  /** Requests seen so far, by operation (live). */
  requests: Record<Operation, number>;
  /** Every fault injected, in order: for messages when an assertion fails. */
  log: Array<{ kind: FaultKind | WriteFaultKind; method: string; url: string }>;
  /** Changes the fault rate from now on. */
  setRate(rate: number): void;
  /** The next requests of operation `op` get these faults, one each in order, before any random one. */
  breakNext(op: Exclude<Operation, 'other' | 'write'>, kinds: FaultKind[]): void;
  /** The next `times` object writes (default: all) whose path and query match `match` get fault `kind`; `clearWrites()` ends it. */
  breakWrites(match: (url: string) => boolean, kind: WriteFaultKind, times?: number): void;
  /** Ends every breakWrites. */
  clearWrites(): void;
  /** Every GET and HEAD of `key` is answered 403 AccessDenied from now on. */
  deny(bucket: string, key: string): void;
  /**
   * Runs `action` once, after the server answered the next listing and before the client gets the
   * answer: whatever `action` does to the bucket (delete a key, put a new version) happens after the
   * listing. That listing is never broken by a fault.
   */
  afterListing(action: () => Promise<void>): void;
  /**
   * The next GET of `key` gets its headers and part of its body; then `action` runs (put a new
   * version, say) and the connection is reset, so the client has to resume on whatever is there now.
   */
  duringFirstGet(bucket: string, key: string, action: () => Promise<void>): void;
  /** Closes the proxy and every connection, stalled ones included. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a proxy on a free loopback port in front of `opts.target`. */
export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(opts.target);
  const kinds = [...(opts.kinds ?? FAULT_KINDS)];
  if (kinds.length === 0) throw new RangeError('kinds: at least one fault kind');
  const rand = mulberry32(opts.seed ?? 1);
  let rate = opts.rate ?? 0;
  const ifMatch = opts.ifMatch ?? 'enforce';
  const writeKinds = [...(opts.writes ?? [])];
  const injected = Object.fromEntries([...FAULT_KINDS, ...WRITE_FAULT_KINDS].map((k) => [k, 0])) as FaultProxy['injected'];
  const requests: Record<Operation, number> = { list: 0, get: 0, head: 0, write: 0, other: 0 };
  const log: FaultProxy['log'] = [];
  const denied = new Set<string>();
  const listingActions: Array<() => Promise<void>> = [];
  const getActions = new Map<string, () => Promise<void>>();
  const planned: Record<Exclude<Operation, 'write'>, FaultKind[]> = { list: [], get: [], head: [], other: [] };
  let brokenWrites: Array<{ match: (url: string) => boolean; kind: WriteFaultKind; left: number }> = [];
  const sockets = new Set<Socket>();

  // Kinds come from a shuffled bag, refilled when empty: every kind is drawn equally often, so a
  // run with a few dozen faults sees each kind several times, where independent draws might skip one.
  const bagOf = <K>(all: K[]) => {
    let bag: K[] = [];
    return (): K => {
      if (bag.length === 0) {
        bag = [...all];
        for (let i = bag.length - 1; i > 0; i--) {
          const j = Math.floor(rand() * (i + 1));
          [bag[i], bag[j]] = [bag[j], bag[i]];
        }
      }
      return bag.pop()!;
    };
  };
  const nextKind = bagOf(kinds);
  const nextWriteKind = bagOf(writeKinds);
  const record = (kind: FaultKind | WriteFaultKind, req: IncomingMessage) => {
    injected[kind]++;
    log.push({ kind, method: req.method ?? '', url: req.url ?? '' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A hook that failed, or a socket that went away under us: the client sees a reset.
      process.stderr.write(`fault-proxy: ${(err as Error)?.stack ?? err}\n`);
      req.socket.destroy();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { op, bucket, key } = classify(req);
    requests[op]++;
    if (opts.verifyCredentials && !signatureMatches(req, opts.verifyCredentials)) {
      req.resume();
      return sendError(res, req, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
    }
    if (op === 'other') return forward(req, res, undefined);
    if (op === 'write') return breakWrite(req, res);
    const objectId = `${bucket}/${key}`;
    if (op !== 'list' && denied.has(objectId)) return sendError(res, req, 403, 'AccessDenied', 'Access Denied');

    // Hooks first: a request that runs one is never broken as well.
    if (op === 'list' && listingActions.length > 0) {
      const action = listingActions.shift()!;
      return forward(req, res, async (up) => {
        const body = await readAll(up);
        await action();
        res.writeHead(up.statusCode ?? 502, up.statusMessage, up.headers as OutgoingHttpHeaders);
        res.end(body);
      });
    }
    if (op === 'get' && getActions.has(objectId)) {
      const action = getActions.get(objectId)!;
      getActions.delete(objectId);
      return forward(req, res, (up) => breakBody(req, res, up, 'reset-during', 0.5, action, false));
    }

    const kind = planned[op].shift() ?? (rand() < rate ? nextKind() : undefined);
    if (!kind) return forward(req, res, undefined);
    switch (kind) {
      case '503':
        record(kind, req);
        return sendError(res, req, 503, 'SlowDown', 'Please reduce your request rate.');
      case '500':
        record(kind, req);
        return sendError(res, req, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      case 'reset-before':
        record(kind, req);
        return reset(req.socket);
      default: {
        // Drawn now, not when the response arrives, so the same seed breaks the same requests the
        // same way whatever order responses come back in.
        const at = rand();
        return forward(req, res, (up) => breakBody(req, res, up, kind, at, undefined, true));
      }
    }
  }

  /** Forwards an object write, or breaks it the way the next planned or drawn write fault says. */
  function breakWrite(req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    const planned = brokenWrites.find((b) => b.left > 0 && b.match(req.url ?? ''));
    if (planned) planned.left--;
    const kind = planned?.kind ?? (writeKinds.length > 0 && rand() < (opts.writeRate ?? rate) ? nextWriteKind() : undefined);
    if (!kind) return forward(req, res, undefined);
    record(kind, req);
    switch (kind) {
      case '503':
        req.resume();
        return sendError(res, req, 503, 'SlowDown', 'Please reduce your request rate.');
      case '500':
        req.resume();
        return sendError(res, req, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      case 'reset-before':
        return reset(req.socket);
      case 'reset-after':
        return forward(req, res, async (up) => {
          await readAll(up);
          reset(req.socket);
        });
      case 'slow':
        return forward(req, res, undefined, true);
      case 'stall':
        req.resume();
        return; // Never answered: the client's own timeout has to end it.
    }
  }

  /**
   * Sends the response's headers and part of its body (`at`, 0 to 1, says where in the middle it is
   * cut), runs `action` if any, then breaks the response the way `kind` says.
   */
  async function breakBody(req: IncomingMessage, res: ServerResponse, up: IncomingMessage, kind: FaultKind, at: number, action: (() => Promise<void>) | undefined, count: boolean): Promise<void> {
    const length = req.method === 'HEAD' ? 0 : Number(up.headers['content-length'] ?? NaN);
    if (!(length >= 2)) {
      // Nothing to cut in half (a HEAD, an empty body, or a length we do not know).
      up.destroy();
      await action?.();
      if (kind === 'stall') {
        if (count) record('stall', req);
        return; // Never answered: the client's own timeout has to end it.
      }
      if (count) record('reset-before', req);
      return reset(req.socket);
    }
    if (count) record(kind, req);
    // Somewhere in the middle, never all of it: at least one byte sent, at least one missing.
    const cut = Math.max(1, Math.min(length - 1, Math.floor(length * (0.1 + 0.8 * at))));
    res.writeHead(up.statusCode ?? 502, up.statusMessage, up.headers as OutgoingHttpHeaders);
    let sent = 0;
    for await (const chunk of up as AsyncIterable<Buffer>) {
      const part = chunk.subarray(0, cut - sent);
      sent += part.length;
      if (part.length > 0) await write(res, part);
      if (sent >= cut) break;
    }
    up.destroy();
    await action?.();
    if (kind === 'short-body') req.socket.end();
    else if (kind === 'reset-during') reset(req.socket);
    // 'stall': the socket stays open and silent until the client closes it or stop() does.
  }

  /**
   * Forwards `req` upstream with its headers unchanged; `onResponse` takes over the upstream response,
   * else it is streamed back as is. Enforces If-Match when asked to.
   */
  function forward(req: IncomingMessage, res: ServerResponse, onResponse: ((up: IncomingMessage) => Promise<void>) | undefined, slowBody = false): Promise<void> {
    return new Promise((resolve, reject) => {
      const upReq = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false },
        (up) => {
          const wanted = req.headers['if-match'];
          const status = up.statusCode ?? 502;
          if (ifMatch === 'enforce' && wanted && status >= 200 && status < 300 && !sameEtag(wanted, String(up.headers.etag ?? ''))) {
            up.destroy();
            sendError(res, req, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
            resolve();
            return;
          }
          if (onResponse) {
            onResponse(up).then(resolve, reject);
            return;
          }
          res.writeHead(status, up.statusMessage, up.headers as OutgoingHttpHeaders);
          up.pipe(res);
          up.on('end', () => resolve());
          up.on('error', () => {
            reset(req.socket);
            resolve();
          });
        },
      );
      upReq.on('error', (err) => {
        // The server behind us failed: the client sees a reset, as it would from a dead S3 node.
        reset(req.socket);
        if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') reject(err);
        else resolve();
      });
      // The client went away (it gave up on a stall, say): stop talking to the server for it.
      res.on('close', () => upReq.destroy());
      if (slowBody) trickle(req, upReq).catch(() => upReq.destroy());
      else req.pipe(upReq);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    injected,
    requests,
    log,
    setRate(r) {
      rate = r;
    },
    breakNext(op, list) {
      planned[op].push(...list);
    },
    breakWrites(match, kind, times = Infinity) {
      brokenWrites.push({ match, kind, left: times });
    },
    clearWrites() {
      brokenWrites = [];
    },
    deny(bucket, key) {
      denied.add(`${bucket}/${key}`);
    },
    afterListing(action) {
      listingActions.push(action);
    },
    duringFirstGet(bucket, key, action) {
      getActions.set(`${bucket}/${key}`, action);
    },
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return stopping;
    },
  };
}

/** Which operation a request is, with its bucket and key (decoded), from a path-style URL. */
function classify(req: IncomingMessage): { op: Operation; bucket: string; key: string } {
  const url = new URL(req.url ?? '/', 'http://proxy');
  const path = decodeURIComponent(url.pathname);
  const slash = path.indexOf('/', 1);
  const bucket = slash === -1 ? path.slice(1) : path.slice(1, slash);
  const key = slash === -1 ? '' : path.slice(slash + 1);
  const method = req.method ?? '';
  if (bucket === '') return { op: 'other', bucket, key };
  if (key === '') {
    // A bucket-level GET with no subresource (?location, ?acl, ...) is a listing, V1 or V2.
    const sub = [...url.searchParams.keys()].some((k) => !['list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'start-after', 'marker', 'encoding-type', 'fetch-owner', 'x-id'].includes(k));
    return { op: method === 'GET' && !sub ? 'list' : 'other', bucket, key };
  }
  const op = method === 'GET' ? 'get' : method === 'HEAD' ? 'head' : ['PUT', 'POST', 'DELETE'].includes(method) ? 'write' : 'other';
  return { op, bucket, key };
}

/** Answers with an S3 error (XML body, except for HEAD, which has none). */
function sendError(res: ServerResponse, req: IncomingMessage, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
  const headers: OutgoingHttpHeaders = { 'content-type': 'application/xml', 'x-amz-request-id': 'fault-proxy' };
  if (req.method === 'HEAD') {
    res.writeHead(status, headers);
    res.end();
  } else {
    res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}

/** Resets the connection (RST, not FIN), as a failing load balancer does. */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

function write(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (res.write(chunk)) resolve();
    else {
      res.once('drain', resolve);
      res.once('close', resolve);
    }
  });
}

/** Copies a request body to `to` 32 KiB every 10 ms (about 3 MB/s), as a slow uplink sends it. */
async function trickle(from: IncomingMessage, to: NodeJS.WritableStream): Promise<void> {
  for await (const chunk of from as AsyncIterable<Buffer>) {
    for (let at = 0; at < chunk.length; at += 32 * 1024) {
      to.write(chunk.subarray(at, at + 32 * 1024));
      await new Promise((ok) => setTimeout(ok, 10));
    }
  }
  to.end();
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

function sameEtag(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return a.split(',').some((x) => x.trim() === '*' || norm(x) === norm(b));
}

/** RFC 3986 escaping, as SigV4 canonical requests use it. */
function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/**
 * Whether the request's SigV4 Authorization header was made with `creds` for exactly the request
 * as it is forwarded (method, path, query, the signed headers, Host among them). A request signed
 * for another key id is left to the server (s3rver answers InvalidAccessKeyId).
 */
function signatureMatches(req: IncomingMessage, creds: { accessKeyId: string; secretAccessKey: string }): boolean {
  const auth = String(req.headers.authorization ?? '');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]+)$/.exec(auth);
  if (!m) return false;
  const [, keyId, date, region, service, signedHeaders, signature] = m;
  if (keyId !== creds.accessKeyId) return true;
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const params = (q === -1 ? '' : raw.slice(q + 1))
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const eq = p.indexOf('=');
      const k = decodeURIComponent(eq === -1 ? p : p.slice(0, eq));
      const v = eq === -1 ? '' : decodeURIComponent(p.slice(eq + 1).replace(/\+/g, '%20'));
      return [escapeUri(k), escapeUri(v)] as const;
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const names = signedHeaders.split(';');
  const canonical = [
    req.method,
    path,
    params.map(([k, v]) => `${k}=${v}`).join('&'),
    names.map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join(''),
    signedHeaders,
    String(req.headers['x-amz-content-sha256'] ?? 'UNSIGNED-PAYLOAD'),
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', String(req.headers['x-amz-date'] ?? ''), scope, createHash('sha256').update(canonical, 'utf8').digest('hex')].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, date), region), service), 'aws4_request');
  return hmac(key, toSign).toString('hex') === signature;
}
