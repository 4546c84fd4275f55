import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type Annotation,
  cohensKappa,
  consensus,
  krippendorffAlpha,
  krippendorffAlphaOf,
  type Label,
  pairwiseKappa,
  verdictOutcome,
} from './agreement.js';

interface Reference {
  kappa: { name: string; a: Label[]; b: Label[]; kappa: number | null; kappa_linear: number | null; kappa_quadratic: number | null }[];
  alpha: { name: string; ratings: (Label | null)[][]; alpha: number }[];
}

// Made by test/reference/agreement_reference.py (scikit-learn 1.2.1, NLTK 3.8).
const reference = JSON.parse(readFileSync(new URL('../../test/fixtures/agreement/reference.json', import.meta.url), 'utf8')) as Reference;

const expectValue = (actual: number, expected: number | null) => {
  if (expected === null) expect(actual).toBeNaN();
  else expect(actual).toBeCloseTo(expected, 12);
};

describe("Cohen's kappa equals sklearn.metrics.cohen_kappa_score", () => {
  it.each(reference.kappa.map((k) => [k.name, k] as const))('%s', (_name, k) => {
    expectValue(cohensKappa(k.a, k.b), k.kappa);
    expectValue(cohensKappa(k.a, k.b, 'linear'), k.kappa_linear);
    expectValue(cohensKappa(k.a, k.b, 'quadratic'), k.kappa_quadratic);
  });

  it('refuses ratings of different items or none', () => {
    expect(() => cohensKappa(['a'], ['a', 'b'])).toThrow(/same items/);
    expect(() => cohensKappa([], [])).toThrow(/at least one item/);
    expect(() => cohensKappa(['a', 1], ['a', 1])).toThrow(/one type/);
  });
});

describe("Krippendorff's alpha (nominal, missing values) equals NLTK's AnnotationTask.alpha()", () => {
  it.each(reference.alpha.map((a) => [a.name, a] as const))('%s', (_name, a) => {
    expectValue(krippendorffAlpha(a.ratings), a.alpha);
  });

  it("gives the paper's 0.743 on Krippendorff's (2011) nominal example", () => {
    const k2011 = reference.alpha.find((a) => a.name === 'krippendorff_2011');
    expect(k2011).toBeDefined();
    expect(krippendorffAlpha(k2011?.ratings ?? [])).toBeCloseTo(0.743, 3);
  });

  it('takes annotations as (coder, item, label), in any order', () => {
    const five = reference.alpha.find((a) => a.name === 'five_reviewers_missing');
    const annotations: Annotation[] = [];
    five?.ratings.forEach((row, c) => {
      row.forEach((label, i) => {
        if (label !== null) annotations.push({ coder: `r${c}`, item: `case-${i}`, label });
      });
    });
    expect(krippendorffAlphaOf(annotations.reverse())).toBeCloseTo(five?.alpha ?? 0, 12);
  });

  it('is undefined when no item has two ratings', () => {
    expect(
      krippendorffAlpha([
        ['a', null],
        [null, 'b'],
      ]),
    ).toBeNaN();
  });
});

describe('pairwiseKappa', () => {
  it('compares two reviewers over the items both rated', () => {
    const k = reference.kappa.find((x) => x.name === 'multiclass');
    if (!k) throw new Error('fixture');
    const annotations: Annotation[] = [
      ...k.a.map((label, i) => ({ coder: 'ana', item: i, label })),
      ...k.b.map((label, i) => ({ coder: 'ben', item: i, label })),
      { coder: 'ana', item: 'only-ana', label: 'bug' },
      { coder: 'cleo', item: 0, label: 'bug' },
    ];
    expect(pairwiseKappa(annotations, 'ana', 'ben')).toBeCloseTo(k.kappa ?? 0, 12);
  });
});

describe('consensus', () => {
  it.each([
    // verdicts, required, agreement → status (outcome)
    [[], 1, 'unanimous', 'pending', undefined],
    [['label:bug'], 1, 'unanimous', 'decided', 'label:bug'],
    [['label:bug'], 2, 'unanimous', 'pending', undefined],
    [['label:bug', 'label:bug'], 2, 'unanimous', 'decided', 'label:bug'],
    [['label:bug', 'reject'], 2, 'unanimous', 'needs_adjudication', undefined],
    [['label:bug', 'reject'], 3, 'unanimous', 'needs_adjudication', undefined],
    [['label:bug', 'reject'], 2, 'majority', 'needs_adjudication', undefined],
    [['label:bug', 'label:bug'], 3, 'majority', 'decided', 'label:bug'],
    [['label:bug', 'reject'], 3, 'majority', 'pending', undefined],
    [['label:bug', 'reject', 'reject'], 3, 'majority', 'decided', 'reject'],
    [['a', 'b', 'c'], 3, 'majority', 'needs_adjudication', undefined],
    [['a', 'b'], 4, 'majority', 'pending', undefined],
    [['a', 'b', 'c'], 4, 'majority', 'needs_adjudication', undefined],
    [['a', 'a', 'b', 'b'], 4, 'majority', 'needs_adjudication', undefined],
    [['a', 'a', 'a', 'b'], 4, 'majority', 'decided', 'a'],
    [['a', 'a', 'b'], 2, 'unanimous', 'decided', 'a'],
  ] as const)('%j of %i, %s → %s %s', (verdicts, required, agreement, status, outcome) => {
    const c = consensus([...verdicts], { required, agreement });
    expect(c.status).toBe(status);
    if (c.status === 'decided') expect(c.outcome).toBe(outcome);
  });

  it('reports the votes when a lead must adjudicate', () => {
    expect(consensus(['label:bug', 'reject'], { required: 2, agreement: 'majority' })).toEqual({
      status: 'needs_adjudication',
      votes: { 'label:bug': 1, reject: 1 },
    });
  });
});

describe('verdictOutcome', () => {
  it('reduces decisions to the outcome they leave', () => {
    expect(verdictOutcome({ action: 'approve' }, 'billing')).toBe('label:billing');
    expect(verdictOutcome({ action: 'relabel', label: 'billing' }, 'bug')).toBe('label:billing');
    expect(verdictOutcome({ action: 'reject' })).toBe('reject');
    expect(verdictOutcome({ action: 'request_info' })).toBeNull();
    expect(verdictOutcome({ action: 'escalate' })).toBeNull();
  });
});
