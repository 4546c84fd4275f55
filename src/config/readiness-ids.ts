/**
 * The readiness checklist's sections and check ids (stable: they appear in `--json`, in the config's
 * `readiness.blocking` and `readiness.confirmed`, and in CI scripts). No imports, so the config schema can list them.
 */
export const READINESS_SECTIONS = ['data', 'confidence', 'integrations', 'review', 'change', 'monitoring'] as const;
export type ReadinessSection = (typeof READINESS_SECTIONS)[number];

export const READINESS_CHECK_IDS = [
  'data.audit',
  'data.contract',
  'confidence.calibration',
  'confidence.threshold',
  'confidence.probe',
  'integrations.loadtest',
  'integrations.destinations',
  'review.case_types',
  'review.runbook',
  'review.sla',
  'change.drift_reference',
  'change.alerts',
  'change.thirty_day_review',
  'monitoring.model_version',
  'monitoring.rollback',
  'monitoring.metrics',
] as const;
export type ReadinessCheckId = (typeof READINESS_CHECK_IDS)[number];

/** Checks only a person can confirm (`readiness.confirmed.<id>: "what was done, when, by whom"`). */
export const MANUAL_CHECK_IDS: readonly ReadinessCheckId[] = ['monitoring.metrics'];

/**
 * The checks the docs call essential: contract halting, calibration with a threshold in force, a passing load test,
 * owners for every case type. With no `readiness.blocking` and no `readiness.min_score`, the gate refuses unless each
 * of these passes on stored evidence (a person's note never stands in for one) and every section scores at least ½.
 */
export const ESSENTIAL_CHECK_IDS: readonly ReadinessCheckId[] = [
  'data.contract',
  'confidence.calibration',
  'confidence.threshold',
  'integrations.loadtest',
  'review.case_types',
];

/** The lowest section score the default gate accepts: every boundary addressed at least once, by hand. */
export const DEFAULT_MIN_SCORE = 0.5;
