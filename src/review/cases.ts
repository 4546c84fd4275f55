import type { PipelineConfig } from '../config/sections/pipeline.js';
import type { CaseTypeConfig } from '../config/sections/review.js';
import type { NewReviewCase } from '../store/cases.js';
import type { CaseReasons } from '../store/codecs.js';
import { addWorkingTime } from './calendar.js';
import { type BuiltInCaseType, unconfiguredCaseType } from './case-types.js';

/** Queue order: lower first. */
export const PRIORITY_RANK = { critical: 0, high: 1, normal: 2, low: 3 } as const;

/** Builds a new open case of `type` for a record, with the owner and SLA the config gives that type. */
export function newCase<T extends BuiltInCaseType>(
  pipeline: PipelineConfig,
  recordId: string,
  type: T,
  reason: Partial<CaseReasons[T]>,
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

/** The settings of a case type for a pipeline: the config's, or the defaults of the type (src/review/case-types.ts). */
export function caseTypeOf(pipeline: PipelineConfig | undefined, type: string): CaseTypeConfig {
  return pipeline?.review.caseTypes[type] ?? unconfiguredCaseType(type);
}
