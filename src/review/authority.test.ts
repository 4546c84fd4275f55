import { describe, expect, it } from 'vitest';
import type { ReviewAction, Role } from '../config/sections/review.js';
import { type AuthorityCaseType, allowedActions, authorityMatrix, effectiveMax, mayAct, valueAt } from './authority.js';

const ALL: ReviewAction[] = ['approve', 'relabel', 'reject', 'request_info', 'escalate'];

const caseTypes: Record<string, AuthorityCaseType> = {
  // The default: reviewers, leads and admins may do everything, no limits.
  low_confidence: { actions: { reviewer: ALL, lead: ALL, admin: ALL }, limits: [] },
  // The example: a reviewer may approve refunds up to 500, a lead up to 5,000; admins are not named.
  refund: {
    actions: {
      reviewer: ['approve', 'request_info', 'escalate'],
      lead: ['approve', 'relabel', 'reject', 'request_info', 'escalate'],
      admin: ALL,
    },
    limits: [{ field: 'refund.amount', actions: ['approve', 'relabel'], max: { reviewer: 500, lead: 5000 } }],
  },
  // A row that names only leads: reviewers may not exceed the lead's cap; admins are unlimited.
  credit: {
    actions: { reviewer: ALL, lead: ALL, admin: ALL },
    limits: [{ field: 'credit', actions: ['approve', 'reject'], max: { lead: 1000 } }],
  },
  // Only leads and admins may release or discard quarantined records.
  quarantine: {
    actions: {
      reviewer: ['request_info', 'escalate'],
      lead: ['approve', 'reject', 'request_info', 'escalate'],
      admin: ['approve', 'reject', 'escalate'],
    },
    limits: [],
  },
};

const small = { refund: { amount: 300 } };
const medium = { refund: { amount: 3000 } };
const large = { refund: { amount: 30000 } };
const asText = { refund: { amount: '450.00' } };
const none = { subject: 'no amount' };

// role × case type × action (× record) → allowed, written out.
const MATRIX: [Role, string, ReviewAction, unknown, boolean][] = [
  ['viewer', 'low_confidence', 'approve', none, false],
  ['viewer', 'low_confidence', 'relabel', none, false],
  ['viewer', 'low_confidence', 'reject', none, false],
  ['viewer', 'low_confidence', 'request_info', none, false],
  ['viewer', 'low_confidence', 'escalate', none, false],
  ['reviewer', 'low_confidence', 'approve', none, true],
  ['reviewer', 'low_confidence', 'relabel', none, true],
  ['reviewer', 'low_confidence', 'reject', none, true],
  ['reviewer', 'low_confidence', 'request_info', none, true],
  ['reviewer', 'low_confidence', 'escalate', none, true],
  ['lead', 'low_confidence', 'approve', none, true],
  ['lead', 'low_confidence', 'relabel', none, true],
  ['lead', 'low_confidence', 'reject', none, true],
  ['lead', 'low_confidence', 'request_info', none, true],
  ['lead', 'low_confidence', 'escalate', none, true],
  ['admin', 'low_confidence', 'approve', none, true],
  ['admin', 'low_confidence', 'relabel', none, true],
  ['admin', 'low_confidence', 'reject', none, true],
  ['admin', 'low_confidence', 'request_info', none, true],
  ['admin', 'low_confidence', 'escalate', none, true],

  ['viewer', 'refund', 'approve', small, false],
  ['viewer', 'refund', 'relabel', small, false],
  ['viewer', 'refund', 'reject', small, false],
  ['viewer', 'refund', 'request_info', small, false],
  ['viewer', 'refund', 'escalate', small, false],
  ['reviewer', 'refund', 'approve', small, true],
  ['reviewer', 'refund', 'relabel', small, false],
  ['reviewer', 'refund', 'reject', small, false],
  ['reviewer', 'refund', 'request_info', small, true],
  ['reviewer', 'refund', 'escalate', small, true],
  ['lead', 'refund', 'approve', small, true],
  ['lead', 'refund', 'relabel', small, true],
  ['lead', 'refund', 'reject', small, true],
  ['lead', 'refund', 'request_info', small, true],
  ['lead', 'refund', 'escalate', small, true],
  ['admin', 'refund', 'approve', small, true],
  ['admin', 'refund', 'relabel', small, true],
  ['admin', 'refund', 'reject', small, true],
  ['admin', 'refund', 'request_info', small, true],
  ['admin', 'refund', 'escalate', small, true],

  ['reviewer', 'refund', 'approve', { refund: { amount: 500 } }, true],
  ['reviewer', 'refund', 'approve', { refund: { amount: 500.01 } }, false],
  ['reviewer', 'refund', 'approve', medium, false],
  ['reviewer', 'refund', 'request_info', medium, true],
  ['reviewer', 'refund', 'escalate', large, true],
  ['reviewer', 'refund', 'approve', asText, true],
  ['reviewer', 'refund', 'approve', none, false],
  ['lead', 'refund', 'approve', medium, true],
  ['lead', 'refund', 'relabel', medium, true],
  ['lead', 'refund', 'approve', large, false],
  ['lead', 'refund', 'relabel', large, false],
  ['lead', 'refund', 'reject', large, true],
  ['lead', 'refund', 'approve', none, false],
  ['admin', 'refund', 'approve', large, true],
  ['admin', 'refund', 'relabel', large, true],
  ['admin', 'refund', 'approve', none, true],
  ['viewer', 'refund', 'approve', large, false],

  ['reviewer', 'credit', 'approve', { credit: 900 }, true],
  ['reviewer', 'credit', 'approve', { credit: 1200 }, false],
  ['reviewer', 'credit', 'reject', { credit: 1200 }, false],
  ['reviewer', 'credit', 'relabel', { credit: 1200 }, true],
  ['lead', 'credit', 'approve', { credit: 1200 }, false],
  ['lead', 'credit', 'request_info', { credit: 1200 }, true],
  ['admin', 'credit', 'approve', { credit: 1_000_000 }, true],
  ['admin', 'credit', 'reject', {}, true],

  ['viewer', 'quarantine', 'approve', none, false],
  ['reviewer', 'quarantine', 'approve', none, false],
  ['reviewer', 'quarantine', 'reject', none, false],
  ['reviewer', 'quarantine', 'request_info', none, true],
  ['reviewer', 'quarantine', 'escalate', none, true],
  ['lead', 'quarantine', 'approve', none, true],
  ['lead', 'quarantine', 'relabel', none, false],
  ['lead', 'quarantine', 'reject', none, true],
  ['admin', 'quarantine', 'relabel', none, false],
  ['admin', 'quarantine', 'request_info', none, false],
  ['admin', 'quarantine', 'reject', none, true],
];

