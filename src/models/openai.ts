import type { ValidateFunction } from 'ajv';
import type { OpenAiModelConfig } from '../config/sections/model-openai.js';
import { createAjv } from '../contract/ajv.js';
import { parseRetryAfter } from '../delivery/backoff.js';
import { type OutboundAnswer, send } from '../outbound/http.js';
import { type ModelAdapter, ModelCallError, type Prediction } from './adapter.js';
import { MAX_MODEL_ANSWER_BYTES } from './http.js';

/**
 * `type: openai` — a classifier made of any OpenAI-compatible Chat Completions endpoint
 * (`POST {base_url}/chat/completions`: OpenAI, Azure OpenAI, vLLM, llama.cpp, Ollama, LiteLLM, …).
 *
 * The request. A system message (`system`, or a short default) and one user message: the record, rendered by
 * `prompt` (`{{field}}` or `{{a.b}}` replaced by the record's value — as is when a string, JSON otherwise, empty
 * when absent), or by `text_fields` (one `field: value` line each), or else the whole record as JSON; then, always,
 * the instruction to answer `{"label": …}` with exactly one of the allowed labels, which it lists. With
 * `response_format: json_schema` (default) the request carries that answer's JSON Schema as a strict structured
 * output (`{type: 'json_schema', json_schema: {name: 'classification', strict: true, schema}}`, the label an enum),
 * so a server that honours it can only produce an allowed label. Whatever the server promises, every answer is
 * validated against the same schema here; anything else is an invalid answer (`rejected`: a review case).
 *
 * Confidence, `confidence: logprobs` (default). The request asks for `logprobs` with `top_logprobs` alternatives
 * (default 20) at temperature 0. The answer's tokens, with their bytes, must spell out its text. Each allowed
 * label L has a "tail": the bytes of its JSON string after the opening quote, closing quote included (the raw
 * bytes of the answer for the label it gave). Tails are prefix-free, since a JSON string ends at its first
 * unescaped quote. Walking the answer's tokens from the first one that touches the label's value, with π the
 * product of the chosen tokens' probabilities so far (π = 1 before the value):
 *   - a label is alive while the bytes chosen so far (from the value's start) are a prefix of its tail;
 *   - an alternative token x at this position (bytes differing from the chosen token's) fits label L when x and
 *     what must come next for L (the bytes from this token's start: any before the value, then L's tail from
 *     there) are one a prefix of the other; the alternative's probability times π goes to the alive labels it
 *     fits — all of it when it fits one label, split evenly when it fits several (the label candidates share
 *     that token, and one answer cannot tell how its probability divides among them), nowhere when it fits none
 *     (it would leave the schema);
 *   - then π is multiplied by the chosen token's probability, and the walk stops when one label is left alive:
 *     that label (the answer's) gets π. Its remaining tokens count as certain.
 * The masses are normalised over the allowed labels: `probs[L] = m[L] / Σ m`, and the prediction's confidence
 * is `probs[label]`. This is the chain rule of probability, P(label) = Π P(token | tokens before), evaluated along
 * the answer's path, with every other label reached through the alternatives at the token where it parts from
 * that path. When all labels part at one token (e.g. single-token labels) it is the usual rule: the label's
 * first distinguishing token's probability, renormalised over the labels. It is exact — it equals the model's
 * probability of each label given that the answer is an allowed label — when (a) decoding is constrained to the
 * schema, so a label's tokens after it is determined are certain; (b) each label's probability flows through one
 * tokenisation: an alternative spelling of a label (`re`+`fund` for `ref`+`und`) is counted only where it is
 * among the alternatives seen; (c) every label that parts from the path appears among the `top_logprobs` where
 * it parts (those that do not get 0, and the others are renormalised without them); and (d) no label's part of a
 * shared alternative is needed: the even split is a guess for the labels that share it, while the answer's own
 * probability stays exact unless an alternative that fits it also fits another label — which happens when one
 * label's token is a prefix of another's (labels `bill`, one token, and `billing` = `bil`+`ling`: the alternative
 * `bill` could begin either).
 * Temperature does not enter: the logprobs are the model's distribution, and at temperature 0 the answer is the
 * greedy path (which, for multi-token labels, need not be the label with the largest probability).
 *
 * When a response carries no logprobs (a server that does not support them): with `fallback: self_consistency`
 * the record is scored by self-consistency instead (at `temperature`, or 1 when that is 0); otherwise the call
 * fails as `unavailable`, since a server without logprobs fails every record alike — a configuration problem to
 * fix, not a record for a person.
 *
 * Confidence, `confidence: self_consistency`. `samples` answers (default 5, at temperature 1) — one request with
 * `n: samples`, or, from a server that ignores `n`, the missing ones as separate requests sent at once — and a
 * majority vote over the valid ones (Wang et al. 2023, "Self-Consistency Improves Chain of Thought Reasoning in
 * Language Models", ICLR 2023, arXiv:2203.11171: sample several answers, take the most frequent). `probs` are
 * the vote shares among the valid answers and the confidence is the majority label's share (the agreement that
 * the paper finds to correlate with accuracy). A tie goes to the label answered first among the tied. Invalid answers do not
 * vote; when half of the samples or more are invalid the record is rejected as an invalid answer.
 *
 * Errors. Connection errors, timeouts, 408, 409, 429 and 5xx are `unavailable` and retried (`retries`, jittered
 * exponential backoff, or the server's `retry-after-ms` / `Retry-After` when it sends one; a wait longer than
 * `timeout` or 30 s is not slept through: the call fails and the scoring stage pauses instead). 401, 403 and
 * 404, a 429 for an exhausted quota, and a 400/422 that names a request setting (`model`, `temperature`, `n`,
 * `logprobs`, `top_logprobs`, `response_format`, `max_tokens`, …, or an unrecognised argument) fail every record
 * alike: they are `unavailable` at once, and say that the configuration needs fixing. Any other 400/422 or 4xx concerns this
 * record (e.g. its prompt is too long) and is `rejected`, as are refusals, content-filtered and cut-off answers.
 */

