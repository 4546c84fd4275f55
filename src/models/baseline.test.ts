import { describe, expect, test } from 'vitest';
import mailJson from '../../test/fixtures/baseline/mail.json' with { type: 'json' };
import tokensJson from '../../test/fixtures/baseline/tokens.json' with { type: 'json' };
import { applyCalibrator, applyTemperatureScaling, crossFitFolds, fitCalibrator } from '../calibration/calibrators.js';
import { expectedCalibrationError, negativeLogLikelihood, seededRandom } from '../calibration/metrics.js';
import { ModelCallError } from './adapter.js';
import {
  type BaselineModel,
  type BaselinePrediction,
  type BaselineTrainingOptions,
  decodeBuckets,
  fnv1a32,
  hashedCounts,
  logSumExp,
  ngramFeatures,
  parseBaselineModel,
  predictBaseline,
  stratifiedSplit,
  type TrainingDocument,
  tokenize,
  trainBaseline,
} from './baseline.js';
import { BaselineModelAdapter, recordText } from './baseline-adapter.js';

// Expected values come from test/reference/baseline_reference.py: the featuriser re-implemented in Python, and
// scikit-learn's MultinomialNB and LogisticRegression fitted on the same hashed count matrix.

interface TokenCase {
  text: string;
  ngrams: number;
  buckets: number;
  tokens: string[];
  features: string[];
  hashes: number[];
  buckets_of_features: number[];
}

interface MailDoc {
  id: string;
  subject: string;
  body: string;
  label: string;
  split: 'train' | 'test';
}

interface ReferenceSetting {
  algorithm: 'naive_bayes' | 'logistic_regression';
  ngrams: number;
  buckets: number;
  alpha?: number;
  l2?: number;
  active_buckets?: number;
  joint_log_likelihood?: number[][];
  log_probs?: number[][];
  probs: number[][];
  predicted: string[];
}

const tokens = tokensJson as { cases: TokenCase[]; fnv1a32: Record<string, number> };
const mail = mailJson as unknown as { classes: string[]; docs: MailDoc[]; settings: ReferenceSetting[] };

/** What the baseline reads with text fields subject and body (the fixture's convention). */
const asDocument = (d: MailDoc): TrainingDocument => ({ text: `${d.subject} ${d.body}`, label: d.label });
const trainDocs = mail.docs.filter((d) => d.split === 'train').map(asDocument);
const testDocs = mail.docs.filter((d) => d.split === 'test').map(asDocument);

function settingOptions(s: ReferenceSetting): BaselineTrainingOptions {
  return { algorithm: s.algorithm, ngrams: s.ngrams, buckets: s.buckets, alpha: s.alpha, l2: s.l2 };
}

function heldOutPerformance(model: BaselineModel, docs: TrainingDocument[]) {
  const predictions = docs.map((d) => predictBaseline(model, d.text));
  const correct = predictions.map((p, i) => p.label === docs[i].label);
  const confidence = predictions.map((p) => p.confidence);
  const accuracy = correct.filter(Boolean).length / docs.length;
  const meanConfidence = confidence.reduce((s, c) => s + c, 0) / docs.length;
  return { predictions, correct, confidence, accuracy, meanConfidence, ece: expectedCalibrationError(confidence, correct) };
}

