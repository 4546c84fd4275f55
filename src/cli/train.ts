import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { expectedCalibrationError } from '../calibration/metrics.js';
import { AirlockError } from '../errors.js';
import {
  BASELINE_ALGORITHMS,
  BASELINE_DEFAULTS,
  BASELINE_LIMITS,
  type BaselineAlgorithm,
  type BaselineModel,
  type BaselinePrediction,
  predictBaseline,
  stratifiedSplit,
  type TrainingDocument,
  trainBaseline,
} from '../models/baseline.js';
import { recordField, recordText } from '../models/baseline-adapter.js';
import { action, Progress, printJson } from './output.js';
import { detectFormat, readRecords } from './read-records.js';

interface TrainOptions {
  text: string;
  label: string;
  out: string;
  algorithm: BaselineAlgorithm;
  ngrams: number;
  buckets: number;
  alpha: number;
  l2: number;
  epochs: number;
  seed: number;
  holdout: number;
  predictions?: string;
  format?: string;
  json?: boolean;
}

/** A labelled document with the line (or row) it came from. */
interface Example extends TrainingDocument {
  row: number;
}

/**
 * What `airlock train --json` prints. Stable field names:
 * - `rows`, `train_rows`, `held_out_rows`: documents read, trained on, and held out;
 * - `accuracy`, `mean_confidence`, `ece` (15 equal-width bins): on the held-out rows, null without any;
 * - `model`: where it was written, its size, and the featuriser (`buckets`, `ngrams`, `active_buckets`);
 * - `fit`: L-BFGS `iterations`, `converged` and `loss` (logistic regression; null for naive Bayes);
 * - `predictions`: the held-out predictions file, or null; `seconds`: the time spent training.
 */
export interface TrainReport {
  algorithm: BaselineAlgorithm;
  classes: string[];
  rows: number;
  train_rows: number;
  held_out_rows: number;
  accuracy: number | null;
  mean_confidence: number | null;
  ece: number | null;
  model: { path: string; bytes: number; buckets: number; ngrams: number; active_buckets: number };
  fit: { iterations: number; converged: boolean; loss: number } | null;
  predictions: string | null;
  seconds: number;
}

const number =
  (name: string, ok: (x: number) => boolean, expected: string) =>
  (v: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !ok(x)) throw new AirlockError('USAGE', `${name} must be ${expected}, got "${v}"`);
    return x;
  };
