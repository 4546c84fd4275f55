import { type Calibrator, parseCalibrator } from '../calibration/calibrators.js';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import type { Runtime } from '../runtime/context.js';
import { calibrator as calibratorColumn, routingThreshold } from '../store/codecs.js';
import { activeRoutingVersion } from '../store/routing.js';
import type { RoutingVersionRow } from '../store/tables.js';
import type { RoutingPolicy } from './router.js';

const REFRESH_MS = 5000;

/** The policy when no routing version is active: the config's `routing.auto_accept_at` on raw confidence. */
export function fallbackPolicy(pipeline: PipelineConfig): RoutingPolicy {
  return { version: null, calibrator: null, threshold: pipeline.routing.autoAcceptAt };
}

/** The policy a routing version stands for (its calibrator, threshold and per-segment thresholds); throws when unreadable. */
export function policyOfVersion(row: Pick<RoutingVersionRow, 'version' | 'threshold' | 'calibrator'>): RoutingPolicy {
  const threshold = routingThreshold.decode(row.threshold);
  const calibrator: Calibrator | null = row.calibrator ? parseCalibrator(calibratorColumn.decode(row.calibrator)) : null;
  const policy: RoutingPolicy = { version: row.version, calibrator, threshold: threshold.value };
  if (threshold.segments) {
    policy.segments = Object.fromEntries(
      Object.entries(threshold.segments).map(([name, t]) => [name, t.feasible && typeof t.value === 'number' ? t.value : null]),
    );
  }
  return policy;
}

/**
 * The routing policy of each pipeline, read from the active routing version and refreshed every few seconds,
 * so a version applied or approved from the CLI reaches running workers without a restart.
 */
export class RoutingPolicies {
  private cache = new Map<string, { policy: RoutingPolicy; at: number }>();

  constructor(private readonly rt: Runtime) {}

  async get(pipeline: PipelineConfig): Promise<RoutingPolicy> {
    const now = this.rt.clock.now();
    const hit = this.cache.get(pipeline.name);
    if (hit && now - hit.at < REFRESH_MS) return hit.policy;
    const row = await activeRoutingVersion(this.rt.store.db, pipeline.name);
    let policy = fallbackPolicy(pipeline);
    if (row) {
      try {
        policy = policyOfVersion(row);
      } catch (err) {
        this.rt.logger.error(
          { pipeline: pipeline.name, version: row.version, err: (err as Error).message },
          'active routing version is unreadable; using routing.auto_accept_at',
        );
      }
    }
    this.cache.set(pipeline.name, { policy, at: now });
    return policy;
  }

  invalidate(): void {
    this.cache.clear();
  }
}
