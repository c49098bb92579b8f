/**
 * A run's figures as Prometheus metric families, and their text exposition format (the format
 * node_exporter's textfile collector reads and a Pushgateway accepts).
 *
 * Counters (`_total`) hold the figures of one run: every run is a new process, and a counter that
 * starts again from zero is what Prometheus expects of a restarted process.
 */

/** One sample: label values and a value. */
export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

/** A metric family: name, help, type and its samples. */
export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: Sample[];
}

/** What the metrics are made of: one run's outcome, as the run report and the state know it. */
export interface RunFigures {
  lines: { valid: number; blank: number; rejectedByReason: Record<string, number> };
  objects: { cleaned: number; skipped: number; failed: number; gone: number; quarantined: number };
  /** Decompressed input bytes cleaned. */
  bytes: number;
  errorRate: number;
  /** 1 when a quality gate was breached, 0 when it held, undefined when no gate was set. */
  gateBreached?: boolean;
  durationSeconds: number;
  stageSeconds: { download: number; clean: number };
  exitCode: number;
  /** When the run ended, and when the last run of this source that ended with exit code 0 did (Unix seconds). */
  endedAt: number;
  lastSuccessAt?: number;
  version: string;
}

/** The metric families of one run. */
export function runMetrics(f: RunFigures): Family[] {
  const rejected = Object.entries(f.lines.rejectedByReason).sort(([a], [b]) => (a < b ? -1 : 1));
  const families: Family[] = [
    {
      name: 'cleaner_lines_total',
      help: 'Input lines of the run by where they ended: valid (output), rejected (errors, by reason), blank.',
      type: 'counter',
      samples: [
        { labels: { outcome: 'valid' }, value: f.lines.valid },
        { labels: { outcome: 'blank' }, value: f.lines.blank },
        ...rejected.map(([reason, n]) => ({ labels: { outcome: 'rejected', reason }, value: n })),
      ],
    },
    {
      name: 'cleaner_objects_total',
      help: 'Objects of the run by outcome (quarantined objects are not counted as cleaned).',
      type: 'counter',
      samples: (['cleaned', 'skipped', 'failed', 'gone', 'quarantined'] as const).map((outcome) => ({ labels: { outcome }, value: f.objects[outcome] })),
    },
    { name: 'cleaner_input_bytes_total', help: 'Decompressed input bytes cleaned by the run.', type: 'counter', samples: [{ value: f.bytes }] },
    { name: 'cleaner_error_rate_ratio', help: 'Share of the run\'s non-blank lines that were rejected (0 to 1).', type: 'gauge', samples: [{ value: f.errorRate }] },
    { name: 'cleaner_run_duration_seconds', help: 'Wall-clock time of the run, from start to end.', type: 'gauge', samples: [{ value: f.durationSeconds }] },
    {
      name: 'cleaner_stage_seconds',
      help: 'Time spent per stage, summed over objects (parallel work counts once per object).',
      type: 'gauge',
      samples: [
        { labels: { stage: 'download' }, value: f.stageSeconds.download },
        { labels: { stage: 'clean' }, value: f.stageSeconds.clean },
      ],
    },
    { name: 'cleaner_run_exit_code', help: 'Exit code of the run (0 ok, 4 objects failed, 5 gate breached; README lists all).', type: 'gauge', samples: [{ value: f.exitCode }] },
    { name: 'cleaner_last_run_timestamp_seconds', help: 'When the last run ended (Unix time).', type: 'gauge', samples: [{ value: f.endedAt }] },
    { name: 'cleaner_build_info', help: 'The cleaner version that produced these metrics.', type: 'gauge', samples: [{ labels: { version: f.version }, value: 1 }] },
  ];
  if (f.gateBreached !== undefined) {
    families.push({ name: 'cleaner_gate_breached', help: '1 when the run breached its quality gate, else 0.', type: 'gauge', samples: [{ value: f.gateBreached ? 1 : 0 }] });
  }
  if (f.lastSuccessAt !== undefined) {
    families.push({
      name: 'cleaner_last_success_timestamp_seconds',
      help: 'When the last run of this source that ended with exit code 0 finished (Unix time).',
      type: 'gauge',
      samples: [{ value: f.lastSuccessAt }],
    });
  }
  return families;
}

/** The text exposition format (version 0.0.4) of `families`, with `constLabels` on every sample. */
export function exposition(families: Family[], constLabels: Record<string, string> = {}): string {
  let out = '';
  for (const f of families) {
    out += `# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) {
      const labels = Object.entries({ ...constLabels, ...s.labels });
      const text = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
      out += `${f.name}${text} ${formatValue(s.value)}\n`;
    }
  }
  return out;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
