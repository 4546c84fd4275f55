import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mulberry32 } from '../../src/drift/random.js';

/**
 * A loopback server that speaks the OpenAI Chat Completions API (`POST /v1/chat/completions`) as documented:
 * the request is checked (Bearer auth, model, messages, temperature, n, logprobs/top_logprobs, max_tokens /
 * max_completion_tokens, response_format — a strict json_schema must follow the strict-mode rules), errors come
 * as `{error: {message, type, param, code}}` with the documented statuses (400, 401, 404, 429 with Retry-After),
 * and the answer is a `chat.completion` object with `choices[].message`, `choices[].logprobs.content[]` (token,
 * logprob, bytes, top_logprobs) and `usage`.
 *
 * Its "model" is a distribution over labels that the test gives per prompt (`decide`). It answers
 * `{"label":"…"}` token by token, as constrained decoding against the json_schema would: the structure tokens
 * `{"`, `label`, `":"`, then the label's tokens, then `"}`. At each token of the label, the next-token
 * distribution is exact: P(next = x) = Σ P(L) over the labels still possible whose next token is x, divided by
 * Σ P(L) over the labels still possible — so the product of a label's token probabilities is P(L). The logprobs
 * are those of that distribution (temperature changes the sampling, not the logprobs); `top_logprobs` lists the
 * most likely next tokens. Temperature 0 is greedy decoding (token by token), otherwise tokens are sampled from
 * p^(1/T) with a seeded generator; each of `n` choices is sampled independently.
 *
 * Tokeniser (a stand-in for BPE, realistic enough to split labels): letter runs of up to 4 ASCII letters are one
 * token, longer runs are cut into 3-letter tokens (`refund` → `ref`, `und`); a non-ASCII letter is two byte-level
 * tokens (its first byte, then the rest — each alone not valid UTF-8, listed as `bytes:\xNN` as the API does);
 * digits go up to 3 per token; runs of spaces, and runs of other characters, are one token each (`_`, `\"`).
 */

export interface SimulatedMessage {
  role: string;
  content: string | { type: string; text?: string }[] | null;
}

/** What the test's `decide` sees. */
export interface SimulatedPrompt {
  /** The system (or developer) messages' text, joined. */
  system: string;
  /** The user messages' text, joined. */
  user: string;
  messages: SimulatedMessage[];
  request: Record<string, unknown>;
}

/**
 * The model's answer to one prompt: a distribution over labels; or a label and its probability (the rest spread
 * evenly over the other labels); or, to simulate a server that does not keep to the schema, a fixed text or a
 * refusal.
 */
export type SimulatedDecision =
  | { probs: Record<string, number> }
  | { label: string; probability: number }
  | { content: string }
  | { refusal: string };

export interface OpenAiSimulatorOptions {
  decide: (prompt: SimulatedPrompt) => SimulatedDecision;
  /** The API key the server accepts (default `test`). */
  apiKey?: string;
  /** Model names it knows (others: 404 model_not_found); default: any. */
  models?: string[];
  /** At most `requests` requests per `perMs` (sliding window); beyond: 429 with Retry-After. */
  rateLimit?: { requests: number; perMs: number };
  /** Send `retry-after-ms` beside `retry-after` on 429 (default true). */
  retryAfterMsHeader?: boolean;
  /** Return logprobs when asked (default true); false: `logprobs: null`, as servers without support do. */
  logprobs?: boolean;
  /** Honour `n` (default true); false: always one choice. */
  honoursN?: boolean;
  /** Probability the raw model puts on a token outside the schema at the label's first token: listed in top_logprobs, never sampled. */
  offSchemaMass?: number;
  /** Tokeniser for the label's text (the JSON-escaped string between the quotes). */
  tokenize?: (text: string) => (string | Buffer)[];
  /** Delay before answering. */
  delayMs?: number;
  /** Seed of the sampler (default 1). */
  seed?: number;
  /** Answers to give instead of a completion, first in first out (e.g. a 503, then normal service). */
  failNext?: { status: number; body?: unknown; headers?: Record<string, string> }[];
}

export interface SimulatorRequestLog {
  status: number;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown> | undefined;
  /** The labels (or texts) answered, one per choice, when the request succeeded. */
  answers?: string[];
  /** Each label's probability under the model for this prompt, when it answered labels. */
  probs?: Record<string, number>;
}

