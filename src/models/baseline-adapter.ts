import { type ModelAdapter, ModelCallError, type Prediction } from './adapter.js';
import { type BaselineModel, parseBaselineModel } from './baseline-model.js';
import { predictBaseline } from './baseline-predict.js';

export interface BaselineAdapterOptions {
  /**
   * The record field(s) holding the text: one name, or several (e.g. `['subject', 'body']`) whose values are
   * joined with one space. Default: the fields the model was trained on (`metadata.textFields`).
   */
  textFields?: string | readonly string[];
  /** Reported as the prediction's model version. */
  version?: string;
}

/**
 * The built-in baseline classifier as a ModelAdapter (type `baseline`). It takes the model already parsed
 * (the caller reads the file; parseBaselineModel checks it here) and scores a record's text in-process.
 *
 * Missing text: a text field that is absent or null counts as an empty string, so a mail with a subject and
 * no body field is scored on its subject. A record in which *none* of the text fields is present is rejected
 * (ModelCallError 'rejected', so it becomes a review case rather than a decision): scored on an empty document
 * the model would answer its class prior — a confident-looking guess about nothing, most likely a sign that
 * the record's shape changed. A field that is present but empty ("") is text, and is scored. A field holding
 * an object or an array is rejected; numbers and booleans are read as their text.
 */
export class BaselineModelAdapter implements ModelAdapter {
  readonly type = 'baseline';
  readonly model: BaselineModel;
  readonly textFields: readonly string[];
  private readonly version?: string;

  constructor(model: unknown, options: BaselineAdapterOptions = {}) {
    this.model = parseBaselineModel(model);
    const fields = options.textFields ?? modelTextFields(this.model);
    this.textFields = typeof fields === 'string' ? [fields] : [...fields];
    if (this.textFields.length === 0 || this.textFields.some((f) => typeof f !== 'string' || f === '')) {
      throw new Error('baseline adapter: name the text field(s) to read (textFields), e.g. "body" or ["subject", "body"]');
    }
    this.version = options.version;
  }

  async predict(record: unknown): Promise<Prediction> {
    const started = performance.now();
    const text = recordText(record, this.textFields);
    if ('problem' in text) throw new ModelCallError('rejected', text.problem);
    const { label, confidence, probs } = predictBaseline(this.model, text.text);
    return { label, confidence, probs, modelVersion: this.version, latencyMs: performance.now() - started };
  }
}

/** The text fields a model was trained on, as `airlock train` records them in its metadata. */
function modelTextFields(model: BaselineModel): string[] {
  const fields = model.metadata?.textFields;
  return Array.isArray(fields) && fields.every((f) => typeof f === 'string') ? fields : [];
}

/**
 * The text the baseline reads from a record: the values of `fields` joined with one space, in order (a field
 * is a top-level key, or a dotted path into nested objects when no top-level key has that name). Absent and
 * null fields count as empty; it is a problem when none of the fields is present, or one holds an object or array.
 * `airlock train` and the adapter both read records with this, so training and serving see the same text.
 */
export function recordText(record: unknown, fields: readonly string[]): { text: string } | { problem: string } {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return { problem: 'the record is not an object' };
  }
  const parts: string[] = [];
  let present = 0;
  for (const field of fields) {
    const value = recordField(record, field);
    if (value === undefined || value === null) {
      parts.push('');
    } else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      parts.push(String(value));
      present++;
    } else {
      return { problem: `field "${field}" holds ${Array.isArray(value) ? 'an array' : 'an object'}, not text` };
    }
  }
  if (present === 0) {
    const names = fields.map((f) => `"${f}"`).join(', ');
    return { problem: fields.length === 1 ? `the record has no text field ${names}` : `the record has none of the text fields ${names}` };
  }
  return { text: parts.join(' ') };
}

/** A record's field: the top-level key `field`, else the dotted path `a.b.c` into nested objects; undefined when absent. */
export function recordField(record: object, field: string): unknown {
  if (Object.hasOwn(record, field)) return (record as Record<string, unknown>)[field];
  if (!field.includes('.')) return undefined;
  let value: unknown = record;
  for (const key of field.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
