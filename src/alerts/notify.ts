/**
 * Webhook notifications at the end of a run: one JSON POST per URL, shaped as a Slack incoming
 * webhook (`text`) that also carries the same facts structured under `cleaner` for other receivers.
 */
import { deliver, type Delivery, DELIVERY } from './http.js';

/** When to notify: a gate breach, a failed run or failed objects, or every run. */
export const NOTIFY_ON = ['breach', 'failed', 'always'] as const;
export type NotifyOn = (typeof NOTIFY_ON)[number];

/** The facts a notification tells. */
export interface RunNews {
  runId: number;
  source: string;
  /** What happened, worst first: a breach outranks failed objects, which outrank ok. */
  verdict: 'breach' | 'failed' | 'ok';
  /** Also true on a breach when objects failed too, so `--notify-on failed` still hears of it. */
  failed: boolean;
  exitCode: number;
  message: string;
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
  errorRate: number;
  objectsFailed: number;
  objectsQuarantined: number;
  gateReasons: string[];
  topRules: Array<{ rule: string; count: number }>;
  report: string | null;
}

/** Whether `news` is worth a notification under `on`. */
export function shouldNotify(on: readonly NotifyOn[], news: RunNews): boolean {
  return on.includes('always') || (on.includes('breach') && news.verdict === 'breach') || (on.includes('failed') && news.failed);
}

/** The request body: Slack-compatible `text`, and the same facts structured. */
export function notificationBody(news: RunNews): Record<string, unknown> {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const head =
    news.verdict === 'breach' ? `cleaner run ${news.runId} breached the quality gate`
    : news.verdict === 'failed' ? `cleaner run ${news.runId} failed`
    : `cleaner run ${news.runId} finished`;
  const lines = [
    `*${head}*: ${news.source}`,
    news.message,
    `error rate ${pct(news.errorRate)} (${news.rejected} of ${news.valid + news.rejected} non-blank lines rejected)${news.objectsFailed ? `; ${news.objectsFailed} object(s) failed` : ''}${news.objectsQuarantined ? `; ${news.objectsQuarantined} object(s) quarantined` : ''}`,
  ];
  if (news.topRules.length) lines.push(`top failing rules: ${news.topRules.map((r) => `${r.rule} (${r.count})`).join(', ')}`);
  if (news.report) lines.push(`report: ${news.report}`);
  return {
    text: lines.join('\n'),
    cleaner: {
      run_id: news.runId,
      source: news.source,
      verdict: news.verdict,
      exit_code: news.exitCode,
      message: news.message,
      error_rate: news.errorRate,
      lines: news.lines,
      valid: news.valid,
      rejected: news.rejected,
      blank: news.blank,
      objects_failed: news.objectsFailed,
      objects_quarantined: news.objectsQuarantined,
      gate_reasons: news.gateReasons,
      top_rules: news.topRules,
      report: news.report,
    },
  };
}

/** POSTs the notification to every URL; resolves with one problem per URL that could not be reached. */
export async function sendNotifications(urls: readonly string[], news: RunNews, limits: Delivery = DELIVERY): Promise<string[]> {
  const body = JSON.stringify(notificationBody(news));
  const results = await Promise.allSettled(urls.map((url) => deliver(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } }, limits)));
  return results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
}
