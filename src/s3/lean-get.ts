/**
 * A lean GET for small objects: the request the SDK would send (same endpoint rules, same SigV4
 * signer, same credentials and region), sent with node:http(s) on a keep-alive agent, without the
 * SDK's middleware stack, schema-driven response parsing and retry bookkeeping. On a lake of tiny
 * objects those were about a fifth of the main thread's time (a --cpu-prof of 3,000 objects:
 * 4.4 of 21.5 s in @smithy/core, @aws-sdk/core, the signer and the XML parser).
 *
 * It only answers the happy case, bytes or nothing: every failure (an error status, a reset, a
 * stall, another ETag, another size) is left to the SDK path (download.ts), which retries and
 * classifies it (AccessDenied ends the run, 5xx and resets are retried). So a lean GET needs no
 * error mapping of its own, and cannot disagree with the SDK's.
 */
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand } from './sdk.js';
import { getEndpointFromInstructions } from '@smithy/core/endpoints';
import { SignatureV4 } from '@smithy/signature-v4';

/** One object's GET, If-Match `etag`: its bytes when a 200 brought exactly `size` of them, with the ETag it named; undefined otherwise. */
export type LeanGet = (key: string, etag: string, size: number, signal: AbortSignal) => Promise<{ body: Buffer; etag?: string } | undefined>;

/**
 * A lean GET for `bucket` through `client`'s endpoint and credentials, at most `sockets`
 * connections; undefined where the bucket needs more than plain SigV4 (S3 Express sessions,
 * multi-region access points): those keep the SDK's GET.
 */
export async function leanGet(client: S3Client, bucket: string, sockets: number): Promise<LeanGet | undefined> {
  const config = client.config;
  const ep = await getEndpointFromInstructions({ Bucket: bucket, Key: 'k' }, GetObjectCommand as never, config as never);
  const auth = (ep.properties?.authSchemes as Array<{ name?: string; signingName?: string; signingRegion?: string }> | undefined)?.[0];
  if (auth && auth.name !== 'sigv4') return undefined;
  if (ep.headers && Object.keys(ep.headers).length > 0) return undefined;
  const url = ep.url;
  const https = url.protocol === 'https:';
  const port = url.port ? Number(url.port) : undefined;
  // The bucket's path (path style) or nothing (virtual-host style); each key's segments follow.
  const base = url.pathname.replace(/\/$/, '');
  const signer = new SignatureV4({
    credentials: config.credentials,
    region: auth?.signingRegion ?? (await config.region()),
    service: auth?.signingName ?? 's3',
    sha256: config.sha256,
    // As the SDK signs S3 requests: the path is encoded once (below), not again by the signer.
    uriEscapePath: false,
    applyChecksum: true,
  });
  const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: sockets }) : new HttpAgent({ keepAlive: true, maxSockets: sockets });
  const send = https ? httpsRequest : httpRequest;
  const host = url.port ? `${url.hostname}:${url.port}` : url.hostname;

  return async (key, etag, size, signal) => {
    const path = `${base}/${key.split('/').map(encodeSegment).join('/')}`;
    const headers: Record<string, string> = { host };
    if (etag) headers['if-match'] = etag;
    const signed = await signer.sign({ method: 'GET', protocol: url.protocol, hostname: url.hostname, port, path, query: {}, headers });
    return new Promise<{ body: Buffer; etag?: string } | undefined>((resolve) => {
      const req = send({ agent, protocol: url.protocol, hostname: url.hostname, port, path, method: 'GET', headers: signed.headers as Record<string, string>, signal });
      req.on('error', () => resolve(undefined));
      req.on('response', (res) => resolve(readBody(res, size)));
      req.end();
    });
  };
}

/** The body of a 200 of `size` bytes, with its ETag; undefined (the response dropped) otherwise. */
function readBody(res: IncomingMessage, size: number): Promise<{ body: Buffer; etag?: string } | undefined> {
  const length = Number(res.headers['content-length']);
  if (res.statusCode !== 200 || (Number.isFinite(length) && length !== size)) {
    // A drained error body keeps the connection for the next GET; a large unexpected one is not worth reading.
    if (res.statusCode !== 200 && Number.isFinite(length) && length < 64 << 10) res.resume();
    else res.destroy();
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let n = 0;
    res.on('data', (c: Buffer) => {
      n += c.length;
      if (n > size) {
        res.destroy();
        return resolve(undefined);
      }
      chunks.push(c);
    });
    res.on('error', () => resolve(undefined));
    res.on('aborted', () => resolve(undefined));
    res.on('end', () => resolve(n === size ? { body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, n), etag: res.headers.etag } : undefined));
  });
}

/** A key's path segment as the SDK encodes it (RFC 3986: also !'()*). */
function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