/** One token of an answer, as `choices[i].logprobs.content[j]` gives it. */
export interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
  top_logprobs?: { token: string; logprob: number; bytes: number[] | null }[];
}

interface ChatChoice {
  index: number;
  message?: { role?: string; content?: string | null; refusal?: string | null };
  logprobs?: { content?: TokenLogprob[] | null } | null;
  finish_reason?: string | null;
}

interface ChatCompletion {
  model?: string;
  choices: ChatChoice[];
}

interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

/** Longest Retry-After slept through (and never longer than `timeout`); beyond it the call fails and the scoring stage pauses. */
const MAX_RETRY_AFTER_MS = 30_000;

/** Request settings: a 400/422 naming one of them (or an argument the server does not know) is a configuration problem. */
const SETTING_PARAMS = [
  'model',
  'temperature',
  'n',
  'logprobs',
  'top_logprobs',
  'response_format',
  'max_tokens',
  'max_completion_tokens',
  'stream',
  'seed',
];

const DEFAULT_SYSTEM = 'You are a careful classifier. Read the input and choose the one label that fits it best.';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A failed request, with what the retry loop needs to know. */
class RequestFailure extends ModelCallError {
  constructor(
    kind: 'unavailable' | 'rejected',
    message: string,
    status: number | undefined,
    readonly retry: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(kind, message, status);
  }
}

/** The JSON Schema of an answer: `{"label": one of labels}` and nothing else (strict structured-output rules). */
export function answerSchema(labels: string[]): Record<string, unknown> {
  return {
    type: 'object',
    properties: { label: { type: 'string', enum: labels } },
    required: ['label'],
    additionalProperties: false,
  };
}

/**
 * What identifies the model behind an `openai` adapter, for its fingerprint: the endpoint, model, labels and
 * prompt, and the settings that shape its confidence. Never the API key or the headers (they may carry secrets).
 */
export function openAiModelIdentity(config: OpenAiModelConfig): Record<string, unknown> {
  const sampled = config.confidence === 'self_consistency' || config.fallback === 'self_consistency';
  return {
    type: config.type,
    base_url: config.baseUrl,
    model: config.model,
    labels: config.labels,
    prompt: config.prompt ?? null,
    text_fields: config.textFields ?? null,
    system: config.system ?? null,
    confidence: config.confidence,
    fallback: config.fallback,
    samples: sampled ? config.samples : null,
    top_logprobs: config.confidence === 'logprobs' ? config.topLogprobs : null,
    temperature: config.temperature,
    response_format: config.responseFormat,
    version: config.version ?? null,
  };
}