const integer = (name: string, lo: number, hi: number) =>
  number(name, (x) => Number.isInteger(x) && x >= lo && x <= hi, `an integer from ${lo} to ${hi}`);

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description(
      'train the built-in baseline text classifier (naive Bayes or logistic regression over hashed word n-grams), ' +
        'report its accuracy on a held-out part, and write the model and the held-out predictions',
    )
    .argument('<data>', 'labelled records: JSONL, JSON array, CSV or TSV (gzip too)')
    .requiredOption('--text <fields>', 'the text field, or several separated by commas (joined with a space), e.g. subject,body')
    .requiredOption('--label <field>', 'the field holding the class')
    .requiredOption('--out <file>', 'where to write the model (JSON)')
    .addOption(new Option('--algorithm <name>', 'the classifier').choices([...BASELINE_ALGORITHMS]).default(BASELINE_DEFAULTS.algorithm))
    .option('--ngrams <n>', 'word n-grams from 1 to n', integer('--ngrams', 1, BASELINE_LIMITS.maxNgrams), BASELINE_DEFAULTS.ngrams)
    .option('--buckets <n>', 'hash buckets (features)', integer('--buckets', 1, BASELINE_LIMITS.maxBuckets), BASELINE_DEFAULTS.buckets)
    .option(
      '--alpha <a>',
      'naive Bayes: Lidstone smoothing (1 = Laplace)',
      number('--alpha', (x) => x > 0 && Number.isFinite(x), 'a number > 0'),
      BASELINE_DEFAULTS.alpha,
    )
    .option(
      '--l2 <lambda>',
      'logistic regression: L2 penalty on the mean cross-entropy (scikit-learn C = 1 / (l2 · training rows))',
      number('--l2', (x) => x >= 0 && Number.isFinite(x), 'a number ≥ 0'),
      BASELINE_DEFAULTS.l2,
    )
    .option(
      '--epochs <n>',
      'logistic regression: at most this many L-BFGS iterations',
      integer('--epochs', 1, 1_000_000),
      BASELINE_DEFAULTS.epochs,
    )
    .option('--seed <n>', 'seed of the train / held-out split', integer('--seed', 0, 2 ** 32 - 1), 1)
    .option(
      '--holdout <share>',
      'share of each class held out to measure accuracy (0: train on everything)',
      number('--holdout', (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
      0.2,
    )
    .option('--predictions <file>', 'write the held-out predictions as JSONL { row, label, probs, logits }, ready for airlock calibrate')
    .option('--format <format>', 'jsonl, json, csv or tsv (default: from the file name)')
    .option(
      '--json',
      'print the result as JSON (algorithm, classes, rows, train_rows, held_out_rows, accuracy, mean_confidence, ece, model, fit, predictions, seconds)',
    )
    .action(
      action(async (file: string, opts: TrainOptions) => {
        const textFields = opts.text
          .split(',')
          .map((f) => f.trim())
          .filter((f) => f !== '');
        if (textFields.length === 0) throw new AirlockError('USAGE', '--text must name at least one field');
        if (textFields.includes(opts.label)) {
          throw new AirlockError('USAGE', `--text includes the label field "${opts.label}": the model would be trained on the answer`);
        }
        const examples = await readExamples(file, detectFormat(file, opts.format), textFields, opts.label);
        const classes = [...new Set(examples.map((e) => e.label))].sort();
        if (classes.length < 2) {
          throw new AirlockError(
            'USAGE',
            `${file}: training needs at least 2 classes in "${opts.label}", but all ${examples.length} rows are "${classes[0]}"`,
          );
        }
        const split = stratifiedSplit(
          examples.map((e) => e.label),
          opts.holdout,
          opts.seed,
        );
        if (opts.predictions && split.heldOut.length === 0) {
          throw new AirlockError(
            'USAGE',
            `--predictions needs held-out rows, and --holdout ${opts.holdout} holds none of the ${examples.length} rows out`,
          );
        }
        const train = split.train.map((i) => examples[i]);
        const heldOut = split.heldOut.map((i) => examples[i]);

        const started = performance.now();
        const model = fitModel(train, opts);
        const seconds = (performance.now() - started) / 1000;

        const scored = score(model, heldOut);
        const correct = scored.map((p, i) => p.label === heldOut[i].label);
        const confidence = scored.map((p) => p.confidence);
        const accuracy = heldOut.length > 0 ? correct.filter(Boolean).length / heldOut.length : null;
        const meanConfidence = heldOut.length > 0 ? confidence.reduce((s, c) => s + c, 0) / heldOut.length : null;
        const ece = heldOut.length > 0 ? expectedCalibrationError(confidence, correct) : null;

        model.metadata = {
          textFields,
          labelField: opts.label,
          source: path.basename(file),
          trainRows: train.length,
          heldOut: { rows: heldOut.length, share: opts.holdout, seed: opts.seed, accuracy, meanConfidence },
        };
        const bytes = writeAtomically(opts.out, `${JSON.stringify(model)}\n`);
        if (opts.predictions) {
          const lines = heldOut.map((e, i) =>
            JSON.stringify({ row: e.row, label: e.label, probs: scored[i].probs, logits: scored[i].logits }),
          );
          writeAtomically(opts.predictions, `${lines.join('\n')}\n`);
        }

        const report: TrainReport = {
          algorithm: model.algorithm,
          classes: model.classes,
          rows: examples.length,
          train_rows: train.length,
          held_out_rows: heldOut.length,
          accuracy,
          mean_confidence: meanConfidence,
          ece,
          model: {
            path: opts.out,
            bytes,
            buckets: model.buckets,
            ngrams: model.ngrams,
            active_buckets: model.params.bucketDeltas.length,
          },
          fit:
            model.algorithm === 'logistic_regression'
              ? { iterations: model.params.iterations, converged: model.params.converged, loss: model.params.loss }
              : null,
          predictions: opts.predictions ?? null,
          seconds,
        };
        if (opts.json) printJson(report);
        else process.stdout.write(`${describe(report, opts).join('\n')}\n`);
        return 0;
      }),
    );
}

/** Reads the labelled documents; every unusable row is reported with its line (JSONL, CSV) or position (JSON). */
async function readExamples(
  file: string,
  format: ReturnType<typeof detectFormat>,
  textFields: string[],
  labelField: string,
): Promise<Example[]> {
  const examples: Example[] = [];
  const problems: string[] = [];
  let problemCount = 0;
  const problem = (row: number, message: string) => {
    problemCount++;
    if (problems.length < 10) problems.push(`row ${row}: ${message}`);
  };
  const progress = new Progress(`reading ${path.basename(file)}`);
  let read = 0;
  for await (const item of readRecords(file, format)) {
    progress.update(++read);
    if ('error' in item) {
      problem(item.line, item.error);
      continue;
    }
    const text = recordText(item.value, textFields);
    if ('problem' in text) {
      problem(item.line, text.problem);
      continue;
    }
    const label = recordField(item.value as object, labelField);
    if (label === undefined || label === null || label === '') {
      problem(item.line, `the label field "${labelField}" is ${label === '' ? 'empty' : 'missing'}`);
    } else if (typeof label !== 'string' && typeof label !== 'number' && typeof label !== 'boolean') {
      problem(item.line, `the label field "${labelField}" holds ${Array.isArray(label) ? 'an array' : 'an object'}, not a class name`);
    } else {
      examples.push({ row: item.line, text: text.text, label: String(label) });
    }
  }
  progress.done(read);
  if (problemCount > 0) {
    const more = problemCount > problems.length ? `\n  … and ${problemCount - problems.length} more` : '';
    throw new AirlockError('USAGE', `${file} has ${problemCount} unusable row(s):\n  ${problems.join('\n  ')}${more}`);
  }
  if (examples.length === 0) throw new AirlockError('USAGE', `${file} holds no rows`);
  return examples;
}

function fitModel(train: Example[], opts: TrainOptions): BaselineModel {
  const featurising = new Progress('featurising');
  const fitting = new Progress('fitting (L-BFGS)');
  let fitted = false;
  const model = trainBaseline(train, {
    algorithm: opts.algorithm,
    ngrams: opts.ngrams,
    buckets: opts.buckets,
    alpha: opts.alpha,
    l2: opts.l2,
    epochs: opts.epochs,
    onProgress: (p) => {
      if (p.stage === 'featurising') {
        if (p.done < p.total) featurising.update(p.done, p.total);
        else featurising.done(p.done, p.total);
      } else {
        fitted = true;
        fitting.update(p.iteration, p.maxIterations, `loss ${p.loss.toFixed(6)}`);
      }
    },
  });
  if (fitted && model.algorithm === 'logistic_regression') {
    fitting.done(model.params.iterations, opts.epochs, `loss ${model.params.loss.toFixed(6)}`);
  }
  return model;
}

function score(model: BaselineModel, examples: Example[]): BaselinePrediction[] {
  const progress = new Progress('scoring held-out rows');
  const out = examples.map((e, i) => {
    progress.update(i + 1, examples.length);
    return predictBaseline(model, e.text);
  });
  progress.done(out.length, examples.length);
  return out;
}

/** Writes through a temporary file and a rename, so a reader never sees half a model; returns the bytes written. */
function writeAtomically(file: string, content: string): number {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, content);
    renameSync(temporary, file);
  } catch (err) {
    throw new AirlockError('USAGE', `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return Buffer.byteLength(content);
}

/** Beyond this gap between mean confidence and accuracy on held-out rows the summary calls the model overconfident. */
const OVERCONFIDENCE_NOTE_AT = 0.05;

function describe(r: TrainReport, opts: TrainOptions): string[] {
  const kb = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} KB`);
  const out = [
    `trained ${r.algorithm} on ${r.train_rows} of ${r.rows} rows (${r.classes.length} classes: ${r.classes.join(', ')}) in ${r.seconds.toFixed(1)}s` +
      (r.fit ? ` — ${r.fit.iterations} L-BFGS iterations${r.fit.converged ? '' : ', not converged (raise --epochs)'}` : ''),
  ];
  if (r.accuracy !== null && r.mean_confidence !== null && r.ece !== null) {
    out.push(
      `held out ${r.held_out_rows} rows: accuracy ${r.accuracy.toFixed(4)}, mean confidence ${r.mean_confidence.toFixed(4)}, ECE ${r.ece.toFixed(4)}`,
    );
    const gap = r.mean_confidence - r.accuracy;
    if (gap > OVERCONFIDENCE_NOTE_AT) {
      const fix = r.predictions
        ? `airlock calibrate ${r.predictions} measures it and fits the fix (temperature scaling)`
        : 'write --predictions and run airlock calibrate on them to fit the fix (temperature scaling)';
      out.push(`note: overconfident — mean confidence exceeds accuracy by ${gap.toFixed(3)}; ${fix}`);
    }
  } else {
    out.push('held out no rows (--holdout 0): accuracy not measured');
  }
  out.push(`model: ${opts.out} (${kb(r.model.bytes)}, ${r.model.active_buckets} of ${r.model.buckets} buckets used)`);
  if (r.predictions) out.push(`predictions: ${r.predictions} (${r.held_out_rows} rows) — next: airlock calibrate ${r.predictions}`);
  return out;
}