describe('featuriser', () => {
  test('tokens, n-grams and buckets equal the Python reference, Unicode included', () => {
    for (const c of tokens.cases) {
      expect(tokenize(c.text), c.text).toEqual(c.tokens);
      const features = ngramFeatures(c.tokens, c.ngrams);
      expect(features).toEqual(c.features);
      expect(features.map(fnv1a32)).toEqual(c.hashes);
      expect(features.map((f) => fnv1a32(f) % c.buckets)).toEqual(c.buckets_of_features);
    }
  });

  test('FNV-1a matches its published test vectors and hashes UTF-8 bytes', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    for (const [text, hash] of Object.entries(tokens.fnv1a32)) expect(fnv1a32(text)).toBe(hash);
    // A lone surrogate hashes as U+FFFD, as TextEncoder encodes it.
    expect(fnv1a32('\ud800')).toBe(fnv1a32('\ufffd'));
  });

  test('a document is its bucket counts, ascending, duplicates summed', () => {
    const counts = hashedCounts('the cat the cat the', 2, 1 << 18);
    const expected = new Map<number, number>();
    for (const f of ['the', 'cat', 'the', 'cat', 'the', 'the cat', 'cat the', 'the cat', 'cat the']) {
      const b = fnv1a32(f) % (1 << 18);
      expected.set(b, (expected.get(b) ?? 0) + 1);
    }
    const buckets = [...expected.keys()].sort((a, b) => a - b);
    expect(Array.from(counts.buckets)).toEqual(buckets);
    expect(Array.from(counts.counts)).toEqual(buckets.map((b) => expected.get(b)));
    expect(hashedCounts(' ... ', 2, 16).buckets).toHaveLength(0);
  });
});

describe('multinomial naive Bayes equals sklearn MultinomialNB on the same count matrix', () => {
  for (const s of mail.settings.filter((x) => x.algorithm === 'naive_bayes')) {
    test(`ngrams ${s.ngrams}, ${s.buckets} buckets, alpha ${s.alpha}`, () => {
      const model = trainBaseline(trainDocs, settingOptions(s));
      expect(model.classes).toEqual(mail.classes);
      expect(model.params.bucketDeltas).toHaveLength(s.active_buckets as number);
      testDocs.forEach((d, i) => {
        const p = predictBaseline(model, d.text);
        const lse = logSumExp(p.logits);
        for (let k = 0; k < mail.classes.length; k++) {
          const jll = (s.joint_log_likelihood as number[][])[i][k];
          expect(Math.abs(p.logits[k] - jll)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(jll)));
          const logProb = (s.log_probs as number[][])[i][k];
          expect(Math.abs(p.logits[k] - lse - logProb)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(logProb)));
          expect(p.probs[mail.classes[k]]).toBeCloseTo(s.probs[i][k], 9);
        }
        expect(p.label).toBe(s.predicted[i]);
        expect(p.confidence).toBe(p.probs[p.label]);
      });
    });
  }
});

describe('logistic regression equals sklearn LogisticRegression(multinomial, C = 1/(l2·n)) at the optimum', () => {
  for (const s of mail.settings.filter((x) => x.algorithm === 'logistic_regression')) {
    test(`ngrams ${s.ngrams}, ${s.buckets} buckets, l2 ${s.l2}`, () => {
      const model = trainBaseline(trainDocs, { ...settingOptions(s), tolerance: 1e-8, epochs: 2000 });
      if (model.algorithm !== 'logistic_regression') throw new Error('expected logistic regression');
      expect(model.params.converged).toBe(true);
      let largest = 0;
      testDocs.forEach((d, i) => {
        const p = predictBaseline(model, d.text);
        mail.classes.forEach((c, k) => {
          largest = Math.max(largest, Math.abs(p.probs[c] - s.probs[i][k]));
        });
        expect(p.label).toBe(s.predicted[i]);
      });
      // Both at the unique optimum; what is left is the storage of weights in millionths and rounding.
      expect(largest).toBeLessThan(1e-5);
    });
  }

  test('the default tolerance leaves probabilities within 1e-3 of the optimum', () => {
    const s = mail.settings.find((x) => x.algorithm === 'logistic_regression' && x.ngrams === 2) as ReferenceSetting;
    const model = trainBaseline(trainDocs, { algorithm: 'logistic_regression', l2: s.l2 });
    testDocs.forEach((d, i) => {
      const p = predictBaseline(model, d.text);
      mail.classes.forEach((c, k) => {
        expect(Math.abs(p.probs[c] - s.probs[i][k])).toBeLessThan(1e-3);
      });
    });
  });

  test('training is deterministic and separates a separable set', () => {
    const docs: TrainingDocument[] = [];
    const topics = { billing: ['invoice', 'refund', 'charge', 'payment'], outage: ['down', 'error', 'timeout', 'crash'] };
    for (let i = 0; i < 40; i++) {
      for (const [label, words] of Object.entries(topics)) {
        docs.push({ label, text: `hello ${words[i % 4]} ${words[(i + 1) % 4]} thanks team ${i}` });
      }
    }
    const first = trainBaseline(docs, { algorithm: 'logistic_regression' });
    const second = trainBaseline(docs, { algorithm: 'logistic_regression' });
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    for (const d of docs) expect(predictBaseline(first, d.text).label).toBe(d.label);
    expect(predictBaseline(first, 'my refund and the invoice').label).toBe('billing');
    expect(predictBaseline(first, 'timeout error, everything is down').label).toBe('outage');
  });
});

