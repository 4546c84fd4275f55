import { Counter, Gauge, type Registry } from 'prom-client';
import type { Store } from '../store/db.js';
import { breakerRows, limitsRows } from '../store/delivery-state.js';

/** Delivery metrics, registered once per registry (the process's /metrics), read from the shared tables when scraped. */
export class DeliveryMetrics {
  readonly throttled: Counter<'pipeline' | 'destination'>;
  readonly responses: Counter<'pipeline' | 'destination' | 'class'>;
  readonly budgetDeferred: Counter<'pipeline' | 'destination'>;
  readonly breakerTransitions: Counter<'pipeline' | 'destination' | 'to'>;
  readonly pace: Gauge<'pipeline' | 'destination' | 'source'>;

  constructor(registry: Registry, store: Store) {
    this.throttled = new Counter({
      name: 'airlock_delivery_throttled_total',
      help: 'Answers that said "too fast" (429, a rate-limit 403, a 503 with Retry-After, a soft ratelimited).',
      labelNames: ['pipeline', 'destination'],
      registers: [registry],
    });
    this.responses = new Counter({
      name: 'airlock_delivery_responses_total',
      help: 'Delivery answers by class: 2xx, 4xx, 5xx, soft_failure, timeout, connection_error.',
      labelNames: ['pipeline', 'destination', 'class'],
      registers: [registry],
    });
    this.budgetDeferred = new Counter({
      name: 'airlock_delivery_retries_deferred_total',
      help: 'Retries held back because the destination’s retry budget was spent.',
      labelNames: ['pipeline', 'destination'],
      registers: [registry],
    });
    this.breakerTransitions = new Counter({
      name: 'airlock_delivery_breaker_transitions_total',
      help: 'Circuit breaker transitions seen by this process (to: open, closed).',
      labelNames: ['pipeline', 'destination', 'to'],
      registers: [registry],
    });
    this.pace = new Gauge({
      name: 'airlock_delivery_pace_per_second',
      help: 'The rate this process paces each destination to, and where it comes from (config, header, aimd).',
      labelNames: ['pipeline', 'destination', 'source'],
      registers: [registry],
    });
    new Gauge({
      name: 'airlock_delivery_breaker_state',
      help: 'Circuit breaker state per destination, shared by all processes: 0 closed, 1 half-open, 2 open.',
      labelNames: ['pipeline', 'destination'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const b of await breakerRows(store.db))
          this.set({ pipeline: b.pipeline, destination: b.destination }, b.state === 'open' ? 2 : b.state === 'half_open' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'airlock_delivery_breaker_openings',
      help: 'Times the circuit breaker of a destination opened (all processes).',
      labelNames: ['pipeline', 'destination'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const b of await breakerRows(store.db)) this.set({ pipeline: b.pipeline, destination: b.destination }, Number(b.openings));
      },
    });
    new Gauge({
      name: 'airlock_delivery_found_limit_per_second',
      help: 'A destination limit found without configuration: from its rate-limit headers or by AIMD (label source).',
      labelNames: ['pipeline', 'destination', 'source'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const l of await limitsRows(store.db))
          if (l.found_per_second !== null)
            this.set({ pipeline: l.pipeline, destination: l.destination, source: l.found_source ?? '' }, Number(l.found_per_second));
      },
    });
    new Gauge({
      name: 'airlock_dead_letters',
      help: 'Deliveries dead-lettered and not yet replayed or discarded, per destination.',
      labelNames: ['pipeline', 'destination'],
      registers: [registry],
      async collect() {
        this.reset();
        const rows = await store.db
          .selectFrom('deliveries')
          .select(['pipeline', 'destination', (eb) => eb.fn.countAll<number>().as('n')])
          .where('status', '=', 'dead_lettered')
          .groupBy(['pipeline', 'destination'])
          .execute();
        for (const r of rows) this.set({ pipeline: r.pipeline, destination: r.destination }, Number(r.n));
      },
    });
  }
}

const byRegistry = new WeakMap<Registry, DeliveryMetrics>();

/** The delivery metrics of a registry, made on first use. */
export function deliveryMetrics(registry: Registry, store: Store): DeliveryMetrics {
  let m = byRegistry.get(registry);
  if (!m) {
    m = new DeliveryMetrics(registry, store);
    byRegistry.set(registry, m);
  }
  return m;
}
