import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import mailJson from '../../test/fixtures/baseline/mail.json' with { type: 'json' };
import type { Json } from '../../test/support/json.js';
import { parsePredictions } from '../calibration/predictions.js';
import { calibrationReport } from '../calibration/report.js';
import { parseBaselineModel, predictBaseline } from '../models/baseline.js';
import { BaselineModelAdapter } from '../models/baseline-adapter.js';
import { reportError } from './output.js';
import { registerTrainCommand } from './train.js';

// `airlock train` in this process: a commander program with only this command (as main.ts will register it),
// stdout and stderr captured, exit codes as main() maps them (2 for usage errors).

interface MailDoc {
  id: string;
  subject: string;
  body: string;
  label: string;
}
const docs = (mailJson as unknown as { docs: MailDoc[] }).docs.map(({ id, subject, body, label }) => ({ id, subject, body, label }));

let work: string;
const file = (name: string) => path.join(work, name);

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'airlock-train-'));
  writeFileSync(file('mail.jsonl'), `${docs.map((d) => JSON.stringify(d)).join('\n')}\n`);
  const cell = (s: string) => `"${s.replace(/"/g, '""')}"`;
  writeFileSync(
    file('mail.csv'),
    `id,subject,body,label\n${docs.map((d) => [d.id, d.subject, d.body, d.label].map(cell).join(',')).join('\n')}\n`,
  );
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function airlockTrain(args: string[]): Promise<Run> {
  const program = new Command('airlock').exitOverride();
  registerTrainCommand(program);
  const stdout: string[] = [];
  const stderr: string[] = [];
  for (const c of program.commands) {
    c.exitOverride().configureOutput({ writeOut: (s) => stdout.push(s), writeErr: (s) => stderr.push(s) });
  }
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => stdout.push(String(chunk)) > 0);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => stderr.push(String(chunk)) > 0);
  process.exitCode = undefined;
  let code: number;
  try {
    await program.parseAsync(['train', ...args], { from: 'user' });
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    code = e instanceof CommanderError ? (e.exitCode === 0 ? 0 : 2) : reportError(e);
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

const readJsonl = (name: string): Json[] =>
  readFileSync(file(name), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));