/** Reads a field: a key as written (even with dots in it), else a dotted path (`a.b.c`). */
function valueAt(record: unknown, path: string): unknown {
  if (record !== null && typeof record === 'object' && Object.hasOwn(record, path)) return (record as Record<string, unknown>)[path];
  let v: unknown = record;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function asText(v: unknown): string {
  if (v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Renders a prompt template: each `{{field}}` (spaces inside the braces allowed; `{{a.b}}` for a nested field) is
 * replaced by the record's value — a string as is, anything else as JSON, nothing when the field is absent.
 */
export function renderPrompt(template: string, record: unknown): string {
  return template.replace(/\{\{\s*([^{}]+?)\s*\}\}/g, (_m, field: string) => asText(valueAt(record, field)));
}

/** The user message for a record: the template, the text fields, or the record as JSON; then the instruction. */
export function userMessage(config: Pick<OpenAiModelConfig, 'prompt' | 'textFields' | 'labels'>, record: unknown): string {
  const body = config.prompt
    ? renderPrompt(config.prompt, record)
    : config.textFields
      ? config.textFields.map((f) => `${f}: ${asText(valueAt(record, f))}`).join('\n')
      : `Classify this record:\n${JSON.stringify(record)}`;
  const allowed = config.labels.map((l) => JSON.stringify(l)).join(', ');
  return `${body}\n\nAnswer with a JSON object {"label": <label>} where <label> is exactly one of: ${allowed}.`;
}

function tokenBytes(t: { token: string; bytes: number[] | null }): Buffer {
  return Array.isArray(t.bytes) ? Buffer.from(t.bytes) : Buffer.from(t.token, 'utf8');
}

/** True when `a` is a prefix of `b`. */
function isPrefix(a: Buffer, b: Buffer): boolean {
  return a.length <= b.length && a.equals(b.subarray(0, a.length));
}

/** End (index after the closing quote) of the JSON string literal that opens at `i`, or -1. */
function endOfString(s: string, i: number): number {
  if (s[i] !== '"') return -1;
  for (let k = i + 1; k < s.length; k++) {
    if (s[k] === '\\') k++;
    else if (s[k] === '"') return k + 1;
  }
  return -1;
}

/** Where the string value of the answer's `label` member sits in its text: [opening quote, after closing quote). */
function locateLabelValue(content: string): { start: number; end: number } | undefined {
  const ws = (i: number) => {
    while (i < content.length && ' \t\n\r'.includes(content[i])) i++;
    return i;
  };
  let i = ws(0);
  if (content[i] !== '{') return undefined;
  i = ws(i + 1);
  const keyEnd = endOfString(content, i);
  if (keyEnd < 0 || JSON.parse(content.slice(i, keyEnd)) !== 'label') return undefined;
  i = ws(keyEnd);
  if (content[i] !== ':') return undefined;
  i = ws(i + 1);
  const end = endOfString(content, i);
  return end < 0 ? undefined : { start: i, end };
}

/** What the logprobs of one answer say about each allowed label (see the module comment). */
export interface LabelEstimate {
  label: string;
  /** Per allowed label (in the configured order), summing to 1. */
  probs: Record<string, number>;
  /** Share of the total that came from alternatives fitting several labels and was split evenly among them. */
  shared: number;
}

/**
 * Estimates each allowed label's probability from one answer's token logprobs (the module comment says exactly
 * what is computed). Throws an Error saying why when the logprobs cannot support an estimate.
 */
export function labelProbabilitiesFromLogprobs(content: string, tokens: TokenLogprob[], labels: string[]): LabelEstimate {
  const text = Buffer.from(content, 'utf8');
  const spans = tokens.map(tokenBytes);
  // Tokens after the content (a server may list an end-of-text token) come after the label and are not read.
  if (!isPrefix(text, Buffer.concat(spans))) throw new Error('the logprobs do not spell out the answer');
  let at: { start: number; end: number } | undefined;
  try {
    at = locateLabelValue(content);
  } catch {
    at = undefined;
  }
  if (!at) throw new Error('the answer has no "label" string where the logprobs could be read');
  const label = JSON.parse(content.slice(at.start, at.end)) as string;
  if (!labels.includes(label)) throw new Error(`the answer's label ${JSON.stringify(label)} is not an allowed label`);
  const valueStart = Buffer.byteLength(content.slice(0, at.start + 1));
  const valueEnd = Buffer.byteLength(content.slice(0, at.end));
  const tails = new Map(
    labels.map((l) => [l, l === label ? text.subarray(valueStart, valueEnd) : Buffer.from(JSON.stringify(l).slice(1), 'utf8')]),
  );
  const mass = new Map(labels.map((l) => [l, 0]));
  let shared = 0;
  let alive = [...labels];
  let path = 1;
  let offset = 0;
  for (let i = 0; i < tokens.length; i++) {
    const start = offset;
    const chosen = spans[i];
    offset += chosen.length;
    if (offset <= valueStart) continue;
    // What must come from this token's start for each alive label: bytes before the value, then the rest of its tail.
    const before = text.subarray(start, Math.max(start, valueStart));
    const need = new Map(
      alive.map((l) => [l, Buffer.concat([before, (tails.get(l) as Buffer).subarray(Math.max(0, start - valueStart))])]),
    );
    const fits = (x: Buffer) => alive.filter((l) => isPrefix(x, need.get(l) as Buffer) || isPrefix(need.get(l) as Buffer, x));
    const alternatives = tokens[i].top_logprobs ?? [];
    if (alternatives.length === 0) throw new Error('no top_logprobs at the token where the labels part');
    const seen: Buffer[] = [chosen];
    for (const alt of alternatives) {
      const x = tokenBytes(alt);
      // The chosen token (read from its own entry), a repeat, or an empty (special) token: nothing to learn.
      if (x.length === 0 || seen.some((s) => s.equals(x))) continue;
      seen.push(x);
      if (typeof alt.logprob !== 'number' || Number.isNaN(alt.logprob)) throw new Error('a top_logprobs entry has no logprob');
      const into = fits(x);
      if (into.length === 0) continue;
      const p = path * Math.exp(alt.logprob);
      for (const l of into) mass.set(l, (mass.get(l) as number) + p / into.length);
      if (into.length > 1) shared += p;
    }
    if (typeof tokens[i].logprob !== 'number' || Number.isNaN(tokens[i].logprob)) throw new Error('a token has no logprob');
    path *= Math.exp(tokens[i].logprob);
    // Alive after this token: the value bytes chosen so far are a prefix of the label's tail (or, once past the
    // closing quote, contain it — only the answer's own tail can, tails being prefix-free).
    const chosenValue = text.subarray(valueStart, Math.min(offset, text.length));
    alive = alive.filter((l) => isPrefix(chosenValue, tails.get(l) as Buffer) || isPrefix(tails.get(l) as Buffer, chosenValue));
    if (alive.length <= 1) break;
  }
  if (alive.length !== 1 || alive[0] !== label) throw new Error('the logprobs end before the label is complete');
  mass.set(label, (mass.get(label) as number) + path);
  const total = [...mass.values()].reduce((s, v) => s + v, 0);
  if (!(total > 0)) throw new Error('the logprobs give the answer a probability of 0');
  const probs: Record<string, number> = {};
  for (const l of labels) probs[l] = (mass.get(l) as number) / total;
  return { label, probs, shared: shared / total };
}

/**
 * Majority vote over sampled answers (Wang et al. 2023): `probs` are the vote shares, the label the most
 * frequent one (a tie goes to the one answered first), the confidence its share.
 */
export function majorityVote(answers: string[], labels: string[]): { label: string; confidence: number; probs: Record<string, number> } {
  if (answers.length === 0) throw new RangeError('no answers to vote on');
  const votes = new Map(labels.map((l) => [l, 0]));
  for (const a of answers) votes.set(a, (votes.get(a) ?? 0) + 1);
  let label = answers[0];
  for (const a of answers) if ((votes.get(a) as number) > (votes.get(label) as number)) label = a;
  const probs: Record<string, number> = {};
  for (const [l, n] of votes) probs[l] = n / answers.length;
  return { label, confidence: probs[label], probs };
}

/** Scores records with an OpenAI-compatible Chat Completions endpoint (see the module comment). */
export class OpenAiModelAdapter implements ModelAdapter {
  readonly type = 'openai';
  private readonly endpoint: string;
  private readonly validateAnswer: ValidateFunction;
  private readonly responseFormat: Record<string, unknown> | undefined;
  private readonly maxTokens: number;
  /** False once the server is seen to ignore `n`: samples are then asked for one request each. */
  private honoursN = true;

  constructor(private readonly config: OpenAiModelConfig) {
    const url = new URL(config.baseUrl);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/chat/completions`;
    this.endpoint = url.toString();
    const schema = answerSchema(config.labels);
    this.validateAnswer = createAjv({ strict: false, allErrors: false }).compile(schema);
    this.responseFormat =
      config.responseFormat === 'json_schema'
        ? { type: 'json_schema', json_schema: { name: 'classification', strict: true, schema } }
        : config.responseFormat === 'json_object'
          ? { type: 'json_object' }
          : undefined;
    // A token is at least one byte: the longest answer's bytes bound its tokens; slack for whitespace.
    const longest = Math.max(...config.labels.map((l) => Buffer.byteLength(JSON.stringify({ label: l }))));
    this.maxTokens = config.maxTokens ?? longest + 16;
  }

  async predict(record: unknown): Promise<Prediction> {
    const messages: ChatMessage[] = [
      { role: 'system', content: this.config.system ?? DEFAULT_SYSTEM },
      { role: 'user', content: userMessage(this.config, record) },
    ];
    if (this.config.confidence === 'self_consistency') return this.selfConsistency(messages, this.config.temperature);
    const { completion, latencyMs } = await this.request(messages, { n: 1, logprobs: true, temperature: this.config.temperature });
    const choice = completion.choices[0];
    const label = this.answerOf(choice);
    const content = choice.message?.content as string;
    const tokens = choice.logprobs?.content;
    if (!Array.isArray(tokens) || tokens.length === 0) {
      if (this.config.fallback === 'self_consistency') {
        return this.selfConsistency(messages, this.config.temperature > 0 ? this.config.temperature : 1);
      }
      throw new ModelCallError(
        'unavailable',
        `${this.endpoint} answered without logprobs, so confidence cannot be read from them: a configuration problem that affects every record (use a server that returns logprobs, or set fallback: self_consistency or confidence: self_consistency); scoring pauses and records wait`,
      );
    }
    let estimate: LabelEstimate;
    try {
      estimate = labelProbabilitiesFromLogprobs(content, tokens, this.config.labels);
    } catch (err) {
      throw new ModelCallError('rejected', `invalid answer: ${(err as Error).message}`);
    }
    if (estimate.label !== label) throw new ModelCallError('rejected', 'invalid answer: more than one "label" member');
    return {
      label,
      confidence: estimate.probs[label],
      probs: estimate.probs,
      modelVersion: this.config.version ?? completion.model,
      latencyMs,
    };
  }

  /** Samples answers and votes (see the module comment). */
  private async selfConsistency(messages: ChatMessage[], temperature: number): Promise<Prediction> {
    const samples = this.config.samples;
    const first = await this.request(messages, { n: this.honoursN ? samples : 1, logprobs: false, temperature });
    const results = [first];
    const missing = samples - first.completion.choices.length;
    if (missing > 0) {
      if (this.honoursN && first.completion.choices.length === 1) this.honoursN = false;
      results.push(
        ...(await Promise.all(Array.from({ length: missing }, () => this.request(messages, { n: 1, logprobs: false, temperature })))),
      );
    }
    const choices = results.flatMap((r) => r.completion.choices).slice(0, samples);
    const answers: string[] = [];
    const problems: string[] = [];
    for (const choice of choices) {
      try {
        answers.push(this.answerOf(choice));
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    if (answers.length * 2 <= choices.length) {
      const first = problems[0].replace(/^invalid answer: /, '');
      throw new ModelCallError(
        'rejected',
        `invalid answer: ${problems.length} of ${choices.length} samples were not a valid answer (the first: ${first})`,
      );
    }
    const vote = majorityVote(answers, this.config.labels);
    return {
      ...vote,
      modelVersion: this.config.version ?? first.completion.model,
      latencyMs: Math.max(...results.map((r) => r.latencyMs)),
    };
  }

  /** The label of one choice, or a `rejected` error saying what is wrong with it. */
  private answerOf(choice: ChatChoice): string {
    const message = choice.message ?? {};
    if (typeof message.refusal === 'string' && message.refusal) {
      throw new ModelCallError('rejected', `the model refused: ${truncate(message.refusal)}`);
    }
    if (choice.finish_reason === 'content_filter')
      throw new ModelCallError('rejected', 'the provider’s content filter withheld the answer');
    const content = message.content;
    if (choice.finish_reason === 'length') {
      // Nothing of the answer at all: the limit went elsewhere (a reasoning model's hidden tokens) — every record alike.
      if (!content) {
        throw new ModelCallError(
          'unavailable',
          `the token limit (${this.maxTokens}) was used up before any answer (a reasoning model? set max_tokens): a configuration problem that affects every record; scoring pauses and records wait`,
        );
      }
      throw new ModelCallError('rejected', `invalid answer: cut off at the token limit (${this.maxTokens}; raise max_tokens)`);
    }
    if (typeof content !== 'string') throw new ModelCallError('rejected', 'invalid answer: the message has no content');
    let answer: unknown;
    try {
      answer = JSON.parse(content);
    } catch {
      throw new ModelCallError('rejected', `invalid answer: not JSON: ${truncate(content)}`);
    }
    if (!this.validateAnswer(answer)) {
      const label = (answer as { label?: unknown } | null)?.label;
      const why =
        answer && typeof answer === 'object' && !Array.isArray(answer) && typeof label === 'string' && !this.config.labels.includes(label)
          ? `label ${truncate(JSON.stringify(label))} is not one of ${this.config.labels.map((l) => JSON.stringify(l)).join(', ')}`
          : `expected {"label": one of the labels}, got ${truncate(content)}`;
      throw new ModelCallError('rejected', `invalid answer: ${why}`);
    }
    return (answer as { label: string }).label;
  }

  /** One request, retried as the module comment says; resolves to a completion with at least one choice. */
  private async request(
    messages: ChatMessage[],
    options: { n: number; logprobs: boolean; temperature: number },
  ): Promise<{ completion: ChatCompletion; latencyMs: number }> {
    const body: Record<string, unknown> = {
      model: this.config.model,
      messages,
      temperature: options.temperature,
      [this.config.maxTokensField]: this.maxTokens,
      ...(options.n > 1 ? { n: options.n } : {}),
      ...(options.logprobs ? { logprobs: true, top_logprobs: this.config.topLogprobs } : {}),
      ...(this.responseFormat ? { response_format: this.responseFormat } : {}),
    };
    const text = JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(text);
      } catch (err) {
        if (!(err instanceof RequestFailure) || !err.retry || attempt >= this.config.retries) throw plain(err);
        // A server's wait is slept through only within one call's time (the scoring stage sizes its lease on
        // timeout × (1 + retries)); a longer one fails the call, and the stage pauses instead.
        if (err.retryAfterMs !== undefined && err.retryAfterMs > Math.min(MAX_RETRY_AFTER_MS, this.config.timeoutMs)) {
          const seconds = Math.round(err.retryAfterMs / 1000);
          throw new ModelCallError('unavailable', `${err.message}; the server asks to wait ${seconds}s`, err.status);
        }
        await sleep(err.retryAfterMs ?? Math.min(8000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2));
      }
    }
  }

  private async once(body: string): Promise<{ completion: ChatCompletion; latencyMs: number }> {
    const started = performance.now();
    const who = this.endpoint;
    let res: OutboundAnswer;
    let text: string;
    try {
      res = await send(this.endpoint, {
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...this.config.headers,
          ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}),
        },
        body,
        timeoutMs: this.config.timeoutMs,
        maxBytes: MAX_MODEL_ANSWER_BYTES,
      });
      text = res.text;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const reason =
        e.name === 'TimeoutError' || e.name === 'AbortError'
          ? `timed out after ${this.config.timeoutMs}ms`
          : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new RequestFailure('unavailable', `model unreachable: ${reason}`, undefined, true);
    }
    const latencyMs = performance.now() - started;
    const status = res.status;
    if (status >= 200 && status < 300) {
      let completion: ChatCompletion | undefined;
      try {
        completion = JSON.parse(text) as ChatCompletion;
      } catch {
        completion = undefined;
      }
      if (!completion || !Array.isArray(completion.choices) || completion.choices.length === 0) {
        throw new RequestFailure(
          'unavailable',
          `${who} did not answer in the Chat Completions format (no choices): check base_url; scoring pauses and records wait`,
          status,
          false,
        );
      }
      completion.choices.sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
      return { completion, latencyMs };
    }
    const error = errorObject(text);
    const detail = [error.code ?? error.type, error.message].filter(Boolean).join(': ');
    const described = `model answered ${status}${detail ? ` (${truncate(detail)})` : ''}`;
    if (status === 429) {
      if (error.code === 'insufficient_quota') {
        throw new RequestFailure('unavailable', `${described}: the account's quota is used up, which affects every record`, status, false);
      }
      throw new RequestFailure('unavailable', described, status, true, retryAfterMs(res.headers));
    }
    if (status === 408 || status === 409 || status >= 500) {
      throw new RequestFailure('unavailable', described, status, true, retryAfterMs(res.headers));
    }
    const configuration = ': a configuration problem that affects every record, not this record; scoring pauses and records wait';
    if (status === 401) {
      throw new RequestFailure('unavailable', `model answered 401: the API key was refused (check api_key)${configuration}`, status, false);
    }
    if (status === 403 || status === 404) {
      throw new RequestFailure('unavailable', `${described}: check base_url, model and api_key${configuration}`, status, false);
    }
    const param = typeof error.param === 'string' ? error.param : '';
    const aboutSettings =
      SETTING_PARAMS.some((p) => param === p || param.startsWith(`${p}.`) || param.startsWith(`${p}[`)) ||
      error.code === 'unsupported_parameter' ||
      /unrecognized request argument/i.test(error.message ?? '');
    if ((status === 400 || status === 422) && aboutSettings) {
      throw new RequestFailure('unavailable', `${described}: the server refused a request setting${configuration}`, status, false);
    }
    throw new RequestFailure('rejected', `model refused the record with ${status}${detail ? `: ${truncate(detail)}` : ''}`, status, false);
  }
}

/** The `error` object of an OpenAI error response (`{error: {message, type, param, code}}`), or what can be had. */
function errorObject(text: string): { message?: string; type?: string; param?: unknown; code?: string } {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (parsed && typeof parsed.error === 'object' && parsed.error !== null) {
      const e = parsed.error as Record<string, unknown>;
      return {
        message: typeof e.message === 'string' ? e.message : undefined,
        type: typeof e.type === 'string' ? e.type : undefined,
        param: e.param,
        code: typeof e.code === 'string' ? e.code : undefined,
      };
    }
    if (parsed && typeof parsed.error === 'string') return { message: parsed.error };
  } catch {
    // not JSON
  }
  return { message: text.trim() ? text.trim() : undefined };
}

/** `retry-after-ms` (OpenAI's, in ms) or `Retry-After` (RFC 9110: seconds or an HTTP date), in ms. */
function retryAfterMs(headers: Headers): number | undefined {
  const ms = Number(headers.get('retry-after-ms'));
  if (headers.get('retry-after-ms') !== null && Number.isFinite(ms) && ms >= 0) return ms;
  const seconds = headers.get('retry-after');
  if (seconds && /^\s*\d+(\.\d+)?\s*$/.test(seconds)) return Number(seconds) * 1000;
  return parseRetryAfter(seconds, Date.now());
}

/** A plain ModelCallError (the retry details stay inside this module). */
function plain(err: unknown): unknown {
  return err instanceof RequestFailure ? new ModelCallError(err.kind, err.message, err.status) : err;
}

function truncate(s: string, max = 200): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
