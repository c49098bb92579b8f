/**
 * A real PostgreSQL server (Debian's postgresql package) in a temp dir on a free loopback port,
 * started and stopped by the tests. PostgreSQL refuses to run as root, so under root the server
 * runs as the `postgres` user (the package creates it) with the temp dir handed to it. When the
 * binaries are missing the tests skip with the command that installs them; under CI (CI=true) that
 * is a failure, since .ci/run installs them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { missing } from './pushgateway.js';

/** The newest installed server's binaries, e.g. /usr/lib/postgresql/15/bin. */
function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(root, versions[0], 'bin') : undefined;
}

/** Why the PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresMissing(): string | undefined {
  const bin = binDir();
  return missing(bin ? join(bin, 'initdb') : '/usr/lib/postgresql/15/bin/initdb', 'postgresql');
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface Postgres {
  port: number;
  /** postgres://cleaner:PASSWORD@127.0.0.1:PORT/cleaner */
  url: string;
  password: string;
  /** Runs one query as the test user and returns its rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Stops the server immediately (fast shutdown), keeping its data. */
  stop(): void;
  /** Starts it again on the same port. */
  start(): void;
  /** Stops it and removes its data. */
  destroy(): void;
}

/** Starts a fresh server with a password-protected user `cleaner` owning database `cleaner`. */
export async function startPostgres(): Promise<Postgres> {
  const bin = binDir()!;
  const dir = mkdtempSync(join(tmpdir(), 'cleaner-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const as = (cmd: string, args: string[]) => {
    const r = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' }) : spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
  const pwFile = join(dir, 'pw');
  writeFileSync(pwFile, password);
  if (asRoot) chownSync(pwFile, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), 0);
  as(join(bin, 'initdb'), ['-D', data, '-U', 'cleaner', '--pwfile', pwFile, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale', 'C', '--no-sync']);
  rmSync(pwFile);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const start = () => as(join(bin, 'pg_ctl'), ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
  const stop = () => as(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'cleaner', password, database: 'postgres' });
  await admin.connect();
  await admin.query('CREATE DATABASE cleaner');
  await admin.end();
  const url = `postgres://cleaner:${password}@127.0.0.1:${port}/cleaner`;
  return {
    port,
    url,
    password,
    async query(sql, params) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query(sql, params)).rows;
      } finally {
        await c.end();
      }
    },
    stop,
    start,
    destroy() {
      try {
        stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
