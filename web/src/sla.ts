/** What the SLA countdown shows for a case (pure, so it is tested on its own). */
export interface SlaCase {
  created_at: string;
  sla: { due_at: string | null; paused: boolean; breached: boolean };
}

export type SlaLevel = 'ok' | 'amber' | 'red' | 'none' | 'paused';

/**
 * Green while more than a quarter of the case's time is left, amber under a quarter or under 15 minutes, red when
 * breached (the server says so, or the deadline passed); paused while the case waits for information.
 */
export function slaLevel(c: SlaCase, now: number): SlaLevel {
  if (c.sla.paused) return 'paused';
  if (!c.sla.due_at) return 'none';
  const due = Date.parse(c.sla.due_at);
  const left = due - now;
  if (c.sla.breached || left <= 0) return 'red';
  const total = due - Date.parse(c.created_at);
  if (left < 15 * 60_000 || (total > 0 && left / total < 0.25)) return 'amber';
  return 'ok';
}
