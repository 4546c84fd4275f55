import { describe, expect, test } from 'vitest';
import { parsePredictions, subsetPredictions } from './predictions.js';

// Expected values are worked out by hand from the rows in each test.

describe('parsePredictions: rows with probs', () => {
  test('object probs: classes in order of first appearance, argmax as predicted, its probability as confidence', () => {
    const { predictions: p, errors } = parsePredictions([
      { label: 'spam', probs: { spam: 0.7, ham: 0.2, other: 0.1 } },
      { label: 'ham', probs: { ham: 0.4, spam: 0.6 } },
      { label: 'other', probs: { other: 0.25, ham: 0.75 } },
    ]);
    expect(errors).toEqual([]);
    expect(p.n).toBe(3);
    expect(p.classes).toEqual(['spam', 'ham', 'other']);
    // A class a row leaves out has probability 0 in that row.
    expect(p.probs).toEqual([
      [0.7, 0.2, 0.1],
      [0.6, 0.4, 0],
      [0, 0.75, 0.25],
    ]);
    expect(p.predicted).toEqual(['spam', 'spam', 'ham']);
    expect(p.confidence).toEqual([0.7, 0.6, 0.75]);
    expect(p.label).toEqual(['spam', 'ham', 'other']);
    expect(p.correct).toEqual([true, false, false]);
    expect(p.labelIndex).toEqual([0, 1, 2]);
    expect(p.logits).toBeUndefined();
    expect(p.segment).toBeUndefined();
    expect(p.weight).toBeUndefined();
  });

  test('array probs with classes given as an option', () => {
    const { predictions: p, errors } = parsePredictions(
      [
        { label: 'pos', probs: [0.2, 0.8] },
        { label: 'neg', probs: [0.9, 0.1] },
        { label: 'pos', probs: [0.55, 0.45] },
      ],
      { classes: ['neg', 'pos'] },
    );
    expect(errors).toEqual([]);
    expect(p.classes).toEqual(['neg', 'pos']);
    expect(p.probs).toEqual([
      [0.2, 0.8],
      [0.9, 0.1],
      [0.55, 0.45],
    ]);
    expect(p.predicted).toEqual(['pos', 'neg', 'neg']);
    expect(p.confidence).toEqual([0.8, 0.9, 0.55]);
    expect(p.correct).toEqual([true, true, false]);
    expect(p.labelIndex).toEqual([1, 0, 1]);
  });

  test('array probs with classes in the row, in any order per row, mapped by name', () => {
    const { predictions: p, errors } = parsePredictions(
      [
        { label: 'b', classes: ['a', 'b', 'c'], probs: [0.1, 0.3, 0.6] },
        { label: 'a', classes: ['c', 'a', 'b'], probs: [0.2, 0.7, 0.1] },
      ],
      // The row's own classes win over the option.
      { classes: ['x', 'y', 'z'] },
    );
    expect(errors).toEqual([]);
    expect(p.classes).toEqual(['x', 'y', 'z', 'a', 'b', 'c']);
    expect(p.probs).toEqual([
      [0, 0, 0, 0.1, 0.3, 0.6],
      [0, 0, 0, 0.7, 0.1, 0.2],
    ]);
    expect(p.predicted).toEqual(['c', 'a']);
    expect(p.confidence).toEqual([0.6, 0.7]);
    expect(p.correct).toEqual([false, true]);
    expect(p.labelIndex).toEqual([4, 3]);
  });

  test('the classes option fixes the class order even for object probs listed in another order', () => {
    const { predictions: p } = parsePredictions(
      [
        { label: 'z', probs: { z: 0.5, y: 0.3, x: 0.2 } },
        { label: 'x', probs: { y: 0.1, x: 0.9 } },
      ],
      { classes: ['x', 'y', 'z'] },
    );
    expect(p.classes).toEqual(['x', 'y', 'z']);
    expect(p.probs).toEqual([
      [0.2, 0.3, 0.5],
      [0.9, 0.1, 0],
    ]);
    expect(p.labelIndex).toEqual([2, 0]);
    expect(p.correct).toEqual([true, true]);
  });

  test('a label outside the probabilities becomes a class of its own, with probability 0, and counts as wrong', () => {
    const { predictions: p, errors } = parsePredictions([
      { label: 'a', probs: { a: 0.9, b: 0.1 } },
      { label: 'unknown', probs: { a: 0.8, b: 0.2 } },
    ]);
    expect(errors).toEqual([]);
    expect(p.classes).toEqual(['a', 'b', 'unknown']);
    expect(p.probs?.[1]).toEqual([0.8, 0.2, 0]);
    expect(p.labelIndex).toEqual([0, 2]);
    expect(p.correct).toEqual([true, false]);
  });

  test('numeric labels match class names written as strings', () => {
    const { predictions: p, errors } = parsePredictions([
      { label: 1, probs: { '0': 0.3, '1': 0.7 } },
      { label: 0, probs: { '0': 0.4, '1': 0.6 } },
    ]);
    expect(errors).toEqual([]);
    expect(p.label).toEqual(['1', '0']);
    expect(p.correct).toEqual([true, false]);
    expect(p.labelIndex).toEqual([1, 0]);
  });

  test('probabilities rounded to a few decimals are accepted (sum within 1e-3 of 1)', () => {
    const { predictions: p, errors } = parsePredictions([{ label: 'a', probs: { a: 0.3334, b: 0.3333, c: 0.3333 } }]);
    expect(errors).toEqual([]);
    expect(p.predicted).toEqual(['a']);
    expect(p.confidence).toEqual([0.3334]);
  });
});

