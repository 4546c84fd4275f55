/**
 * The one check every door that acts on a review case goes through — the case routes, bulk decisions, heartbeat and
 * release, the quarantine, halt and dead-letter routes, and the CLI — so a rule that holds on one door holds on all:
 *
 * 1. viewers and machines act on no case;
 * 2. the case is open;
 * 3. a reviewer acts only on cases owned by one of their teams, by themselves, or by nobody (leads and admins on any);
 * 4. nobody takes or acts on a case another person holds (a lead or an admin may decide it anyway, not take its lease);
 * 5. a case whose reviewers disagreed waits for a lead or an admin;
 * 6. the role may take the action on the case type (`case_types.T.actions`), within its limits checked against the
 *    record as stored **and** as it will be delivered (an edit cannot lift a value over a limit, nor hide one);
 * 7. with `reviews.required` ≥ 2, each verdict comes from a different person (a lead adjudicating a disagreement
 *    aside): one person cannot make up two reviews.
 *
 * Pure: the caller reads the case, the record and the verdicts so far, and applies the answer.
 */
import type { AccountRole } from '../accounts/users.js';
import type { CaseTypeConfig, ReviewAction } from '../config/sections/review.js';
import { AirlockError } from '../errors.js';
import type { ReviewCaseRow } from '../store/tables.js';
import { mayAct } from './authority.js';

/** Who acts: a signed-in person (or a CLI user named with --as), or the CLI acting as an admin. */
export interface Person {
  name: string;
  role: AccountRole;
  /** The teams of `teams:` the person is a member of. */
  teams: readonly string[];
}

/** What a person does to a case: a decision, or taking (`hold`: claim, heartbeat) and giving back (`release`) its lease. */
export type CaseAct = ReviewAction | 'hold' | 'release';

/** The actions that are a verdict on the record (counted towards `reviews.required`). */
export const VERDICTS: readonly ReviewAction[] = ['approve', 'relabel', 'reject'];

export interface AuthorizeInput {
  person: Person;
  case: Pick<ReviewCaseRow, 'id' | 'status' | 'state' | 'owner' | 'claimed_by' | 'lease_until' | 'reviews_required'>;
  caseType: Pick<CaseTypeConfig, 'actions' | 'limits'>;
  action: CaseAct;
  /** The record as stored. */
  before: unknown;
  /** The record as it will be delivered when the action edits it (undefined: unchanged). */
  after?: unknown;
  /** The people who already gave this case a verdict. */
  reviewedBy?: readonly string[];
  now: number;
}

export type Authorization = { allowed: true } | { allowed: false; code: 'FORBIDDEN' | 'CONFLICT'; reason: string };

const refuse = (code: 'FORBIDDEN' | 'CONFLICT', reason: string): Authorization => ({ allowed: false, code, reason });
const isLead = (role: AccountRole) => role === 'lead' || role === 'admin';

/** Who holds the case now (null: nobody, or the lease ran out). */
function holderOf(c: AuthorizeInput['case'], now: number): string | null {
  return c.claimed_by && c.lease_until !== null && Number(c.lease_until) >= now ? c.claimed_by : null;
}

/** Whether the person may take the action on the case now; when not, the code and one sentence why. */
export function authorize(i: AuthorizeInput): Authorization {
  const { person: p, case: c, action } = i;
  const id = Number(c.id);
  if (p.role !== 'admin' && p.role !== 'lead' && p.role !== 'reviewer') {
    return refuse('FORBIDDEN', `${p.name} is ${p.role}: only reviewers, leads and admins act on review cases`);
  }
  if (c.status !== 'open') return refuse('CONFLICT', `review case ${id} is already ${c.status}`);
  if (!isLead(p.role) && c.owner !== null && c.owner !== p.name && !p.teams.includes(c.owner)) {
    return refuse(
      'FORBIDDEN',
      `review case ${id} is owned by team ${c.owner}; ${p.name} works in ${p.teams.length > 0 ? `team ${p.teams.join(', ')}` : 'no team'}`,
    );
  }
  const holder = holderOf(c, i.now);
  const heldUntil = () => new Date(Number(c.lease_until)).toISOString();
  if (action === 'hold') {
    if (holder && holder !== p.name) return refuse('CONFLICT', `review case ${id} is held by ${holder} until ${heldUntil()}`);
    if (c.state === 'needs_adjudication' && !isLead(p.role))
      return refuse('FORBIDDEN', `review case ${id} waits for a lead to adjudicate: its reviewers disagreed`);
    if (Number(c.reviews_required) > 1 && (i.reviewedBy ?? []).includes(p.name) && c.state !== 'needs_adjudication')
      return refuse('FORBIDDEN', `${p.name} already reviewed case ${id}; its other reviews must come from other people`);
    return { allowed: true };
  }
  if (action === 'release') {
    if (holder !== p.name && !isLead(p.role)) return refuse('CONFLICT', `review case ${id} is not held by ${p.name}`);
    return { allowed: true };
  }
  if (holder && holder !== p.name && !isLead(p.role)) {
    return refuse('CONFLICT', `review case ${id} is held by ${holder} until ${heldUntil()}`);
  }
  if (c.state === 'needs_adjudication' && !isLead(p.role)) {
    return refuse('FORBIDDEN', `review case ${id} waits for a lead to adjudicate: its reviewers disagreed`);
  }
  const asStored = mayAct(p.role, i.caseType, action, i.before);
  if (!asStored.allowed) return refuse('FORBIDDEN', `${p.name} may not ${action} case ${id}: ${asStored.reason}`);
  if (i.after !== undefined) {
    const asDelivered = mayAct(p.role, i.caseType, action, i.after);
    if (!asDelivered.allowed) return refuse('FORBIDDEN', `${p.name} may not ${action} case ${id} as edited: ${asDelivered.reason}`);
  }
  if (
    VERDICTS.includes(action) &&
    Number(c.reviews_required) > 1 &&
    c.state !== 'needs_adjudication' &&
    (i.reviewedBy ?? []).includes(p.name)
  ) {
    return refuse(
      'FORBIDDEN',
      `${p.name} already reviewed case ${id}: its ${Number(c.reviews_required)} reviews must come from different people`,
    );
  }
  return { allowed: true };
}

/** authorize, throwing the refusal as an AirlockError (403 FORBIDDEN or 409 CONFLICT). */
export function assertAuthorized(i: AuthorizeInput): void {
  const a = authorize(i);
  if (!a.allowed) throw new AirlockError(a.code, a.reason);
}
