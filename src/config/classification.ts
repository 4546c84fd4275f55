/** How a destination's answers are judged (defaults, then the destination's overrides and its preset's rules). */
export interface ClassificationPolicy {
  /** Statuses retried although the default says final (e.g. `409` for a destination that answers 409 while busy). */
  retryOn: number[];
  /** Statuses dead-lettered at once although the default says retry (e.g. `503` meaning "this tenant is closed"). */
  deadLetterOn: number[];
  /** A 2xx whose JSON body has `field` equal to `equals` is a failure (Slack: HTTP 200 with `"ok": false`). */
  softFailure?: { field: string; equals: unknown; errorField?: string; retryableErrors: string[] };
  /** Statuses that mean "rate limited" when they carry Retry-After or remaining 0 (GitHub's 403 secondary limit). */
  rateLimitStatuses: number[];
}

export const DEFAULT_CLASSIFICATION: ClassificationPolicy = { retryOn: [], deadLetterOn: [], rateLimitStatuses: [] };