describe('parsePredictions: rows with confidence and predicted', () => {
  test('correct is predicted === label; no classes, probs or labelIndex', () => {
    const { predictions: p, errors } = parsePredictions([
      { label: 'a', confidence: 0.8, predicted: 'a' },
      { label: 'b', confidence: 0.65, predicted: 'a' },
      { label: 3, confidence: 1, predicted: 3 },
      { label: 'c', confidence: 0, predicted: 'c' },
    ]);
    expect(errors).toEqual([]);
    expect(p.n).toBe(4);
    expect(p.predicted).toEqual(['a', 'a', '3', 'c']);
    expect(p.confidence).toEqual([0.8, 0.65, 1, 0]);
    expect(p.correct).toEqual([true, false, true, true]);
    expect(p.classes).toBeUndefined();
    expect(p.probs).toBeUndefined();
    expect(p.labelIndex).toBeUndefined();
  });

  test('an empty input gives no rows and no errors', () => {
    const { predictions: p, errors } = parsePredictions([]);
    expect(errors).toEqual([]);
    expect(p.n).toBe(0);
    expect(p.classes).toBeUndefined();
  });
});

describe('parsePredictions: logits, segment, weight', () => {
  test('logits are kept when every row has one per class', () => {
    const { predictions: p, errors } = parsePredictions([
      { label: 'a', probs: { a: 0.7, b: 0.3 }, logits: [0.8473, 0] },
      { label: 'b', probs: { a: 0.4, b: 0.6 }, logits: [0, 0.4055] },
    ]);
    expect(errors).toEqual([]);
    expect(p.logits).toEqual([
      [0.8473, 0],
      [0, 0.4055],
    ]);
  });

  test('logits are dropped, without an error, when only some rows have them', () => {
    const { predictions: p, errors } = parsePredictions([
      { label: 'a', probs: { a: 0.7, b: 0.3 }, logits: [1, 0] },
      { label: 'b', probs: { a: 0.4, b: 0.6 } },
    ]);
    expect(errors).toEqual([]);
    expect(p.logits).toBeUndefined();
    expect(p.n).toBe(2);
  });

  test('logits of the wrong length are an error naming the row', () => {
    const unequal = parsePredictions([
      { label: 'a', confidence: 0.7, predicted: 'a', logits: [1, 0] },
      { label: 'a', confidence: 0.7, predicted: 'a', logits: [1, 0] },
      { label: 'b', confidence: 0.6, predicted: 'a', logits: [1, 0, 2] },
    ]);
    expect(unequal.predictions.logits).toBeUndefined();
    expect(unequal.errors).toEqual([{ row: 3, message: expect.stringMatching(/"logits" has 3 values, expected 2/) }]);

    // Every row agrees with the others but not with the three classes of the probabilities.
    const notPerClass = parsePredictions([
      { label: 'a', probs: { a: 0.7, b: 0.2, c: 0.1 }, logits: [1, 0] },
      { label: 'b', probs: { a: 0.1, b: 0.8, c: 0.1 }, logits: [0, 1] },
    ]);
    expect(notPerClass.predictions.logits).toBeUndefined();
    expect(notPerClass.errors).toEqual([{ row: 1, message: expect.stringMatching(/"logits" has 2 values, expected 3/) }]);
  });

  test('logits that are not numbers are an error naming the row, and the row is left out', () => {
    const { predictions: p, errors } = parsePredictions([
      { label: 'a', confidence: 0.7, predicted: 'a', logits: [1, 0] },
      { label: 'a', confidence: 0.7, predicted: 'a', logits: [1, 'x'] },
    ]);
    expect(errors).toEqual([{ row: 2, message: '"logits" must be an array of numbers' }]);
    expect(p.n).toBe(1);
  });

  test('segments are strings; rows without one are "(none)"', () => {
    const { predictions: p } = parsePredictions([
      { label: 'a', confidence: 0.9, predicted: 'a', segment: 'EU' },
      { label: 'a', confidence: 0.9, predicted: 'a' },
      { label: 'a', confidence: 0.9, predicted: 'a', segment: 7 },
    ]);
    expect(p.segment).toEqual(['EU', '(none)', '7']);
  });

  test('weights are kept; rows without one weigh 1', () => {
    const { predictions: p, errors } = parsePredictions([
      { label: 'a', confidence: 0.9, predicted: 'a', weight: 2.5 },
      { label: 'a', confidence: 0.9, predicted: 'a' },
      { label: 'a', confidence: 0.9, predicted: 'a', weight: 0 },
    ]);
    expect(errors).toEqual([]);
    expect(p.weight).toEqual([2.5, 1, 0]);
  });
});

