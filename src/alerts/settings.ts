/**
 * Where a run's outcome goes, read from a command's settings. Apart from after-run.ts, which sends
 * it: a run loads that (the metrics, the Pushgateway, the webhooks, the report) only once it has
 * ended, and only when one of them is set.
 */
import type { Settings } from '../settings.js';
import type { NotifyOn } from './notify.js';

/** Where a run's outcome goes. Not stored with the run: URLs may hold secrets. */
export interface AlertSettings {
  metricsFile?: string;
  pushgateway?: string;
  notify: string[];
  notifyOn: NotifyOn[];
}

/** The alert settings among a command's settings. */
export function alertSettingsOf(s: Pick<Settings, 'metricsFile' | 'pushgateway' | 'notify' | 'notifyOn'>): AlertSettings {
  return { metricsFile: s.metricsFile, pushgateway: s.pushgateway, notify: s.notify, notifyOn: s.notifyOn as NotifyOn[] };
}

/** Whether any alert destination is set. */
export function alertsWanted(a: AlertSettings | undefined): a is AlertSettings {
  return !!a && (a.metricsFile !== undefined || a.pushgateway !== undefined || a.notify.length > 0);
}