describe('naive Bayes is overconfident, and temperature scaling fixes it', () => {
  const naiveBayes = trainBaseline(trainDocs, { algorithm: 'naive_bayes' });
  const heldOut = heldOutPerformance(naiveBayes, testDocs);

  test('on held-out mail its mean confidence exceeds its accuracy by a clear margin', () => {
    expect(heldOut.accuracy).toBeGreaterThan(0.8);
    expect(heldOut.meanConfidence - heldOut.accuracy).toBeGreaterThan(0.08);
    expect(heldOut.ece).toBeGreaterThan(0.08);
    // Most of its errors are made at a confidence above 0.99.
    const confidentErrors = heldOut.confidence.filter((c, i) => !heldOut.correct[i] && c > 0.99).length;
    const errors = heldOut.correct.filter((c) => !c).length;
    expect(confidentErrors / errors).toBeGreaterThan(0.5);
  });

  // Every held-out row is calibrated by a calibrator fitted on the other four fifths (5-fold cross-fitting),
  // so the ECE after calibration is measured on all 503 rows, none of which the calibrator saw.
  const labels = testDocs.map((d) => mail.classes.indexOf(d.label));
  const crossFitted = (method: 'temperature' | 'isotonic') => {
    const probs: number[][] = new Array(testDocs.length);
    const confidence: number[] = new Array(testDocs.length);
    const temperatures: number[] = [];
    const rows = (indices: number[]) => ({
      logits: indices.map((i) => heldOut.predictions[i].logits),
      confidence: indices.map((i) => heldOut.confidence[i]),
      correct: indices.map((i) => heldOut.correct[i]),
      labels: indices.map((i) => labels[i]),
    });
    for (const fold of crossFitFolds(testDocs.length, 5, 1)) {
      const calibrator = fitCalibrator(method, rows(fold.fit));
      const evaluation = rows(fold.evaluate);
      if (calibrator.method === 'temperature') {
        temperatures.push(calibrator.params.temperature);
        applyTemperatureScaling(calibrator, evaluation.logits).forEach((p, j) => {
          probs[fold.evaluate[j]] = p;
        });
      }
      applyCalibrator(calibrator, evaluation).forEach((c, j) => {
        confidence[fold.evaluate[j]] = c;
      });
    }
    return { probs, confidence, temperatures, ece: expectedCalibrationError(confidence, heldOut.correct) };
  };

  test('temperature scaling (T ≈ 19) cuts its held-out ECE by a third and its NLL by three quarters', () => {
    const calibrated = crossFitted('temperature');
    for (const t of calibrated.temperatures) expect(t).toBeGreaterThan(8); // the logits are far too sharp
    expect(calibrated.ece).toBeLessThan(0.7 * heldOut.ece);
    // The NLL-optimal temperature trades long, overconfident mails against short, now slightly underconfident
    // ones: the gap between mean confidence and accuracy shrinks to well under half, and changes sign.
    const mean = calibrated.confidence.reduce((s, c) => s + c, 0) / testDocs.length;
    expect(Math.abs(mean - heldOut.accuracy)).toBeLessThan(0.5 * (heldOut.meanConfidence - heldOut.accuracy));
    expect(mean).toBeLessThan(heldOut.accuracy);
    const rawNll = negativeLogLikelihood(
      heldOut.predictions.map((p) => mail.classes.map((c) => p.probs[c])),
      labels,
    );
    expect(negativeLogLikelihood(calibrated.probs, labels)).toBeLessThan(0.25 * rawNll);
  });

  test('one temperature cannot undo overconfidence that grows with length; isotonic regression more than halves the ECE', () => {
    const calibrated = crossFitted('temperature');
    const length = testDocs.map((d) => tokenize(d.text).length);
    const median = [...length].sort((a, b) => a - b)[Math.floor(length.length / 2)];
    const gap = (long: boolean) => {
      const rows = length.flatMap((n, i) => (n > median === long ? [i] : []));
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      return mean(rows.map((i) => calibrated.confidence[i])) - mean(rows.map((i) => (heldOut.correct[i] ? 1 : 0)));
    };
    expect(gap(true)).toBeGreaterThan(gap(false) + 0.08); // after temperature scaling: long mails still over-, short ones underconfident
    expect(crossFitted('isotonic').ece).toBeLessThan(0.5 * heldOut.ece);
  });

  test('logistic regression on the same features is better calibrated — the fair yardstick', () => {
    const logistic = heldOutPerformance(trainBaseline(trainDocs, { algorithm: 'logistic_regression' }), testDocs);
    expect(logistic.ece).toBeLessThan(heldOut.ece / 2);
    expect(Math.abs(logistic.meanConfidence - logistic.accuracy)).toBeLessThan(0.05);
  });
});

