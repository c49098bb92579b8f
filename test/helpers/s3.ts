/**
 * A real S3 endpoint for tests: an s3rver child process on loopback, plus a client configured for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

// s3rver 3.7.1 accepts no other credentials.
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';
const REGION = 'us-east-1';
// A cold start on a busy CI machine takes about a second; 20 s means something is really wrong.
const START_TIMEOUT_MS = 20_000;
// The child itself gives up on open connections after 2 s; past this it is stuck and gets SIGKILL.
const STOP_TIMEOUT_MS = 5_000;
// Enough stderr to show a stack trace in a startup error without holding a chatty log in memory.
const STDERR_KEEP_BYTES = 16 * 1024;

// The SDK warns on Node 20 about its *future* releases; the CLI silences it too (bin/cleaner.js).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const CHILD_SCRIPT = fileURLToPath(new URL('./s3rver-child.mjs', import.meta.url));

/** A running s3rver and the means to use it; `stop()` releases everything `startS3` made. */
export interface S3Server {
  /** Base URL, `http://127.0.0.1:<port>`. */
  endpoint: string;
  port: number;
  /** The server's process id (the bench reads its CPU time). */
  pid: number;
  /** Where s3rver keeps buckets and objects on disk. */
  dir: string;
  /** A client that works against this server (path-style, S3RVER credentials, no default checksums). */
  client: S3Client;
  /** Creates an empty bucket. */
  createBucket(name: string): Promise<void>;
  /** Stores one object. */
  put(bucket: string, key: string, body: Buffer | string): Promise<void>;
  /** Stores every entry, at most `concurrency` requests at a time; rejects on the first failure. */
  putMany(bucket: string, entries: Array<[key: string, body: Buffer | string]>, concurrency?: number): Promise<void>;
  /** Returns an object's bytes exactly as stored. */
  get(bucket: string, key: string): Promise<Buffer>;
  /** Deletes one object (no error if it is already gone, as in S3). */
  delete(bucket: string, key: string): Promise<void>;
  /** Environment for a child process (the CLI) so the AWS SDK inside it reaches this server. */
  env(): Record<string, string>;
  /** Stops the server, waits for its process to exit, and removes `dir` if `startS3` created it. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver in a child process on a free loopback port and resolves once it accepts requests.
 * `dir` defaults to a fresh temporary directory, removed again by `stop()`.
 * The child also exits by itself when this process dies, even by SIGKILL.
 */
export async function startS3(opts: { dir?: string } = {}): Promise<S3Server> {
  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'cleaner-s3rver-')));
  if (!ownsDir) await mkdir(dir, { recursive: true });

  const child = spawn(process.execPath, [CHILD_SCRIPT, dir, '0'], {
    // Replaces, not extends, NODE_OPTIONS: a test runner's `--import tsx` or `--test` flags have no
    // business in the server, and the legacy provider is what makes listings past 1,000 keys work.
    env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
    // stdin stays an open pipe for the child's whole life: when we die it sees EOF and exits.
    stdio: ['pipe', 'pipe', 'pipe'],
  });

  // We never write to stdin; a reset on it when the child dies must not crash the test process.
  child.stdin!.on('error', () => {});
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    stderr = (stderr + s).slice(-STDERR_KEEP_BYTES);
  });

  let port: number;
  try {
    port = await readPort(child, () => stderr);
  } catch (err) {
    child.kill('SIGKILL');
    if (ownsDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }

  // A test that forgets stop() must not hang the test runner: nothing here keeps the event loop
  // alive, and when this process exits the child sees stdin close and follows.
  setRefs(child, false);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: REGION,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    // With the SDK's default checksums a streamed PUT goes out aws-chunked, and s3rver stores the
    // chunk framing ("65\r\n…") as part of the object.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

  const put = async (bucket: string, key: string, body: Buffer | string): Promise<void> => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      client.destroy();
      // Keep this process alive until the child is really gone, or the awaited promise never settles.
      setRefs(child, true);
      let killTimer: NodeJS.Timeout | undefined;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      }
      await exited;
      clearTimeout(killTimer);
      child.stdin?.destroy();
      if (ownsDir) await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  return {
    endpoint,
    port,
    pid: child.pid!,
    dir,
    client,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    put,
    async putMany(bucket, entries, concurrency = 16) {
      let next = 0;
      let failed = false;
      const worker = async (): Promise<void> => {
        // Stop taking work after a failure so the rejection is not followed by a flood of uploads.
        while (!failed && next < entries.length) {
          const [key, body] = entries[next++];
          try {
            await put(bucket, key, body);
          } catch (err) {
            failed = true;
            throw err;
          }
        }
      };
      const workers = Array.from({ length: Math.max(1, Math.min(concurrency, entries.length)) }, worker);
      await Promise.all(workers);
    },
    async get(bucket, key) {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    },
    async delete(bucket, key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    env() {
      return {
        AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
        AWS_REGION: REGION,
        AWS_ENDPOINT_URL_S3: endpoint,
      };
    },
    stop,
  };
}

/** Resolves with the port from the child's `{"port":N}` line; rejects with its stderr if it never comes. */
function readPort(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (why: string): void => {
      cleanup();
      const log = stderr().trim();
      reject(
        new Error(
          `s3rver test server ${why}.\n` +
            `  command: ${process.execPath} ${CHILD_SCRIPT} <dir> 0 (NODE_OPTIONS=--openssl-legacy-provider)\n` +
            `  stderr: ${log === '' ? '(empty)' : '\n' + log}\n` +
            `  If s3rver is missing, run \`npm install\` (it is a devDependency).`,
        ),
      );
    };
    const onData = (s: string): void => {
      out += s;
      const nl = out.indexOf('\n');
      if (nl === -1) return;
      const line = out.slice(0, nl);
      let port: unknown;
      try {
        port = (JSON.parse(line) as { port?: unknown }).port;
      } catch {
        // Handled below: anything but the promised line is a broken child.
      }
      if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0) {
        fail(`printed ${JSON.stringify(line)} instead of {"port":N}`);
        return;
      }
      cleanup();
      // Nothing more is expected on stdout, but keep draining so a stray write can never block the child.
      child.stdout!.resume();
      resolve(port);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      // Let the last stderr chunk arrive before quoting it.
      void setImmediate(() => fail(`exited before listening (${signal ?? `exit code ${code}`})`));
    const onError = (err: Error): void => fail(`could not be spawned (${err.message})`);
    const timer = setTimeout(() => fail(`did not report a port within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/** Makes the child and its pipes (net.Sockets underneath) keep this process alive (true) or not (false). */
function setRefs(child: ChildProcess, ref: boolean): void {
  for (const handle of [child, child.stdin, child.stdout, child.stderr] as Array<{ ref?: () => void; unref?: () => void } | null>) {
    if (ref) handle?.ref?.();
    else handle?.unref?.();
  }
}
