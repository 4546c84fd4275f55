import type { PipelineConfig } from '../config/sections/pipeline.js';
import { type CaseTypeConfig, defaultCaseType } from '../config/sections/review.js';
import type { NewReviewCase } from '../store/cases.js';
import { addWorkingTime } from './calendar.js';

/** Case types Airlock itself opens; each exists even when the config does not name it. */
export const BUILT_IN_CASE_TYPES = [
  'low_confidence',
  'policy_review',
  'audit_sample',
  'model_failure',
  'quarantine',
  'schema_halt',
  'dead_letter',
] as const;

/** Queue order: lower first. */
export const PRIORITY_RANK = { critical: 0, high: 1, normal: 2, low: 3 } as const;

/** Builds a new open case of `type` for a record, with the owner and SLA the config gives that type. */
export function newCase(
  pipeline: PipelineConfig,
  recordId: string,
  type: string,
  reason: Record<string, unknown>,
  now: number,
): NewReviewCase {
  const ct = pipeline.review.caseTypes[type];
  return {
    pipeline: pipeline.name,
    recordId,
    type,
    owner: ct?.owner ?? null,
    reason,
    // Business-hours SLAs count the owner team's working hours (holidays and weekends skipped), in its time zone.
    slaDueAt: ct?.slaMs !== undefined ? addWorkingTime(now, ct.slaMs, ct.calendarTeam ?? null) : null,
    firstActionDueAt: ct?.firstActionMs !== undefined ? addWorkingTime(now, ct.firstActionMs, ct.calendarTeam ?? null) : null,
    priority: PRIORITY_RANK[ct?.priority ?? 'normal'],
    reviewsRequired: ct?.reviews.required ?? 1,
    now,
  };
}

/** The settings of a case type for a pipeline: the config's, or the defaults of a built-in type. */
export function caseTypeOf(pipeline: PipelineConfig | undefined, type: string): CaseTypeConfig {
  const configured = pipeline?.review.caseTypes[type];
  if (configured) return configured;
  const d = defaultCaseType();
  // Deciding a schema change stops or resumes a whole pipeline, and a replay sends to a vendor again: by default
  // those are a lead's call (as their own routes require).
  if (type === 'schema_halt' || type === 'dead_letter') d.actions.reviewer = ['request_info', 'escalate'];
  return d;
}