describe('parsePredictions: malformed rows', () => {
  test('every malformed row is reported with its 1-based row number and a clear message; good rows are kept', () => {
    const rows: unknown[] = [
      /* 1 */ { label: 'a', probs: { a: 0.9, b: 0.1 } },
      /* 2 */ { probs: { a: 0.9, b: 0.1 } },
      /* 3 */ { label: 'a', probs: { a: 0.5, b: 0.4 } },
      /* 4 */ { label: 'a', probs: { a: 1.2, b: -0.2 } },
      /* 5 */ null,
      /* 6 */ [0.9, 0.1],
      /* 7 */ { label: 'a', probs: [0.9, 0.1] },
      /* 8 */ { label: 'a', classes: ['a', 'b', 'c'], probs: [0.9, 0.1] },
      /* 9 */ { label: 'a', probs: 'a' },
      /* 10 */ { label: 'a', probs: { a: '0.9', b: 0.1 } },
      /* 11 */ { label: 'b', probs: { a: 0.2, b: 0.8 }, weight: -1 },
      /* 12 */ { label: null, probs: { a: 0.2, b: 0.8 } },
      /* 13 */ { label: 'b', probs: { a: 0.2, b: 0.8 } },
    ];
    const { predictions: p, errors } = parsePredictions(rows);
    expect(errors).toEqual([
      { row: 2, message: '"label" is missing' },
      { row: 3, message: 'probs sum to 0.9000, not 1' },
      { row: 4, message: 'probs.a must be a number in [0, 1]' },
      { row: 5, message: 'expected an object' },
      { row: 6, message: 'expected an object' },
      { row: 7, message: expect.stringMatching(/"probs" is an array: give "classes"/) },
      { row: 8, message: '"probs" has 2 values for 3 classes' },
      { row: 9, message: '"probs" must be an object or an array' },
      { row: 10, message: 'probs.a must be a number in [0, 1]' },
      { row: 11, message: '"weight" must be a non-negative number' },
      { row: 12, message: '"label" is missing' },
    ]);
    expect(p.n).toBe(2);
    expect(p.label).toEqual(['a', 'b']);
    expect(p.correct).toEqual([true, true]);
  });

  test('confidence rows: out of range, missing, or without predicted', () => {
    const { predictions: p, errors } = parsePredictions([
      { label: 'a', confidence: 1.5, predicted: 'a' },
      { label: 'a', confidence: -0.1, predicted: 'a' },
      { label: 'a', predicted: 'a' },
      { label: 'a', confidence: 0.8 },
      { label: 'a', confidence: Number.NaN, predicted: 'a' },
      { label: 'a', confidence: 0.8, predicted: 'a' },
    ]);
    const needsConfidence = 'give "probs", or "confidence" (a number in [0, 1]) with "predicted"';
    expect(errors).toEqual([
      { row: 1, message: needsConfidence },
      { row: 2, message: needsConfidence },
      { row: 3, message: needsConfidence },
      { row: 4, message: '"predicted" is missing (needed with "confidence")' },
      { row: 5, message: needsConfidence },
    ]);
    expect(p.n).toBe(1);
  });

  test('mixed forms name the rows in the less common form', () => {
    const rows = [
      { label: 'a', probs: { a: 0.9, b: 0.1 } },
      { label: 'b', probs: { a: 0.3, b: 0.7 } },
      { label: 'a', confidence: 0.9, predicted: 'a' },
      { label: 'a', probs: { a: 0.6, b: 0.4 } },
    ];
    const { predictions: p, errors } = parsePredictions(rows);
    expect(errors).toEqual([{ row: 3, message: expect.stringMatching(/"confidence".*"probs".*one form for the whole file/) }]);
    // Without one form there are no class probabilities to offer.
    expect(p.probs).toBeUndefined();

    const mostlyConfidence = parsePredictions([
      { label: 'a', probs: { a: 0.9, b: 0.1 } },
      { label: 'a', confidence: 0.9, predicted: 'a' },
      { label: 'a', confidence: 0.8, predicted: 'b' },
    ]);
    expect(mostlyConfidence.errors).toEqual([{ row: 1, message: expect.stringMatching(/has "probs".*one form for the whole file/) }]);
  });
});