describe('speed', () => {
  /** 10,000 documents of 20–60 words from a Zipf(1) vocabulary of 30,000 words; each class over-uses its own words. */
  function zipfCorpus(): TrainingDocument[] {
    const random = seededRandom(42);
    const vocabulary = 30_000;
    const cumulative = new Float64Array(vocabulary);
    for (let r = 0, total = 0; r < vocabulary; r++) cumulative[r] = total += 1 / (r + 1);
    const draw = () => {
      const u = random() * cumulative[vocabulary - 1];
      let lo = 0;
      let hi = vocabulary - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid] < u) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    return Array.from({ length: 10_000 }, (_, i) => {
      const label = i % 2 === 0 ? 'ham' : 'spam';
      const words = Array.from({ length: 20 + Math.floor(random() * 41) }, () => {
        const rank = draw();
        return `w${random() < 0.3 && label === 'spam' ? (rank + 7) % vocabulary : rank}`;
      });
      return { label, text: words.join(' ') };
    });
  }

  test('10,000 documents over 2^18 buckets train in seconds', { timeout: 120_000 }, () => {
    const docs = zipfCorpus();
    let started = performance.now();
    const naiveBayes = trainBaseline(docs, { algorithm: 'naive_bayes' });
    const naiveBayesSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const logistic = trainBaseline(docs, { algorithm: 'logistic_regression' });
    const logisticSeconds = (performance.now() - started) / 1000;
    if (logistic.algorithm !== 'logistic_regression') throw new Error('expected logistic regression');
    expect(naiveBayes.params.bucketDeltas.length).toBeGreaterThan(100_000); // most of the hash space is in use
    expect(logistic.params.converged).toBe(true);
    // Typically 0.3 s and 2 s on one core; the bounds leave room for a loaded CI machine.
    expect(naiveBayesSeconds).toBeLessThan(5);
    expect(logisticSeconds).toBeLessThan(30);
  });
});