export interface OpenAiSimulator {
  /** The API root to use as base_url, e.g. http://127.0.0.1:1234/v1. */
  url: string;
  options: OpenAiSimulatorOptions;
  requests: SimulatorRequestLog[];
  close(): Promise<void>;
}

interface ApiError {
  status: number;
  message: string;
  type: string;
  param: string | null;
  code: string | null;
  headers?: Record<string, string>;
}

const KNOWN_PARAMETERS = new Set([
  'model',
  'messages',
  'audio',
  'frequency_penalty',
  'function_call',
  'functions',
  'logit_bias',
  'logprobs',
  'max_completion_tokens',
  'max_tokens',
  'metadata',
  'modalities',
  'n',
  'parallel_tool_calls',
  'prediction',
  'presence_penalty',
  'prompt_cache_key',
  'reasoning_effort',
  'response_format',
  'safety_identifier',
  'seed',
  'service_tier',
  'stop',
  'store',
  'stream',
  'stream_options',
  'temperature',
  'tool_choice',
  'tools',
  'top_logprobs',
  'top_p',
  'user',
  'verbosity',
  'web_search_options',
]);
const ROLES = ['system', 'assistant', 'user', 'function', 'tool', 'developer'];

const invalid = (message: string, param: string | null, code: string | null = null): ApiError => ({
  status: 400,
  message,
  type: 'invalid_request_error',
  param,
  code,
});

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a decimal';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function checkNumber(body: Record<string, unknown>, name: string, min: number, max: number, integer: boolean): ApiError | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  const kind = integer ? 'integer' : 'decimal';
  if (typeof v !== 'number' || (integer && !Number.isInteger(v))) {
    return invalid(
      `Invalid type for '${name}': expected ${integer ? 'an integer' : 'a decimal'}, but got ${typeName(v)} instead.`,
      name,
      'invalid_type',
    );
  }
  if (v < min)
    return invalid(
      `Invalid '${name}': ${kind} below minimum value. Expected a value >= ${min}, but got ${v} instead.`,
      name,
      `${kind}_below_min_value`,
    );
  if (v > max)
    return invalid(
      `Invalid '${name}': ${kind} above maximum value. Expected a value <= ${max}, but got ${v} instead.`,
      name,
      `${kind}_above_max_value`,
    );
  return undefined;
}

/** Strict structured outputs: every object lists all its properties as required and sets additionalProperties: false. */
function strictSchemaProblem(schema: unknown, context: string[] = []): string | undefined {
  if (!schema || typeof schema !== 'object') return undefined;
  const s = schema as Record<string, unknown>;
  const where = `In context=(${context.map((c) => `'${c}'`).join(', ')}${context.length === 1 ? ',' : ''})`;
  if (s.type === 'object' || s.properties) {
    if (s.additionalProperties !== false) return `${where}, 'additionalProperties' is required to be supplied and to be false.`;
    const keys = Object.keys((s.properties as Record<string, unknown>) ?? {});
    const required = Array.isArray(s.required) ? (s.required as string[]) : [];
    const missing = keys.filter((k) => !required.includes(k));
    if (missing.length > 0) {
      return `${where}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing[0]}'.`;
    }
    for (const k of keys) {
      const p = strictSchemaProblem((s.properties as Record<string, unknown>)[k], [...context, 'properties', k]);
      if (p) return p;
    }
  }
  if (s.items) return strictSchemaProblem(s.items, [...context, 'items']);
  return undefined;
}

function messageText(m: SimulatedMessage): string {
  if (typeof m.content === 'string') return m.content;
  if (Array.isArray(m.content)) return m.content.map((p) => (p && p.type === 'text' ? (p.text ?? '') : '')).join('');
  return '';
}

