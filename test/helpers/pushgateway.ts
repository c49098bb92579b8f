/**
 * A real Prometheus Pushgateway (Debian's prometheus-pushgateway) on a free loopback port, and a
 * real HTTP receiver for webhooks. When the binary is missing the tests skip with the command that
 * installs it; under CI (CI=true) that is a failure, since .ci/run installs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const PUSHGATEWAY_BIN = '/usr/bin/prometheus-pushgateway';
export const PROMTOOL_BIN = '/usr/bin/promtool';

/** Why a test needing `bin` cannot run here, or undefined when it can. */
export function missing(bin: string, pkg: string): string | undefined {
  if (existsSync(bin)) return undefined;
  const why = `${bin} not found: install it with \`apt-get install ${pkg}\``;
  if (process.env.CI) throw new Error(why);
  return why;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface Pushgateway {
  url: string;
  /** Every metric family of the group whose grouping labels include `labels`, as the gateway holds it. */
  families(labels: Record<string, string>): Promise<Record<string, Array<{ labels: Record<string, string>; value: number }>>>;
  stop(): Promise<void>;
}

/** Starts a Pushgateway and waits until it is ready. */
export async function startPushgateway(): Promise<Pushgateway> {
  const port = await freePort();
  const child: ChildProcess = spawn(PUSHGATEWAY_BIN, [`--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`pushgateway did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async families(labels) {
      const body = (await (await fetch(`${url}/api/v1/metrics`)).json()) as { data: Array<{ labels: Record<string, string>; [name: string]: unknown }> };
      const out: Record<string, Array<{ labels: Record<string, string>; value: number }>> = {};
      for (const group of body.data) {
        if (!Object.entries(labels).every(([k, v]) => group.labels[k] === v)) continue;
        for (const [name, fam] of Object.entries(group)) {
          if (name === 'labels' || name === 'last_push_successful') continue;
          const f = fam as { metrics: Array<{ labels: Record<string, string>; value: string }> };
          out[name] = f.metrics.map((m) => ({ labels: m.labels, value: Number(m.value) }));
        }
      }
      return out;
    },
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    },
  };
}

/** `promtool check metrics` over `text`: its exit code and what it said. */
export function promtoolCheck(text: string): { code: number | null; output: string } {
  const r = spawnSync(PROMTOOL_BIN, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

export interface Receiver {
  url: string;
  requests: Array<{ path: string; headers: IncomingMessage['headers']; body: string }>;
  close(): Promise<void>;
}

/** A webhook receiver on loopback that answers `status` after `delayMs`. */
export async function startReceiver(opts: { status?: number; delayMs?: number } = {}): Promise<Receiver> {
  const requests: Receiver['requests'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (s: string) => (body += s));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', headers: req.headers, body });
      setTimeout(() => res.writeHead(opts.status ?? 200).end('ok'), opts.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
