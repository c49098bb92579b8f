/** Pushes a run's metrics to a Prometheus Pushgateway, grouped by job `cleaner`, source and shard. */
import { deliver, type Delivery, DELIVERY } from './http.js';

/**
 * The push URL for a grouping key. Label values go base64url-encoded (`label@base64/…`): a source
 * such as s3://bucket/events/ holds slashes, which the plain form cannot carry.
 */
export function pushUrl(base: string, grouping: Record<string, string>): string {
  const root = base.replace(/\/+$/, '');
  let path = '/metrics/job/cleaner';
  for (const [k, v] of Object.entries(grouping)) path += `/${k}@base64/${Buffer.from(v, 'utf8').toString('base64url') || '='}`;
  return root + path;
}

/**
 * Pushes `body` (text exposition format) with POST: metrics of the same name in the group are
 * replaced and the others kept, so a failed run that has no new last-success time leaves the
 * previous one in place for the "no success for N hours" alert.
 */
export async function pushMetrics(base: string, grouping: Record<string, string>, body: string, limits: Delivery = DELIVERY): Promise<void> {
  await deliver(pushUrl(base, grouping), { method: 'POST', body, headers: { 'content-type': 'text/plain; version=0.0.4' } }, limits);
}
