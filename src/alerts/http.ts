/**
 * Sends one HTTP request to a monitoring endpoint with retries, bounded in time. Used for
 * Pushgateway pushes and webhooks: a receiver that is down or slow costs the run at most
 * `deadlineMs`, and never its data or its exit code (callers log what this throws).
 */

/** Limits of one delivery; the defaults keep a dead receiver from holding a finished run for long. */
export interface Delivery {
  /** Most tries in all. */
  attempts: number;
  /** Longest wait for one response. */
  timeoutMs: number;
  /** Longest time for every try and backoff together. */
  deadlineMs: number;
  /** First backoff; doubled after every failed try. */
  backoffMs: number;
}

export const DELIVERY: Delivery = { attempts: 4, timeoutMs: 5_000, deadlineMs: 20_000, backoffMs: 500 };

/** Why a delivery gave up; `url` is already safe to log. */
export class DeliveryError extends Error {}

/**
 * Sends the request until a 2xx answer, retrying network errors, timeouts, 429 and 5xx.
 * Credentials in the URL (`https://user:pass@host/`) are sent as basic auth, since fetch refuses
 * them in the URL. Throws DeliveryError with a message that names the URL without its secrets.
 */
export async function deliver(url: string, init: { method: string; body: string; headers: Record<string, string> }, limits: Delivery = DELIVERY): Promise<void> {
  const target = new URL(url);
  const headers = { ...init.headers };
  if (target.username || target.password) {
    const user = decodeURIComponent(target.username);
    const pass = decodeURIComponent(target.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  const started = Date.now();
  let wait = limits.backoffMs;
  let last = '';
  for (let attempt = 1; attempt <= limits.attempts; attempt++) {
    const left = limits.deadlineMs - (Date.now() - started);
    if (left <= 0) break;
    try {
      const res = await fetch(target, { method: init.method, body: init.body, headers, signal: AbortSignal.timeout(Math.min(limits.timeoutMs, left)) });
      // Drain the body so the connection is released; its text helps when the receiver says no.
      const text = (await res.text()).slice(0, 200).trim();
      if (res.ok) return;
      last = `HTTP ${res.status}${text ? ` (${text})` : ''}`;
      if (res.status !== 429 && res.status < 500) break;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      last = e.name === 'TimeoutError' || e.name === 'AbortError' ? 'no answer in time' : (e.cause?.code ?? e.message);
    }
    const pause = Math.min(wait, limits.deadlineMs - (Date.now() - started));
    if (attempt === limits.attempts || pause <= 0) break;
    await new Promise((r) => setTimeout(r, pause));
    wait *= 2;
  }
  throw new DeliveryError(`${safeUrl(url)}: ${last || 'gave up'}`);
}

/**
 * A URL as it may appear in logs, state and reports: scheme, host and port only. Webhook URLs
 * carry their token in the path (Slack's /services/T…/B…/secret) and Pushgateway URLs may carry a
 * password, so everything after the host is left out.
 */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname !== '/' || u.search ? '/…' : '/'}`;
  } catch {
    return '(not a URL)';
  }
}
