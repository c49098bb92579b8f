/**
 * A TCP proxy for the bench and tests that caps each connection's download rate, the way S3 serves each
 * connection at some tens of MB/s while a local s3rver serves loopback as fast as the CPU allows.
 * Bytes from the client pass untouched (Host header included, so signatures still verify);
 * bytes from the server are released at `mbps` MB/s per connection.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

export interface ThrottleProxy {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startThrottleProxy(target: string, mbps: number): Promise<ThrottleProxy> {
  const { hostname, port } = new URL(target);
  const bytesPerMs = (mbps * 1e6) / 1000;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    // A token bucket: after each chunk, pause the server side until its bytes fit the rate.
    let credit = 0;
    let last = Date.now();
    upstream.on('data', (chunk: Buffer) => {
      const now = Date.now();
      credit = Math.min(credit + (now - last) * bytesPerMs, 1 << 20);
      last = now;
      credit -= chunk.length;
      client.write(chunk);
      if (credit < 0) {
        upstream.pause();
        setTimeout(() => upstream.resume(), Math.ceil(-credit / bytesPerMs));
      }
    });
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
