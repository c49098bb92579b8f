/**
 * Runs one s3rver on 127.0.0.1 for tests, as its own process.
 *
 * Usage: node s3rver-child.mjs <directory> [port]
 *
 * Promises: prints exactly one line `{"port":N}` to stdout once the server is listening (port 0,
 * the default, lets the OS choose); exits 0 after a clean shutdown on SIGTERM or SIGINT; and exits
 * on its own when its parent process dies, so a SIGKILLed test never leaves a server behind.
 *
 * Why a separate process: s3rver 3.7.1 answers ListObjectsV2 past 1,000 keys with HTTP 500 unless
 * its Node runs with `--openssl-legacy-provider`, and that flag can only be given at startup
 * (NODE_OPTIONS), not to an already running test process.
 */
import { fstatSync } from 'node:fs';
import S3rver from 's3rver';

const [directory, portArg = '0'] = process.argv.slice(2);
const port = Number(portArg);
if (!directory || !Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write('usage: node s3rver-child.mjs <directory> [port]\n');
  process.exit(2);
}

// How long a shutdown may wait for open requests before the process exits anyway: long enough for
// an in-flight PUT on loopback, short enough that a test's teardown never hangs.
const SHUTDOWN_GRACE_MS = 2000;
// How often to look for a dead parent when stdin cannot tell us (see watchParent).
const PARENT_POLL_MS = 500;

const server = new S3rver({
  address: '127.0.0.1',
  port,
  directory,
  silent: true,
});

let stopping = false;

/** Closes the HTTP server and exits; safe to call more than once. */
function shutdown(code) {
  if (stopping) return;
  stopping = true;
  // Never let a stuck keep-alive socket keep us alive.
  setTimeout(() => process.exit(code), SHUTDOWN_GRACE_MS).unref();
  const http = server.httpServer;
  if (!http) process.exit(code);
  // The SDK keeps idle keep-alive sockets open; close() alone would wait for their timeout.
  http.closeIdleConnections?.();
  server.close().then(
    () => process.exit(code),
    () => process.exit(code),
  );
  // Requests still running after a short grace are cut off rather than waited for.
  setTimeout(() => http.closeAllConnections?.(), SHUTDOWN_GRACE_MS / 2).unref();
}

/**
 * Exits when the parent goes away. The parent holds our stdin as a pipe: its death closes the pipe
 * at once, even after SIGKILL. When stdin is not a pipe (run by hand from a terminal), fall back to
 * noticing that we were re-parented, which on Linux happens when the parent dies.
 */
function watchParent() {
  let stdinIsPipe = false;
  try {
    const st = fstatSync(0);
    stdinIsPipe = st.isFIFO() || st.isSocket();
  } catch {
    // No stdin at all: rely on polling.
  }
  if (stdinIsPipe) {
    process.stdin.on('data', () => {}); // Nothing is expected on stdin; reading is what detects EOF.
    process.stdin.on('end', () => shutdown(0));
    process.stdin.on('close', () => shutdown(0));
    process.stdin.on('error', () => shutdown(0));
  }
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) shutdown(0);
  }, PARENT_POLL_MS).unref();
}

// s3rver reports a failed listen (say EADDRINUSE) as an 'error' event nobody handles: print the
// error under our name (startS3 quotes stderr) and exit 1, instead of node's "Unhandled 'error' event".
// Once it serves, an error thrown for one request (a client SIGKILLed in the middle of a streamed
// PUT can do it) is printed and the server goes on, as a real store would: every test sharing
// this server would otherwise see ECONNREFUSED from then on and fail for a client it never ran.
let serving = false;
process.on('uncaughtException', (err) => {
  process.stderr.write(`s3rver-child: ${err?.stack ?? err}\n`);
  if (!serving) process.exit(1);
});
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
// A parent that died mid-read leaves a broken stdout; that is not worth a stack trace.
process.stdout.on('error', () => shutdown(0));

watchParent();

try {
  const address = await server.run();
  serving = true;
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
} catch (err) {
  process.stderr.write(`s3rver-child: failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
}
