/**
 * A lake for scale tests: a tiny S3-compatible endpoint on loopback that serves N generated
 * objects without storing them. Object i's key, bytes and ETag are pure functions of i (and of
 * how often it was `touch`ed), so a listing and a GET always agree, a million keys cost no disk,
 * and a test can compute every expected output. Speaks just enough of S3 for the AWS SDK used
 * unchanged (path-style, any credentials): ListObjectsV2 (prefix, max-keys, continuation-token,
 * start-after), GET (Range, If-Match), HEAD, and HEAD/GET on the bucket. s3rver stays for
 * everything else.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the lake holds: `count` objects under `prefix` in `bucket`, one day-folder per `perDay`. */
export interface LakeOptions {
  bucket?: string;
  prefix?: string;
  count: number;
  /** Objects per date folder (events/2026/01/01/...): keys sort in index order. Default 1,000. */
  perDay?: number;
  /** Every `rejectEvery`-th object carries one line the default rules reject (0: none). Default 10. */
  rejectEvery?: number;
  /** A delay before each listing page is served, so a test can kill a run mid-listing. */
  pageDelayMs?: number;
  /** Most keys per listing page, whatever the client asks (S3's is 1,000): more pages from fewer objects. */
  pageSize?: number;
}

export interface Lake {
  endpoint: string;
  bucket: string;
  prefix: string;
  /** How many objects the lake holds now; raising it adds objects at the end, as a delivery stream does. */
  count: number;
  pageDelayMs: number;
  /** Key of object i. */
  key(i: number): string;
  /** Bytes of object i as a GET returns them now. */
  body(i: number): Buffer;
  /** ETag of object i, quoted as S3 sends it. */
  etag(i: number): string;
  /** Gives object i a new version (new bytes, new ETag). */
  touch(i: number): void;
  /** What the default rules make of object i: its valid and rejected lines. */
  expected(i: number): { valid: number; rejected: number };
  /** Requests served, by kind (list pages, GETs, HEADs). */
  served: { list: number; get: number; head: number };
  /** Environment for the CLI (and the AWS CLI) so the SDK reaches this endpoint. */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** Starts a lake on a free loopback port. */
export async function startLake(opts: LakeOptions): Promise<Lake> {
  const bucket = opts.bucket ?? 'lake';
  const prefix = opts.prefix ?? 'events/';
  const perDay = opts.perDay ?? 1000;
  const rejectEvery = opts.rejectEvery ?? 10;
  const versions = new Map<number, number>();
  const served = { list: 0, get: 0, head: 0 };

  // A date folder per `perDay` objects from 2020-01-01, and a zero-padded index: key order is index order.
  const key = (i: number): string => {
    const d = new Date(Date.UTC(2020, 0, 1) + Math.floor(i / perDay) * 86_400_000);
    return `${prefix}${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1, 2)}/${pad(d.getUTCDate(), 2)}/part-${pad(i, 9)}.jsonl`;
  };
  const uuid = (i: number, salt: number) => {
    const h = createHash('md5').update(`${i}:${salt}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
  const rejects = (i: number) => rejectEvery > 0 && i % rejectEvery === 0;
  const body = (i: number): Buffer => {
    const v = versions.get(i) ?? 0;
    const line = `{"event_id":"${uuid(i, v)}","session_id":"${uuid(i, -1)}","event_type":"view","timestamp":"2020-01-01T00:00:00Z","n":${i},"v":${v}}\n`;
    return Buffer.from(rejects(i) ? line + `{"event_id":"not-a-uuid","n":${i}}\n` : line);
  };
  const etag = (i: number) => `"${createHash('md5').update(body(i)).digest('hex')}"`;

  /** The first index whose key is greater than `k` (keys grow with the index). */
  const firstAfter = (k: string, inclusive: boolean): number => {
    let lo = 0;
    let hi = lake.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const km = key(mid);
      if (km < k || (!inclusive && km === k)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  /** Object index of a key, or -1. */
  const indexOf = (k: string): number => {
    const i = firstAfter(k, true);
    return i < lake.count && key(i) === k ? i : -1;
  };

  const xml = (res: ServerResponse, status: number, text: string, head = false) => {
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(text) });
    res.end(head ? undefined : text);
  };
  const error = (res: ServerResponse, status: number, code: string, head: boolean) =>
    xml(res, status, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`, head);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

  const list = async (q: URLSearchParams, res: ServerResponse) => {
    served.list++;
    if (lake.pageDelayMs > 0) await new Promise((r) => setTimeout(r, lake.pageDelayMs));
    const want = q.get('prefix') ?? '';
    const max = Math.min(opts.pageSize ?? 1000, Number(q.get('max-keys') ?? 1000));
    const token = q.get('continuation-token');
    const startAfter = q.get('start-after') ?? '';
    let from = firstAfter(want, true);
    if (token) from = Math.max(from, firstAfter(Buffer.from(token, 'base64url').toString('utf8'), false));
    else if (startAfter) from = Math.max(from, firstAfter(startAfter, false));
    const items: string[] = [];
    let i = from;
    for (; i < lake.count && items.length < max; i++) {
      const k = key(i);
      if (!k.startsWith(want)) break;
      items.push(
        `<Contents><Key>${esc(k)}</Key><LastModified>2020-01-01T00:00:00.000Z</LastModified><ETag>${esc(etag(i))}</ETag><Size>${body(i).length}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      );
    }
    const truncated = i < lake.count && key(i).startsWith(want) && items.length > 0;
    const next = truncated ? `<NextContinuationToken>${Buffer.from(key(i - 1)).toString('base64url')}</NextContinuationToken>` : '';
    xml(
      res,
      200,
      `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucket}</Name><Prefix>${esc(want)}</Prefix>` +
        `<KeyCount>${items.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${token ? `<ContinuationToken>${token}</ContinuationToken>` : ''}` +
        `${startAfter ? `<StartAfter>${esc(startAfter)}</StartAfter>` : ''}${next}${items.join('')}</ListBucketResult>`,
    );
  };

  const object = (req: IncomingMessage, res: ServerResponse, k: string, head: boolean) => {
    if (head) served.head++;
    else served.get++;
    const i = indexOf(k);
    if (i < 0) return error(res, 404, 'NoSuchKey', head);
    const bytes = body(i);
    const tag = etag(i);
    const ifMatch = req.headers['if-match'];
    if (ifMatch && ifMatch !== tag && ifMatch !== '*') return error(res, 412, 'PreconditionFailed', head);
    const headers: Record<string, string | number> = { etag: tag, 'last-modified': 'Wed, 01 Jan 2020 00:00:00 GMT', 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && !head) {
      const start = Number(range[1]);
      const end = Math.min(range[2] ? Number(range[2]) : bytes.length - 1, bytes.length - 1);
      if (start >= bytes.length) return error(res, 416, 'InvalidRange', head);
      res.writeHead(206, { ...headers, 'content-length': end - start + 1, 'content-range': `bytes ${start}-${end}/${bytes.length}` });
      return res.end(bytes.subarray(start, end + 1));
    }
    res.writeHead(200, { ...headers, 'content-length': bytes.length });
    res.end(head ? undefined : bytes);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://lake');
    const path = decodeURIComponent(url.pathname).replace(/^\//, '');
    const slash = path.indexOf('/');
    const b = slash < 0 ? path : path.slice(0, slash);
    const k = slash < 0 ? '' : path.slice(slash + 1);
    const head = req.method === 'HEAD';
    // Drain any request body (the SDK sends none for these) before answering.
    req.resume();
    if (b !== bucket) return error(res, 404, 'NoSuchBucket', head);
    if (k === '') {
      if (url.searchParams.get('list-type') === '2' && !head) return void list(url.searchParams, res);
      if (head || req.method === 'GET') return xml(res, 200, '', true);
    }
    if (req.method === 'GET' || head) return object(req, res, k, head);
    error(res, 405, 'MethodNotAllowed', head);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const lake: Lake = {
    endpoint,
    bucket,
    prefix,
    count: opts.count,
    pageDelayMs: opts.pageDelayMs ?? 0,
    key,
    body,
    etag,
    touch: (i) => void versions.set(i, (versions.get(i) ?? 0) + 1),
    expected: (i) => ({ valid: 1, rejected: rejects(i) ? 1 : 0 }),
    served,
    env: () => ({ AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: endpoint }),
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return lake;
}
