/**
 * An HTTP proxy for tests in front of a real S3 server (s3rver) that sees the writes the fault
 * proxy leaves alone: it logs every request with the status the server answered, and can hold a
 * request forever (so a SIGKILL lands while it is in flight, before the server stored anything) or
 * answer requests with 403 AccessDenied, as a destination without write permission does.
 * Requests go on with every header unchanged, so SigV4 signatures still verify behind it.
 */
import { createServer, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request the server answered. */
export interface Logged {
  method: string;
  /** Path and query, as sent: `/bucket/key?partNumber=2&uploadId=…`. */
  url: string;
  status: number;
}

type Match = (req: { method: string; url: string }) => boolean;

export interface WriteProxy {
  endpoint: string;
  /** Requests answered by the server, in order (held and denied ones are not in it). */
  log: Logged[];
  /** Requests matching `match` are never answered from now on; resolves when the first such one arrives. */
  hold(match: Match): Promise<void>;
  /** Requests matching `match` get 403 AccessDenied from now on. */
  deny(match: Match): void;
  /** Forgets holds and denials (held requests stay held). */
  clear(): void;
  stop(): Promise<void>;
}

/** The UploadPart requests in `log` that the server stored, as `uploadId part` strings. */
export function storedParts(log: Logged[]): string[] {
  return log
    .filter((r) => r.method === 'PUT' && r.status === 200 && /[?&]partNumber=/.test(r.url))
    .map((r) => {
      const q = new URL(r.url, 'http://x').searchParams;
      return `${q.get('uploadId')} ${q.get('partNumber')}`;
    });
}

export async function startWriteProxy(target: string): Promise<WriteProxy> {
  const to = new URL(target);
  const log: Logged[] = [];
  let holds: Array<{ match: Match; arrived: () => void }> = [];
  let denials: Match[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const r = { method: req.method ?? '', url: req.url ?? '' };
    const held = holds.find((h) => h.match(r));
    if (held) {
      held.arrived();
      return; // never answered, never forwarded
    }
    if (denials.some((d) => d(r))) {
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
      return;
    }
    const up = httpRequest(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers as OutgoingHttpHeaders },
      (answer: IncomingMessage) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers as OutgoingHttpHeaders);
        answer.pipe(res);
        answer.on('end', () => log.push({ ...r, status: answer.statusCode ?? 0 }));
      },
    );
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    hold(match) {
      return new Promise<void>((arrived) => holds.push({ match, arrived }));
    },
    deny(match) {
      denials.push(match);
    },
    clear() {
      holds = [];
      denials = [];
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
