/**
 * Reviewer authority (pure): may this role take this action on this case type's record?
 *
 * 1. Viewers may do nothing; an unknown role nothing either.
 * 2. The role must have the action in `case_types.T.actions.<role>`.
 * 3. Every limit row that covers the action (`limits[].actions`, default approve and relabel) caps the number at the
 *    record's `field` (a dotted path, e.g. `refund.amount`; a numeric string counts as its number) for the role:
 *    allowed when value ≤ max.
 *
 * A limit row that does not name the role. The rule chosen here is monotone in rank (reviewer < lead < admin):
 * **a role left out of a row may go as far as the lowest max among the roles above it that the row names, and
 * without limit when the row names no role above it.** So `{ field: amount, reviewer: 500, lead: 5000 }` leaves
 * admins unlimited (the usual intent: a higher role is bounded by nothing written), while `{ field: amount, lead:
 * 5000 }` caps reviewers at 5,000 too — a row never gives a lower role more authority by leaving it out. The other
 * simple reading ("not named: no limit") would let reviewers approve any amount under a row written to bound leads,
 * which fails open; "not named: may not act above 0" would block admins under an ordinary two-role row.
 *
 * When the role has a finite cap and the record has no number at `field`, the action is refused: the limit cannot be
 * checked, and a check that cannot run must not allow (fail closed). Roles without a cap are not affected.
 */
import type { CaseTypeConfig, ReviewAction, Role } from '../config/sections/review.js';
import { REVIEW_ACTIONS } from '../config/sections/review.js';

export type Authority = { allowed: true } | { allowed: false; reason: string };

type ActingRole = Exclude<Role, 'viewer'>;
const RANK: Record<ActingRole, number> = { reviewer: 1, lead: 2, admin: 3 };
const ACTING_ROLES = Object.keys(RANK) as ActingRole[];

export type AuthorityCaseType = Pick<CaseTypeConfig, 'actions' | 'limits'>;
export type LimitRow = CaseTypeConfig['limits'][number];

/** The value at a dotted path of a record (`a.b.c`); undefined when any step is missing. */
export function valueAt(record: unknown, path: string): unknown {
  let node: unknown = record;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** A limit's number: a finite number, or a string that is one; undefined otherwise. */
function numberAt(record: unknown, path: string): number | undefined {
  const v = valueAt(record, path);
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** The cap a limit row puts on a role (see the module comment); Infinity: no cap. */
export function effectiveMax(row: LimitRow, role: ActingRole): number {
  const own = row.max[role];
  if (own !== undefined) return own;
  let cap = Number.POSITIVE_INFINITY;
  for (const other of ACTING_ROLES) {
    const m = row.max[other];
    if (RANK[other] > RANK[role] && m !== undefined) cap = Math.min(cap, m);
  }
  return cap;
}

function isActingRole(role: string): role is ActingRole {
  return Object.hasOwn(RANK, role);
}

/** Whether `role` may take `action` on `record`, a case of `caseType`; when not, one sentence why. */
export function mayAct(role: Role | string, caseType: AuthorityCaseType, action: ReviewAction | string, record: unknown): Authority {
  if (role === 'viewer') return { allowed: false, reason: 'viewers may look at cases but not act on them' };
  if (!isActingRole(role)) return { allowed: false, reason: `"${role}" is not a role (admin, lead, reviewer or viewer)` };
  if (!(REVIEW_ACTIONS as readonly string[]).includes(action)) {
    return { allowed: false, reason: `"${action}" is not an action (${REVIEW_ACTIONS.join(', ')})` };
  }
  const act = action as ReviewAction;
  if (!caseType.actions[role].includes(act)) {
    return { allowed: false, reason: `a ${role} may not ${act} cases of this type` };
  }
  for (const row of caseType.limits) {
    if (!row.actions.includes(act)) continue;
    const max = effectiveMax(row, role);
    if (max === Number.POSITIVE_INFINITY) continue;
    const value = numberAt(record, row.field);
    if (value === undefined) {
      return {
        allowed: false,
        reason: `a ${role} may ${act} only up to ${row.field} ${max}, and the record has no number at ${row.field}`,
      };
    }
    if (value > max) {
      return { allowed: false, reason: `a ${role} may ${act} only up to ${row.field} ${max}; this record has ${value}` };
    }
  }
  return { allowed: true };
}

/** The actions `role` may take on `record` (for the console's buttons), in the usual order. */
export function allowedActions(role: Role | string, caseType: AuthorityCaseType, record: unknown): ReviewAction[] {
  return REVIEW_ACTIONS.filter((a) => mayAct(role, caseType, a, record).allowed);
}

/**
 * The authority matrix of a case type for people (the runbook): per role and action, "yes", "no" or
 * "amount ≤ 500" (several limits joined with "and").
 */
export function authorityMatrix(caseType: AuthorityCaseType): { role: Role; actions: Record<ReviewAction, string> }[] {
  const rows: { role: Role; actions: Record<ReviewAction, string> }[] = [];
  for (const role of ['viewer', ...ACTING_ROLES] as Role[]) {
    const actions = {} as Record<ReviewAction, string>;
    for (const a of REVIEW_ACTIONS) {
      if (role === 'viewer' || !caseType.actions[role].includes(a)) {
        actions[a] = 'no';
        continue;
      }
      const caps = caseType.limits
        .filter((l) => l.actions.includes(a))
        .map((l) => ({ field: l.field, max: effectiveMax(l, role) }))
        .filter((c) => c.max !== Number.POSITIVE_INFINITY)
        .map((c) => `${c.field} ≤ ${c.max}`);
      actions[a] = caps.length === 0 ? 'yes' : caps.join(' and ');
    }
    rows.push({ role, actions });
  }
  return rows;
}
