/** What a destination's delivery stage tells people: its circuit breaker opening and closing, dead letters growing. */
import { alertOf } from '../alerts/catalog.js';
import type { Runtime } from '../runtime/context.js';
import type { DeliveryMetrics } from './prometheus.js';

export interface DestinationLabel {
  pipeline: string;
  destination: string;
}

/** A breaker transition: counted, logged, and alerted when the circuit opens (it pauses for `openMs`). */
export function reportBreakerTransition(
  rt: Runtime,
  metrics: DeliveryMetrics,
  label: DestinationLabel,
  to: 'opened' | 'closed',
  openMs: number,
): void {
  metrics.breakerTransitions.inc({ ...label, to: to === 'opened' ? 'open' : 'closed' });
  if (to === 'opened') {
    rt.logger.warn(label, 'circuit breaker opened: deliveries to this destination pause');
    void rt.alerts.raise(alertOf('breaker_open', { ...label, openMs }));
  } else rt.logger.info(label, 'circuit breaker closed: deliveries resume');
}

/** "Dead letters are growing": one de-duplicated alert per destination with the count waiting. */
export async function alertDeadLetters(rt: Runtime, label: DestinationLabel): Promise<void> {
  const row = await rt.store.db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', 'dead_lettered')
    .where('pipeline', '=', label.pipeline)
    .where('destination', '=', label.destination)
    .executeTakeFirst();
  const n = Number(row?.n ?? 0);
  void rt.alerts.raise(alertOf('dead_letters', { ...label, count: n }));
}