describe('predictions', () => {
  const model = trainBaseline(trainDocs);

  test('stay finite and sum to 1 on a very long text', () => {
    const p: BaselinePrediction = predictBaseline(model, 'winner limited time offer '.repeat(20_000));
    const probs = Object.values(p.probs);
    expect(probs.every(Number.isFinite)).toBe(true);
    expect(probs.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(p.label).toBe('spam');
    expect(p.confidence).toBe(1);
  });

  test('an empty text gets the class prior', () => {
    const p = predictBaseline(model, '');
    if (model.algorithm !== 'naive_bayes') throw new Error('expected naive Bayes');
    const documents = model.params.classDocuments.reduce((s, v) => s + v, 0);
    model.classes.forEach((c, k) => {
      expect(p.probs[c]).toBeCloseTo(model.params.classDocuments[k] / documents, 12);
    });
  });
});

describe('model file', () => {
  test('survives JSON and parseBaselineModel with identical predictions, for both algorithms', () => {
    for (const algorithm of ['naive_bayes', 'logistic_regression'] as const) {
      const model = trainBaseline(trainDocs, { algorithm });
      const loaded = parseBaselineModel(JSON.stringify(model));
      for (const d of testDocs.slice(0, 50)) expect(predictBaseline(loaded, d.text)).toEqual(predictBaseline(model, d.text));
    }
  });

  test('stores the active buckets once, ascending, delta-encoded', () => {
    const model = trainBaseline(trainDocs, { ngrams: 1, buckets: 1 << 10 });
    const buckets = Array.from(decodeBuckets(model.params.bucketDeltas));
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(new Set(buckets).size).toBe(buckets.length);
    const seen = new Set<number>();
    for (const d of trainDocs) for (const b of hashedCounts(d.text, 1, 1 << 10).buckets) seen.add(b);
    expect(buckets).toEqual([...seen].sort((a, b) => a - b));
  });

  const valid = () => JSON.parse(JSON.stringify(trainBaseline(trainDocs.slice(0, 60), { ngrams: 1, buckets: 64 })));

  test.each([
    ['not JSON', () => '{', /not valid JSON/],
    ['another file', () => ({ kind: 'something-else' }), /kind must be "airlock-baseline"/],
    ['a newer version', () => ({ ...valid(), version: 2 }), /version 2 is not supported/],
    ['an unknown algorithm', () => ({ ...valid(), algorithm: 'svm' }), /algorithm must be naive_bayes or logistic_regression, got "svm"/],
    ['one class', () => ({ ...valid(), classes: ['spam'] }), /classes must be an array of at least 2/],
    ['duplicate classes', () => ({ ...valid(), classes: ['ham', 'ham', 'spam'] }), /classes names a class twice/],
    ['bad buckets', () => ({ ...valid(), buckets: 0 }), /buckets must be an integer from 1/],
    ['bad ngrams', () => ({ ...valid(), ngrams: 9 }), /ngrams must be an integer from 1 to 5/],
    [
      'buckets out of order',
      () => {
        const m = valid();
        m.params.bucketDeltas[1] = 0;
        return m;
      },
      /params\.bucketDeltas\[1\] must be an integer ≥ 1/,
    ],
    [
      'a bucket outside the hash space',
      () => {
        const m = valid();
        m.params.bucketDeltas[0] = 64;
        return m;
      },
      /bucket 64 at index 0 is outside \[0, 64\)/,
    ],
    [
      'a short count row',
      () => {
        const m = valid();
        m.params.counts[2].pop();
        return m;
      },
      /params\.counts\[2\] has \d+ values, expected \d+ \(one per active bucket\)/,
    ],
    [
      'a negative count',
      () => {
        const m = valid();
        m.params.counts[0][3] = -1;
        return m;
      },
      /params\.counts\[0\]\[3\] must be a count ≥ 0, got -1/,
    ],
    ['no alpha', () => ({ ...valid(), params: { ...valid().params, alpha: undefined } }), /params\.alpha must be a number > 0, got null/],
  ])('names what is wrong: %s', (_name, make, message) => {
    expect(() => parseBaselineModel(make())).toThrow(message);
  });

  test('a logistic regression model needs integer weights and a scale', () => {
    const model = JSON.parse(JSON.stringify(trainBaseline(trainDocs.slice(0, 60), { algorithm: 'logistic_regression', buckets: 64 })));
    expect(() => parseBaselineModel({ ...model, params: { ...model.params, weightScale: 0 } })).toThrow(
      /params\.weightScale must be a number > 0/,
    );
    model.params.weights[1][0] = 0.5;
    expect(() => parseBaselineModel(model)).toThrow(/params\.weights\[1\]\[0\] must be an integer, got 0\.5/);
  });
});

describe('training options', () => {
  test('refuse one class, no documents and out-of-range settings', () => {
    expect(() => trainBaseline([{ text: 'a', label: 'x' }])).toThrow(/at least 2 classes/);
    expect(() => trainBaseline([])).toThrow(/no training documents/);
    const two = [
      { text: 'a', label: 'x' },
      { text: 'b', label: 'y' },
    ];
    expect(() => trainBaseline(two, { alpha: 0 })).toThrow(/alpha must be a number > 0/);
    expect(() => trainBaseline(two, { buckets: 2 ** 25 })).toThrow(/buckets must be an integer/);
    expect(() => trainBaseline(two, { l2: -1 })).toThrow(/l2 must be a number ≥ 0/);
  });
});

describe('stratified split', () => {
  test('holds out the share of every class, keeps every class in training, and depends only on the seed', () => {
    const labels = [...Array(50).fill('a'), ...Array(30).fill('b'), 'c'];
    const split = stratifiedSplit(labels, 0.2, 7);
    expect(split.heldOut.filter((i) => labels[i] === 'a')).toHaveLength(10);
    expect(split.heldOut.filter((i) => labels[i] === 'b')).toHaveLength(6);
    expect(split.train.filter((i) => labels[i] === 'c')).toHaveLength(1);
    expect([...split.train, ...split.heldOut].sort((a, b) => a - b)).toEqual(labels.map((_, i) => i));
    expect(stratifiedSplit(labels, 0.2, 7)).toEqual(split);
    expect(stratifiedSplit(labels, 0.2, 8)).not.toEqual(split);
    expect(stratifiedSplit(labels, 0, 7).heldOut).toEqual([]);
  });
});

describe('baseline adapter', () => {
  const model = JSON.parse(JSON.stringify(trainBaseline(trainDocs)));

  test('scores a record on its text fields joined with a space', async () => {
    const adapter = new BaselineModelAdapter(model, { textFields: ['subject', 'body'], version: 'nb-1' });
    const doc = mail.docs.find((d) => d.split === 'test') as MailDoc;
    const prediction = await adapter.predict({ subject: doc.subject, body: doc.body, other: 1 });
    const direct = predictBaseline(adapter.model, `${doc.subject} ${doc.body}`);
    expect(prediction).toMatchObject({ label: direct.label, confidence: direct.confidence, probs: direct.probs, modelVersion: 'nb-1' });
    expect(prediction.latencyMs).toBeGreaterThanOrEqual(0);
    expect(adapter.type).toBe('baseline');
  });

  test('reads the fields the model was trained on by default, and dotted paths', async () => {
    const adapter = new BaselineModelAdapter({ ...model, metadata: { textFields: ['email.subject', 'email.body'] } });
    const p = await adapter.predict({ email: { subject: 'limited time offer', body: 'click here to claim your prize' } });
    expect(p.label).toBe('spam');
  });

  test('scores a missing field as empty text, but rejects a record with none of its text fields', async () => {
    const adapter = new BaselineModelAdapter(model, { textFields: ['subject', 'body'] });
    expect((await adapter.predict({ subject: 'limited time offer', body: null })).label).toBe('spam');
    await expect(adapter.predict({ title: 'x' })).rejects.toThrow(ModelCallError);
    await expect(adapter.predict({ title: 'x' })).rejects.toMatchObject({
      kind: 'rejected',
      message: /none of the text fields "subject", "body"/,
    });
    await expect(adapter.predict({ subject: { text: 'x' } })).rejects.toMatchObject({
      kind: 'rejected',
      message: /"subject" holds an object/,
    });
    await expect(adapter.predict('just a string')).rejects.toMatchObject({ kind: 'rejected' });
  });

  test('refuses an invalid model or no text field when it is built', () => {
    expect(() => new BaselineModelAdapter({ kind: 'nope' }, { textFields: 'body' })).toThrow(/baseline model: kind/);
    expect(() => new BaselineModelAdapter(model)).toThrow(/name the text field/);
  });

  test('recordText reads numbers and booleans as text and keeps empty strings', () => {
    expect(recordText({ a: 3, b: true }, ['a', 'b'])).toEqual({ text: '3 true' });
    expect(recordText({ a: '' }, ['a'])).toEqual({ text: '' });
    expect(recordText({ b: 'x' }, ['a', 'b'])).toEqual({ text: ' x' });
  });
});
