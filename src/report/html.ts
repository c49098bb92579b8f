/** Renders a run report as one self-contained HTML page (placeholder until the full page lands). */
import type { RunReport } from './build.js';

/** The report as a complete HTML document that needs no network to open. */
export function renderHtml(report: RunReport): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html><head><meta charset="utf-8"><title>cleaner run ${report.run.id}</title></head><body><pre>${esc(JSON.stringify(report, null, 2))}</pre></body></html>\n`;
}