describe('subsetPredictions', () => {
  test('picks the rows at the given indices, in that order, with every per-row field', () => {
    const { predictions: p } = parsePredictions([
      { label: 'a', probs: { a: 0.9, b: 0.1 }, logits: [2, 0], segment: 's1', weight: 1 },
      { label: 'b', probs: { a: 0.3, b: 0.7 }, logits: [0, 1], segment: 's2', weight: 2 },
      { label: 'b', probs: { a: 0.8, b: 0.2 }, logits: [1, 0], segment: 's1', weight: 3 },
    ]);
    const s = subsetPredictions(p, [2, 0]);
    expect(s).toEqual({
      n: 2,
      classes: ['a', 'b'],
      probs: [
        [0.8, 0.2],
        [0.9, 0.1],
      ],
      logits: [
        [1, 0],
        [2, 0],
      ],
      labelIndex: [1, 0],
      predicted: ['a', 'a'],
      confidence: [0.8, 0.9],
      label: ['b', 'a'],
      correct: [false, true],
      segment: ['s1', 's1'],
      weight: [3, 1],
    });
    // The original is untouched.
    expect(p.n).toBe(3);
    expect(p.label).toEqual(['a', 'b', 'b']);
  });

  test('fields the predictions lack stay absent', () => {
    const { predictions: p } = parsePredictions([
      { label: 'a', confidence: 0.9, predicted: 'a' },
      { label: 'b', confidence: 0.6, predicted: 'a' },
    ]);
    const s = subsetPredictions(p, [1]);
    expect(s.n).toBe(1);
    expect(s.correct).toEqual([false]);
    expect(s.probs).toBeUndefined();
    expect(s.classes).toBeUndefined();
    expect(s.segment).toBeUndefined();
    expect(s.weight).toBeUndefined();
  });
});