describe('airlock train', () => {
  test('trains naive Bayes on JSONL, reports held-out accuracy and writes the model and the held-out predictions', async () => {
    const run = await airlockTrain([
      file('mail.jsonl'),
      '--text',
      'subject,body',
      '--label',
      'label',
      '--out',
      file('nb.json'),
      '--predictions',
      file('nb-held-out.jsonl'),
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({
      algorithm: 'naive_bayes',
      classes: ['ham', 'list', 'spam'],
      rows: 1503,
      train_rows: 1202,
      held_out_rows: 301,
      model: { path: file('nb.json'), buckets: 2 ** 18, ngrams: 2 },
      fit: null,
      predictions: file('nb-held-out.jsonl'),
    });
    expect(report.accuracy).toBeGreaterThan(0.8);
    expect(report.mean_confidence - report.accuracy).toBeGreaterThan(0.08);
    expect(report.model.bytes).toBe(readFileSync(file('nb.json')).length);

    // The model file loads, remembers its text fields, and serves through the adapter.
    const model = parseBaselineModel(readFileSync(file('nb.json'), 'utf8'));
    expect(model.metadata).toMatchObject({ textFields: ['subject', 'body'], labelField: 'label', source: 'mail.jsonl', trainRows: 1202 });
    const adapter = new BaselineModelAdapter(model);
    const held = readJsonl('nb-held-out.jsonl');
    expect(held).toHaveLength(301);
    const first = docs[held[0].row - 1];
    expect(held[0].label).toBe(first.label);
    const served = await adapter.predict(first);
    expect(served.probs).toEqual(held[0].probs);
    expect(predictBaseline(model, `${first.subject} ${first.body}`).logits).toEqual(held[0].logits);
  });

  test('its held-out predictions are ready for airlock calibrate, whose report shows the overconfidence and the fix', async () => {
    const { predictions, errors } = parsePredictions(readJsonl('nb-held-out.jsonl'));
    expect(errors).toEqual([]);
    expect(predictions.logits).toHaveLength(301); // the logits, so temperature scaling is not limited by 1e-15 floors
    const report = calibrationReport(predictions, { targetAccuracy: 0.95, delta: 0.05, seed: 1 });
    expect(report.ece).toBeGreaterThan(0.08);
    const calibrated = report.calibrated as NonNullable<typeof report.calibrated>;
    expect(calibrated.method).toBe('temperature');
    expect(calibrated.ece).toBeLessThan(calibrated.raw_on_evaluation.ece);
    expect(calibrated.brier).toBeLessThan(0.8 * calibrated.raw_on_evaluation.brier);
  });

  test('reads CSV, and the same rows give the same model', async () => {
    const run = await airlockTrain([file('mail.csv'), '--text', 'subject,body', '--label', 'label', '--out', file('nb-csv.json')]);
    expect(run.code).toBe(0);
    const fromCsv = JSON.parse(readFileSync(file('nb-csv.json'), 'utf8'));
    const fromJsonl = JSON.parse(readFileSync(file('nb.json'), 'utf8'));
    expect(fromCsv.params).toEqual(fromJsonl.params);
    expect(fromCsv.metadata.source).toBe('mail.csv');
  });

  test('says in words what it did, and calls an overconfident model overconfident', async () => {
    const run = await airlockTrain([
      file('mail.jsonl'),
      '--text',
      'subject,body',
      '--label',
      'label',
      '--out',
      file('nb2.json'),
      '--predictions',
      file('held.jsonl'),
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^trained naive_bayes on 1202 of 1503 rows \(3 classes: ham, list, spam\) in [\d.]+s\n/);
    expect(run.stdout).toMatch(/held out 301 rows: accuracy 0\.\d{4}, mean confidence 0\.\d{4}, ECE 0\.\d{4}/);
    expect(run.stdout).toContain(`note: overconfident — mean confidence exceeds accuracy by`);
    expect(run.stdout).toContain(`airlock calibrate ${file('held.jsonl')}`);
    expect(readFileSync(file('nb2.json'), 'utf8')).toBe(readFileSync(file('nb.json'), 'utf8')); // deterministic
  });

  test('trains logistic regression, reports its fit, and the seed decides the split', async () => {
    const args = (out: string, seed: string) => [
      file('mail.jsonl'),
      '--text',
      'subject,body',
      '--label',
      'label',
      '--out',
      file(out),
      '--algorithm',
      'logistic_regression',
      '--seed',
      seed,
      '--json',
    ];
    const first = JSON.parse((await airlockTrain(args('lr1.json', '1'))).stdout);
    expect(first.fit).toMatchObject({ converged: true });
    expect(first.fit.iterations).toBeGreaterThan(10);
    expect(first.accuracy).toBeGreaterThan(0.8);
    expect(Math.abs(first.mean_confidence - first.accuracy)).toBeLessThan(0.06);
    await airlockTrain(args('lr2.json', '1'));
    await airlockTrain(args('lr3.json', '2'));
    expect(readFileSync(file('lr2.json'), 'utf8')).toBe(readFileSync(file('lr1.json'), 'utf8'));
    expect(readFileSync(file('lr3.json'), 'utf8')).not.toBe(readFileSync(file('lr1.json'), 'utf8'));
  });

  test('--holdout 0 trains on every row', async () => {
    const run = await airlockTrain([
      file('mail.jsonl'),
      '--text',
      'body',
      '--label',
      'label',
      '--out',
      file('all.json'),
      '--holdout',
      '0',
      '--json',
    ]);
    expect(JSON.parse(run.stdout)).toMatchObject({ train_rows: 1503, held_out_rows: 0, accuracy: null, mean_confidence: null, ece: null });
  });
});

describe('airlock train refuses, in one clear sentence and with exit code 2,', () => {
  const write = (name: string, rows: unknown[]) => {
    writeFileSync(file(name), `${rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n')}\n`);
    return file(name);
  };
  const train = (data: string, ...extra: string[]) =>
    airlockTrain([data, '--text', 'subject,body', '--label', 'label', '--out', file('refused.json'), ...extra]);

  test('rows without text or label, naming their rows', async () => {
    const data = write('gaps.jsonl', [
      { subject: 'a', body: 'b', label: 'x' },
      { title: 'no text here', label: 'y' },
      { subject: 'c', body: 'd' },
      '{not json',
      { subject: 'e', label: { nested: true } },
    ]);
    const run = await train(data);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`airlock: ${data} has 4 unusable row(s):`);
    expect(run.stderr).toContain('row 2: the record has none of the text fields "subject", "body"');
    expect(run.stderr).toContain('row 3: the label field "label" is missing');
    expect(run.stderr).toMatch(/row 4: not valid JSON/);
    expect(run.stderr).toContain('row 5: the label field "label" holds an object, not a class name');
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  test('a single class', async () => {
    const data = write('one-class.jsonl', [
      { subject: 'a', body: 'b', label: 'spam' },
      { subject: 'c', body: 'd', label: 'spam' },
    ]);
    const run = await train(data);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`airlock: ${data}: training needs at least 2 classes in "label", but all 2 rows are "spam"\n`);
  });

  test('an empty file', async () => {
    const run = await train(write('empty.jsonl', []));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/holds no rows/);
  });

  test('settings out of range', async () => {
    const data = file('mail.jsonl');
    expect((await train(data, '--holdout', '1')).stderr).toBe('airlock: --holdout must be a number in [0, 1), got "1"\n');
    expect((await train(data, '--alpha', '0')).stderr).toBe('airlock: --alpha must be a number > 0, got "0"\n');
    expect((await train(data, '--buckets', '1.5')).stderr).toBe('airlock: --buckets must be an integer from 1 to 16777216, got "1.5"\n');
    const algorithm = await train(data, '--algorithm', 'svm');
    expect(algorithm.code).toBe(2);
    expect(algorithm.stderr).toMatch(/argument 'svm' is invalid\. Allowed choices are naive_bayes, logistic_regression/);
  });

  test('a label field among the text fields', async () => {
    const run = await airlockTrain([file('mail.jsonl'), '--text', 'subject,label', '--label', 'label', '--out', file('x.json')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('airlock: --text includes the label field "label": the model would be trained on the answer\n');
  });

  test('--predictions without held-out rows', async () => {
    const run = await train(file('mail.jsonl'), '--holdout', '0', '--predictions', file('p.jsonl'));
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('airlock: --predictions needs held-out rows, and --holdout 0 holds none of the 1503 rows out\n');
  });

  test('a missing file or required option', async () => {
    const missing = await train(file('nope.jsonl'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.jsonl: ENOENT/);
    const noLabel = await airlockTrain([file('mail.jsonl'), '--text', 'body', '--out', file('x.json')]);
    expect(noLabel.code).toBe(2);
    expect(noLabel.stderr).toMatch(/required option '--label <field>' not specified/);
  });
});