describe('mayAct: the authority matrix', () => {
  it.each(MATRIX)('%s · %s · %s · %j → %s', (role, type, action, record, allowed) => {
    const verdict = mayAct(role, caseTypes[type], action, record);
    expect(verdict.allowed).toBe(allowed);
    if (!verdict.allowed) expect(verdict.reason).toMatch(/\S/);
  });

  it('writes out every role × action of low_confidence and refund', () => {
    for (const type of ['low_confidence', 'refund']) {
      for (const role of ['viewer', 'reviewer', 'lead', 'admin'] as Role[]) {
        for (const action of ALL) {
          expect(
            MATRIX.some(([r, t, a]) => r === role && t === type && a === action),
            `${role} ${type} ${action}`,
          ).toBe(true);
        }
      }
    }
  });
});

describe('mayAct: reasons', () => {
  it('says why, in one sentence', () => {
    expect(mayAct('viewer', caseTypes.refund, 'approve', small)).toEqual({
      allowed: false,
      reason: 'viewers may look at cases but not act on them',
    });
    expect(mayAct('reviewer', caseTypes.refund, 'reject', small)).toEqual({
      allowed: false,
      reason: 'a reviewer may not reject cases of this type',
    });
    expect(mayAct('reviewer', caseTypes.refund, 'approve', medium)).toEqual({
      allowed: false,
      reason: 'a reviewer may approve only up to refund.amount 500; this record has 3000',
    });
    expect(mayAct('lead', caseTypes.refund, 'approve', none)).toEqual({
      allowed: false,
      reason: 'a lead may approve only up to refund.amount 5000, and the record has no number at refund.amount',
    });
    expect(mayAct('owner', caseTypes.refund, 'approve', small).allowed).toBe(false);
    expect(mayAct('admin', caseTypes.refund, 'delete', small).allowed).toBe(false);
  });
});

describe('allowedActions', () => {
  it('lists what the console may offer', () => {
    expect(allowedActions('reviewer', caseTypes.refund, small)).toEqual(['approve', 'request_info', 'escalate']);
    expect(allowedActions('reviewer', caseTypes.refund, large)).toEqual(['request_info', 'escalate']);
    expect(allowedActions('lead', caseTypes.refund, large)).toEqual(['reject', 'request_info', 'escalate']);
    expect(allowedActions('viewer', caseTypes.low_confidence, none)).toEqual([]);
  });
});

describe('limits', () => {
  it('caps a role a row leaves out at the lowest cap of the named roles above it', () => {
    const row = { field: 'x', actions: ['approve'] as ReviewAction[], max: { lead: 1000 } };
    expect(effectiveMax(row, 'reviewer')).toBe(1000);
    expect(effectiveMax(row, 'lead')).toBe(1000);
    expect(effectiveMax(row, 'admin')).toBe(Number.POSITIVE_INFINITY);
    expect(effectiveMax({ ...row, max: { reviewer: 10, admin: 50 } }, 'lead')).toBe(50);
  });

  it('reads dotted paths', () => {
    expect(valueAt({ a: { b: { c: 3 } } }, 'a.b.c')).toBe(3);
    expect(valueAt({ a: null }, 'a.b')).toBeUndefined();
    expect(valueAt({ a: { toString: 1 } }, 'a.constructor')).toBeUndefined();
  });

  it('renders the matrix for the runbook', () => {
    const m = authorityMatrix(caseTypes.refund);
    expect(m.map((r) => [r.role, r.actions.approve, r.actions.reject])).toEqual([
      ['viewer', 'no', 'no'],
      ['reviewer', 'refund.amount ≤ 500', 'no'],
      ['lead', 'refund.amount ≤ 5000', 'yes'],
      ['admin', 'yes', 'yes'],
    ]);
  });
});