/** Checks a request body as the API does; returns the first problem. */
function validateRequest(body: Record<string, unknown>): ApiError | undefined {
  for (const key of Object.keys(body)) {
    if (!KNOWN_PARAMETERS.has(key)) return invalid(`Unrecognized request argument supplied: ${key}`, null);
  }
  if (body.model === undefined) return invalid('you must provide a model parameter', null);
  if (typeof body.model !== 'string') {
    return invalid(`Invalid type for 'model': expected a string, but got ${typeName(body.model)} instead.`, 'model', 'invalid_type');
  }
  if (body.messages === undefined) return invalid("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
  if (!Array.isArray(body.messages)) {
    return invalid(
      `Invalid type for 'messages': expected an array of objects, but got ${typeName(body.messages)} instead.`,
      'messages',
      'invalid_type',
    );
  }
  if (body.messages.length === 0) {
    return invalid(
      "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      'messages',
      'empty_array',
    );
  }
  for (const [i, m] of (body.messages as unknown[]).entries()) {
    const at = `messages[${i}]`;
    if (!m || typeof m !== 'object' || Array.isArray(m)) {
      return invalid(`Invalid type for '${at}': expected an object, but got ${typeName(m)} instead.`, at, 'invalid_type');
    }
    const msg = m as Record<string, unknown>;
    if (msg.role === undefined) return invalid(`Missing required parameter: '${at}.role'.`, `${at}.role`, 'missing_required_parameter');
    if (!ROLES.includes(msg.role as string)) {
      return invalid(
        `Invalid value: '${String(msg.role)}'. Supported values are: ${ROLES.map((r) => `'${r}'`).join(', ')}.`,
        `${at}.role`,
        'invalid_value',
      );
    }
    if (msg.role !== 'assistant' && msg.content === undefined) {
      return invalid(`Missing required parameter: '${at}.content'.`, `${at}.content`, 'missing_required_parameter');
    }
    if (msg.content !== undefined && msg.content !== null && typeof msg.content !== 'string' && !Array.isArray(msg.content)) {
      return invalid(
        `Invalid type for '${at}.content': expected one of a string or array of objects, but got ${typeName(msg.content)} instead.`,
        `${at}.content`,
        'invalid_type',
      );
    }
  }
  const numeric =
    checkNumber(body, 'temperature', 0, 2, false) ??
    checkNumber(body, 'top_p', 0, 1, false) ??
    checkNumber(body, 'n', 1, 128, true) ??
    checkNumber(body, 'top_logprobs', 0, 20, true) ??
    checkNumber(body, 'max_tokens', 1, 1_000_000, true) ??
    checkNumber(body, 'max_completion_tokens', 1, 1_000_000, true);
  if (numeric) return numeric;
  if (body.logprobs !== undefined && body.logprobs !== null && typeof body.logprobs !== 'boolean') {
    return invalid(
      `Invalid type for 'logprobs': expected a boolean, but got ${typeName(body.logprobs)} instead.`,
      'logprobs',
      'invalid_type',
    );
  }
  if (body.top_logprobs !== undefined && body.top_logprobs !== null && body.logprobs !== true) {
    return invalid(
      "Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is used.",
      'top_logprobs',
      'invalid_value',
    );
  }
  if (body.stream === true) return invalid('This simulator does not stream; send stream: false.', 'stream', 'unsupported_value');
  const rf = body.response_format as Record<string, unknown> | undefined;
  if (rf !== undefined && rf !== null) {
    if (typeof rf !== 'object' || !['text', 'json_object', 'json_schema'].includes(rf.type as string)) {
      return invalid(
        `Invalid value: '${String(rf?.type)}'. Supported values are: 'json_object', 'json_schema', and 'text'.`,
        'response_format.type',
        'invalid_value',
      );
    }
    if (rf.type === 'json_object') {
      const all = (body.messages as SimulatedMessage[]).map(messageText).join('\n');
      if (!/json/i.test(all)) {
        return invalid("'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", 'messages');
      }
    }
    if (rf.type === 'json_schema') {
      const js = rf.json_schema as Record<string, unknown> | undefined;
      if (!js || typeof js !== 'object') {
        return invalid(
          "Missing required parameter: 'response_format.json_schema'.",
          'response_format.json_schema',
          'missing_required_parameter',
        );
      }
      if (typeof js.name !== 'string') {
        return invalid(
          "Missing required parameter: 'response_format.json_schema.name'.",
          'response_format.json_schema.name',
          'missing_required_parameter',
        );
      }
      if (!/^[a-zA-Z0-9_-]{1,64}$/.test(js.name)) {
        return invalid(
          `Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.`,
          'response_format.json_schema.name',
          'invalid_value',
        );
      }
      if (js.strict === true) {
        const problem = strictSchemaProblem(js.schema);
        if (problem)
          return invalid(`Invalid schema for response_format '${js.name}': ${problem}`, 'response_format', 'invalid_json_schema');
      }
    }
  }
  return undefined;
}

/** The simulator's tokeniser (see the module comment). */
export function simulatorTokenize(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (const piece of text.match(/\p{L}+|\p{N}{1,3}|\s+|[^\s\p{L}\p{N}]+/gu) ?? []) {
    if (!/^\p{L}+$/u.test(piece)) {
      out.push(Buffer.from(piece, 'utf8'));
      continue;
    }
    for (const run of piece.match(/[A-Za-z]+|[^A-Za-z]/gu) ?? []) {
      if (/^[A-Za-z]+$/.test(run)) {
        if (run.length <= 4) out.push(Buffer.from(run));
        else for (let i = 0; i < run.length; i += 3) out.push(Buffer.from(run.slice(i, i + 3)));
      } else {
        const b = Buffer.from(run, 'utf8');
        if (b.length === 1) out.push(b);
        else out.push(b.subarray(0, 1), b.subarray(1));
      }
    }
  }
  return out;
}

/** The token's text as the API shows it: the text, or `bytes:\xNN…` when its bytes are not valid UTF-8 alone. */
export function tokenText(b: Buffer): string {
  const s = b.toString('utf8');
  if (Buffer.from(s, 'utf8').equals(b)) return s;
  return `bytes:${[...b].map((x) => `\\x${x.toString(16).padStart(2, '0')}`).join('')}`;
}

interface LogprobEntry {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

const entry = (b: Buffer, logprob: number, top: { bytes: Buffer; logprob: number }[]): LogprobEntry => ({
  token: tokenText(b),
  logprob,
  bytes: [...b],
  top_logprobs: top.map((t) => ({ token: tokenText(t.bytes), logprob: t.logprob, bytes: [...t.bytes] })),
});

/** Structure tokens before and after the label, with tiny losses and a few unlikely alternatives, as real models show. */
const OPEN = [
  {
    token: '{"',
    logprob: -1.2e-6,
    alternatives: [
      { token: '{\n', logprob: -14.1 },
      { token: '{', logprob: -15.3 },
    ],
  },
  { token: 'label', logprob: -3.1e-7, alternatives: [{ token: 'lab', logprob: -16.2 }] },
  {
    token: '":"',
    logprob: -2.4e-6,
    alternatives: [
      { token: '":', logprob: -13.4 },
      { token: '":"\\', logprob: -18.9 },
    ],
  },
];
const CLOSE = Buffer.from('"}');
const OFF_SCHEMA = Buffer.from('unknown');

export async function startOpenAiSimulator(options: OpenAiSimulatorOptions): Promise<OpenAiSimulator> {
  const sim: OpenAiSimulator = { url: '', options, requests: [], close: async () => {} };
  const accepted: number[] = [];
  let random = mulberry32(options.seed ?? 1);
  let seed = options.seed ?? 1;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'openai-version': '2020-10-01',
      'x-request-id': `req_${randomBytes(12).toString('hex')}`,
      ...headers,
    });
    res.end(text);
  };
  const fail = (res: ServerResponse, log: SimulatorRequestLog, e: ApiError) => {
    log.status = e.status;
    send(res, e.status, { error: { message: e.message, type: e.type, param: e.param, code: e.code } }, e.headers);
  };

  /** One constrained answer `{"label":"…"}`: its text, tokens with logprobs, and label. */
  const answerLabel = (probs: Map<string, number>, temperature: number, topK: number | undefined) => {
    const tokenise = (label: string) =>
      (options.tokenize ?? simulatorTokenize)(JSON.stringify(label).slice(1, -1)).map((t) => (typeof t === 'string' ? Buffer.from(t) : t));
    const sequences = new Map([...probs.keys()].map((l) => [l, tokenise(l)]));
    const entries: LogprobEntry[] = OPEN.map((o) =>
      entry(Buffer.from(o.token), o.logprob, [
        { bytes: Buffer.from(o.token), logprob: o.logprob },
        ...o.alternatives.map((a) => ({ bytes: Buffer.from(a.token), logprob: a.logprob })),
      ]),
    );
    let alive = [...probs.keys()].filter((l) => (probs.get(l) as number) > 0);
    const chosen: Buffer[] = [];
    for (let k = 0; ; k++) {
      // The next-token distribution: each still-possible label's mass on its next token ("}" once it is complete).
      const next = new Map<string, { bytes: Buffer; p: number }>();
      const aliveMass = alive.reduce((s, l) => s + (probs.get(l) as number), 0);
      for (const l of alive) {
        const b = (sequences.get(l) as Buffer[])[k] ?? CLOSE;
        const key = b.toString('hex');
        const c = next.get(key) ?? { bytes: b, p: 0 };
        c.p += (probs.get(l) as number) / aliveMass;
        next.set(key, c);
      }
      const candidates = [...next.values()];
      const leak = k === 0 ? (options.offSchemaMass ?? 0) : 0;
      let pick: { bytes: Buffer; p: number };
      if (temperature === 0) pick = candidates.reduce((best, c) => (c.p > best.p ? c : best));
      else {
        const weights = candidates.map((c) => c.p ** (1 / temperature));
        let u = random() * weights.reduce((s, w) => s + w, 0);
        pick = candidates[candidates.length - 1];
        for (const [i, w] of weights.entries()) {
          u -= w;
          if (u < 0) {
            pick = candidates[i];
            break;
          }
        }
      }
      const listed = candidates.map((c) => ({ bytes: c.bytes, logprob: Math.log(c.p * (1 - leak)) }));
      if (leak > 0) listed.push({ bytes: OFF_SCHEMA, logprob: Math.log(leak) });
      listed.sort((a, b) => b.logprob - a.logprob);
      entries.push(entry(pick.bytes, Math.log(pick.p * (1 - leak)), listed.slice(0, topK ?? 0)));
      chosen.push(pick.bytes);
      if (pick.bytes === CLOSE) break;
      alive = alive.filter((l) => (sequences.get(l) as Buffer[])[k]?.equals(pick.bytes));
    }
    for (const e of entries) e.top_logprobs = e.top_logprobs.slice(0, topK ?? 0);
    const label =
      alive.length === 1 ? alive[0] : (alive.find((l) => (sequences.get(l) as Buffer[]).length === chosen.length - 1) as string);
    return { label, entries };
  };

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const log: SimulatorRequestLog = { status: 200, headers: req.headers, body: undefined };
    sim.requests.push(log);
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions') {
      return fail(res, log, { ...invalid(`Invalid URL (${req.method} ${url.pathname})`, null), status: 404 });
    }
    const auth = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
    if (!auth) {
      return fail(res, log, {
        ...invalid(
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
          null,
        ),
        status: 401,
      });
    }
    const key = options.apiKey ?? 'test';
    if (auth[1].trim() !== key) {
      const shown = auth[1].length > 8 ? `${auth[1].slice(0, 3)}*****${auth[1].slice(-4)}` : '*****';
      return fail(res, log, { ...invalid(`Incorrect API key provided: ${shown}.`, null, 'invalid_api_key'), status: 401 });
    }
    if (options.rateLimit) {
      const now = Date.now();
      while (accepted.length > 0 && accepted[0] <= now - options.rateLimit.perMs) accepted.shift();
      if (accepted.length >= options.rateLimit.requests) {
        const waitMs = accepted[0] + options.rateLimit.perMs - now;
        return fail(res, log, {
          status: 429,
          message: `Rate limit reached for requests per ${options.rateLimit.perMs}ms: Limit ${options.rateLimit.requests}, Used ${accepted.length}, Requested 1. Please try again in ${waitMs}ms.`,
          type: 'requests',
          param: null,
          code: 'rate_limit_exceeded',
          headers: {
            'retry-after': String(Math.ceil(waitMs / 1000)),
            ...(options.retryAfterMsHeader === false ? {} : { 'retry-after-ms': String(waitMs) }),
            'x-ratelimit-limit-requests': String(options.rateLimit.requests),
            'x-ratelimit-remaining-requests': '0',
            'x-ratelimit-reset-requests': `${waitMs}ms`,
          },
        });
      }
      accepted.push(now);
    }
    const injected = options.failNext?.shift();
    if (injected) {
      log.status = injected.status;
      return send(
        res,
        injected.status,
        injected.body ?? { error: { message: 'injected', type: 'server_error', param: null, code: null } },
        injected.headers,
      );
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return fail(
        res,
        log,
        invalid(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
          null,
        ),
      );
    }
    log.body = body;
    const problem = validateRequest(body);
    if (problem) return fail(res, log, problem);
    if (options.models && !options.models.includes(body.model as string)) {
      return fail(res, log, {
        ...invalid(`The model \`${String(body.model)}\` does not exist or you do not have access to it.`, null, 'model_not_found'),
        status: 404,
      });
    }
    if (options.seed !== undefined && options.seed !== seed) {
      seed = options.seed;
      random = mulberry32(seed);
    }

    const messages = body.messages as SimulatedMessage[];
    const prompt: SimulatedPrompt = {
      system: messages
        .filter((m) => m.role === 'system' || m.role === 'developer')
        .map(messageText)
        .join('\n'),
      user: messages
        .filter((m) => m.role === 'user')
        .map(messageText)
        .join('\n'),
      messages,
      request: body,
    };
    const decision = options.decide(prompt);
    const rf = body.response_format as
      | { type?: string; json_schema?: { schema?: { properties?: { label?: { enum?: string[] } } } } }
      | undefined;
    const schemaLabels = rf?.type === 'json_schema' ? rf.json_schema?.schema?.properties?.label?.enum : undefined;
    const n = options.honoursN === false ? 1 : ((body.n as number | undefined) ?? 1);
    const temperature = (body.temperature as number | undefined) ?? 1;
    const wantLogprobs = body.logprobs === true && options.logprobs !== false;
    const topK = body.top_logprobs as number | undefined;
    const limit = (body.max_completion_tokens ?? body.max_tokens) as number | undefined;

    let probs: Map<string, number> | undefined;
    if ('probs' in decision) probs = new Map(Object.entries(decision.probs));
    else if ('label' in decision) {
      const others = (schemaLabels ?? [decision.label]).filter((l) => l !== decision.label);
      probs = new Map([[decision.label, others.length > 0 ? decision.probability : 1]]);
      for (const o of others) probs.set(o, (1 - decision.probability) / others.length);
    }
    if (probs) {
      const total = [...probs.values()].reduce((s, v) => s + v, 0);
      const outside = schemaLabels ? [...probs.keys()].filter((l) => !schemaLabels.includes(l)) : [];
      if (Math.abs(total - 1) > 1e-9 || outside.length > 0) {
        log.status = 500;
        return send(res, 500, {
          error: { message: `simulator: decide() gave an invalid distribution`, type: 'server_error', param: null, code: null },
        });
      }
      log.probs = Object.fromEntries(probs);
    }

    const choices: unknown[] = [];
    log.answers = [];
    let completionTokens = 0;
    for (let index = 0; index < n; index++) {
      let entries: LogprobEntry[];
      let content: string | null;
      let refusal: string | null = null;
      if ('refusal' in decision) {
        content = null;
        refusal = decision.refusal;
        entries = simulatorTokenize(refusal).map((b) => entry(b, -0.02, [{ bytes: b, logprob: -0.02 }]));
        log.answers.push(`refusal: ${refusal}`);
      } else if ('content' in decision) {
        content = decision.content;
        entries = simulatorTokenize(content).map((b) => entry(b, -0.05, topK ? [{ bytes: b, logprob: -0.05 }] : []));
        log.answers.push(content);
      } else {
        const answer = answerLabel(probs as Map<string, number>, temperature, topK);
        entries = answer.entries;
        content = JSON.stringify({ label: answer.label });
        log.answers.push(answer.label);
      }
      let finish = 'stop';
      if (limit !== undefined && entries.length > limit) {
        entries = entries.slice(0, limit);
        if (content !== null) content = Buffer.concat(entries.map((e) => Buffer.from(e.bytes))).toString('utf8');
        finish = 'length';
      }
      completionTokens += entries.length;
      choices.push({
        index,
        message: { role: 'assistant', content, refusal, annotations: [] },
        logprobs: wantLogprobs ? (refusal === null ? { content: entries, refusal: null } : { content: null, refusal: entries }) : null,
        finish_reason: finish,
      });
    }
    const promptTokens = messages.reduce((s, m) => s + 4 + simulatorTokenize(messageText(m)).length, 3);
    send(res, 200, {
      id: `chatcmpl-${randomBytes(15).toString('base64url')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices,
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_airlock_sim',
    });
  };

  const server = createServer((req, res) => {
    handler(req, res).catch((err) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ error: { message: `simulator: ${(err as Error).message}`, type: 'server_error', param: null, code: null } }),
      );
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  sim.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  sim.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return sim;
}
