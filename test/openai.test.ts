// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text with ${ENV_VAR} placeholders
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/load.js';
import type { OpenAiModelConfig } from '../src/config/sections/model-openai.js';
import { ModelCallError, type Prediction } from '../src/models/adapter.js';
import { OpenAiModelAdapter } from '../src/models/openai.js';
import { createLogger } from '../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../src/server/app.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { json } from './support/json.js';
import {
  type OpenAiSimulator,
  type OpenAiSimulatorOptions,
  type SimulatedDecision,
  startOpenAiSimulator,
} from './support/openai-simulator.js';
import { type Receiver, startReceiver, waitFor } from './support/servers.js';

const EXACT = 9; // toBeCloseTo digits: |a − b| < 0.5·10⁻⁹

let sim: OpenAiSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function configFor(url: string, labels: string[], over: Partial<OpenAiModelConfig> = {}): OpenAiModelConfig {
  return {
    type: 'openai',
    baseUrl: url,
    model: 'gpt-sim',
    apiKey: 'test',
    labels,
    confidence: 'logprobs',
    fallback: 'none',
    samples: 5,
    topLogprobs: 20,
    temperature: 0,
    maxTokensField: 'max_completion_tokens',
    responseFormat: 'json_schema',
    timeoutMs: 2000,
    retries: 2,
    concurrency: 4,
    headers: {},
    ...over,
  };
}

async function adapterFor(
  labels: string[],
  decide: (prompt: { user: string }) => SimulatedDecision,
  over: Partial<OpenAiModelConfig> = {},
  simulator: Partial<OpenAiSimulatorOptions> = {},
) {
  sim = await startOpenAiSimulator({ decide, ...simulator });
  return new OpenAiModelAdapter(configFor(sim.url, labels, over));
}

async function failure(p: Promise<Prediction>): Promise<ModelCallError> {
  const err = await p.then(
    (v) => {
      throw new Error(`expected a failure, got ${JSON.stringify(v)}`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelCallError);
  return err as ModelCallError;
}

describe('confidence from logprobs equals the model’s probability', () => {
  const cases: { name: string; probs: Record<string, number>; answer: string; options?: Partial<OpenAiSimulatorOptions> }[] = [
    { name: 'single-token labels', probs: { spam: 0.62, ham: 0.3, eggs: 0.08 }, answer: 'spam' },
    { name: 'multi-token labels', probs: { refund: 0.41, return: 0.35, cancellation: 0.24 }, answer: 'refund' },
    {
      name: 'labels sharing their first tokens (the answer inside the group)',
      probs: { billing_question: 0.45, billing_dispute: 0.25, refund: 0.3 },
      answer: 'billing_question',
    },
    { name: 'labels split inside UTF-8 characters', probs: { café: 0.55, naïve: 0.3, résumé: 0.15 }, answer: 'café' },
    { name: 'labels that need JSON escaping', probs: { 'say "hi"': 0.7, 'path\\to': 0.2, 'tab\there': 0.1 }, answer: 'say "hi"' },
    {
      name: 'mass the raw model puts outside the schema',
      probs: { spam: 0.5, ham: 0.3, eggs: 0.2 },
      answer: 'spam',
      options: { offSchemaMass: 0.25 },
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const labels = Object.keys(c.probs);
      const model = await adapterFor(labels, () => ({ probs: c.probs }), {}, c.options);
      const p = await model.predict({ text: 'x' });
      expect(p.label).toBe(c.answer);
      expect(p.confidence).toBeCloseTo(c.probs[c.answer], EXACT);
      for (const l of labels) expect(p.probs?.[l]).toBeCloseTo(c.probs[l], EXACT);
      expect(Object.keys(p.probs ?? {})).toEqual(labels);
    });
  }

  it('a label parting from the answer inside a group it shares a token with gets the group’s mass split evenly; the answer stays exact', async () => {
    const probs = { refund: 0.5, billing_question: 0.3, billing_dispute: 0.2 };
    const model = await adapterFor(Object.keys(probs), () => ({ probs }));
    const p = await model.predict({});
    expect(p.label).toBe('refund');
    expect(p.confidence).toBeCloseTo(0.5, EXACT);
    expect(p.probs?.billing_question).toBeCloseTo(0.25, EXACT);
    expect(p.probs?.billing_dispute).toBeCloseTo(0.25, EXACT);
  });

  it('documented limit: when one label’s token is a prefix of another’s, the shared alternative is split evenly', async () => {
    // bill = [bill], billing = [bil, lin, g]: the alternative `bill` could begin either label.
    const probs = { billing: 0.6, bill: 0.4 };
    const model = await adapterFor(Object.keys(probs), () => ({ probs }));
    const p = await model.predict({});
    expect(p.label).toBe('billing');
    expect(p.confidence).toBeCloseTo(0.6 + 0.4 / 2, EXACT);
  });

  it('documented limit: labels outside top_logprobs get 0 and the others are renormalised', async () => {
    const probs = { a: 0.4, b: 0.3, c: 0.2, d: 0.1 };
    const model = await adapterFor(Object.keys(probs), () => ({ probs }), { topLogprobs: 2 });
    const p = await model.predict({});
    expect(p.label).toBe('a');
    expect(p.confidence).toBeCloseTo(0.4 / 0.7, EXACT);
    expect(p.probs?.c).toBe(0);
  });

  it('sends the documented request: auth, model, messages with the prompt, logprobs, strict json_schema', async () => {
    const model = await adapterFor(['refund', 'billing'], () => ({ label: 'refund', probability: 0.8 }), {
      prompt: 'Classify this ticket: {{subject}}\n{{body}}',
      system: 'You triage support tickets.',
    });
    const p = await model.predict({ subject: 'Money back', body: 'Please refund order 17', amount: 3 });
    expect(p).toMatchObject({ label: 'refund', modelVersion: 'gpt-sim' });
    expect(p.confidence).toBeCloseTo(0.8, EXACT);
    const [req] = sim?.requests ?? [];
    expect(req.headers.authorization).toBe('Bearer test');
    expect(req.body).toEqual({
      model: 'gpt-sim',
      messages: [
        { role: 'system', content: 'You triage support tickets.' },
        {
          role: 'user',
          content:
            'Classify this ticket: Money back\nPlease refund order 17\n\nAnswer with a JSON object {"label": <label>} where <label> is exactly one of: "refund", "billing".',
        },
      ],
      temperature: 0,
      max_completion_tokens: 35,
      logprobs: true,
      top_logprobs: 20,
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'classification',
          strict: true,
          schema: {
            type: 'object',
            properties: { label: { type: 'string', enum: ['refund', 'billing'] } },
            required: ['label'],
            additionalProperties: false,
          },
        },
      },
    });
  });

  it('uses max_tokens for servers that know only that field, and no response_format when told', async () => {
    const model = await adapterFor(['a', 'b'], () => ({ probs: { a: 0.9, b: 0.1 } }), {
      maxTokensField: 'max_tokens',
      maxTokens: 12,
      responseFormat: 'none',
    });
    await model.predict({});
    const body = sim?.requests[0].body ?? {};
    expect(body.max_tokens).toBe(12);
    expect(body).not.toHaveProperty('max_completion_tokens');
    expect(body).not.toHaveProperty('response_format');
  });
});

describe('self-consistency', () => {
  it('asks for n samples in one request and answers the vote shares', async () => {
    const probs = { refund: 0.5, return: 0.3, billing: 0.2 };
    const model = await adapterFor(Object.keys(probs), () => ({ probs }), { confidence: 'self_consistency', samples: 9, temperature: 1 });
    const p = await model.predict({});
    expect(sim?.requests).toHaveLength(1);
    const req = sim?.requests[0];
    expect(req?.body).toMatchObject({ n: 9, temperature: 1 });
    expect(req?.body).not.toHaveProperty('logprobs');
    const answers = req?.answers ?? [];
    expect(answers).toHaveLength(9);
    const share = (l: string) => answers.filter((a) => a === l).length / 9;
    expect(p.probs).toEqual({ refund: share('refund'), return: share('return'), billing: share('billing') });
    const majority = Math.max(...Object.values(p.probs ?? {}));
    expect(p.confidence).toBe(majority);
    expect(share(p.label)).toBe(majority);
  });

  it('vote shares converge on the model’s probabilities', async () => {
    const probs = { yes: 0.7, no: 0.3 };
    const model = await adapterFor(Object.keys(probs), () => ({ probs }), { confidence: 'self_consistency', samples: 128, temperature: 1 });
    const p = await model.predict({});
    expect(p.label).toBe('yes');
    // Binomial(128, 0.7): σ of the share ≈ 0.04; the seeded sampler is deterministic, the bound is 3σ.
    expect(Math.abs((p.probs?.yes ?? 0) - 0.7)).toBeLessThan(0.12);
  });

  it('makes the samples one request each when the server ignores n, and remembers it', async () => {
    const model = await adapterFor(
      ['a', 'b'],
      () => ({ probs: { a: 0.6, b: 0.4 } }),
      { confidence: 'self_consistency', samples: 5 },
      { honoursN: false },
    );
    await model.predict({});
    expect(sim?.requests.map((r) => r.body?.n ?? 1)).toEqual([5, 1, 1, 1, 1]);
    await model.predict({});
    expect(sim?.requests.slice(5).map((r) => r.body?.n ?? 1)).toEqual([1, 1, 1, 1, 1]);
  });

  it('invalid samples do not vote; when half of them or more are invalid, the record is rejected', async () => {
    let call = 0;
    const script: SimulatedDecision[] = [
      { content: 'refund' },
      { label: 'a', probability: 1 },
      { content: '{"label":"z"}' },
      { label: 'b', probability: 1 },
      { label: 'a', probability: 1 },
    ];
    const model = await adapterFor(
      ['a', 'b'],
      () => script[call++ % script.length],
      { confidence: 'self_consistency', samples: 5 },
      { honoursN: false },
    );
    const p = await model.predict({});
    expect(p).toMatchObject({ label: 'a', probs: { a: 2 / 3, b: 1 / 3 } });
    expect(p.confidence).toBeCloseTo(2 / 3, 12);
    script.splice(
      0,
      5,
      { content: 'no' },
      { content: 'no' },
      { content: 'no' },
      { label: 'a', probability: 1 },
      { label: 'a', probability: 1 },
    );
    call = 0;
    const err = await failure(model.predict({}));
    expect(err.kind).toBe('rejected');
    expect(err.message).toBe('invalid answer: 3 of 5 samples were not a valid answer (the first: not JSON: no)');
  });

  it('is the fallback, when configured, for a server without logprobs', async () => {
    const probs = { a: 0.8, b: 0.2 };
    const model = await adapterFor(
      Object.keys(probs),
      () => ({ probs }),
      { fallback: 'self_consistency', samples: 6 },
      { logprobs: false },
    );
    const p = await model.predict({});
    expect(sim?.requests.map((r) => [r.body?.logprobs, r.body?.n, r.body?.temperature])).toEqual([
      [true, undefined, 0],
      [undefined, 6, 1],
    ]);
    const answers = sim?.requests[1].answers ?? [];
    expect(p.probs?.a).toBe(answers.filter((x) => x === 'a').length / 6);
  });

  it('without the fallback, a server without logprobs is a configuration problem: unavailable, saying what to set', async () => {
    const model = await adapterFor(['a', 'b'], () => ({ probs: { a: 0.8, b: 0.2 } }), {}, { logprobs: false });
    const err = await failure(model.predict({}));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toContain('answered without logprobs');
    expect(err.message).toContain('fallback: self_consistency');
  });
});

describe('answers that break the schema are rejected', () => {
  const rejected = async (decision: SimulatedDecision, over: Partial<OpenAiModelConfig> = {}) => {
    const model = await adapterFor(['refund', 'billing'], () => decision, over);
    const err = await failure(model.predict({}));
    expect(err.kind).toBe('rejected');
    return err.message;
  };

  it('a label that is not allowed', async () => {
    expect(await rejected({ content: '{"label":"banana"}' })).toBe('invalid answer: label "banana" is not one of "refund", "billing"');
  });
  it('prose instead of JSON', async () => {
    expect(await rejected({ content: 'Sure! This is a refund.' })).toBe('invalid answer: not JSON: Sure! This is a refund.');
  });
  it('extra members, or no label', async () => {
    expect(await rejected({ content: '{"label":"refund","reason":"money"}' })).toBe(
      'invalid answer: expected {"label": one of the labels}, got {"label":"refund","reason":"money"}',
    );
    expect(await rejected({ content: '["refund"]' })).toBe('invalid answer: expected {"label": one of the labels}, got ["refund"]');
  });
  it('a refusal', async () => {
    expect(await rejected({ refusal: 'I cannot help with that.' })).toBe('the model refused: I cannot help with that.');
  });
  it('an answer cut off at the token limit', async () => {
    expect(await rejected({ label: 'refund', probability: 0.9 }, { maxTokens: 4 })).toBe(
      'invalid answer: cut off at the token limit (4; raise max_tokens)',
    );
  });
});

describe('errors: outages wait, a record’s own failure goes to review', () => {
  const ok = () => ({ probs: { a: 0.9, b: 0.1 } });

  it('a refused API key (401) is a configuration problem: unavailable, not retried', async () => {
    const model = await adapterFor(['a', 'b'], ok, { apiKey: 'sk-wrong-key-1234' });
    const err = await failure(model.predict({}));
    expect(err).toMatchObject({ kind: 'unavailable', status: 401 });
    expect(err.message).toBe(
      'model answered 401: the API key was refused (check api_key): a configuration problem that affects every record, not this record; scoring pauses and records wait',
    );
    expect(sim?.requests).toHaveLength(1);
  });

  it('no API key at all: the simulator answers 401, the adapter unavailable', async () => {
    const model = await adapterFor(['a', 'b'], ok, { apiKey: undefined });
    expect(await failure(model.predict({}))).toMatchObject({ kind: 'unavailable', status: 401 });
    expect(sim?.requests[0].headers.authorization).toBeUndefined();
  });

  it('an unknown model (404) is unavailable too, with the server’s reason', async () => {
    const model = await adapterFor(['a', 'b'], ok, { model: 'gpt-nope' }, { models: ['gpt-sim'] });
    const err = await failure(model.predict({}));
    expect(err).toMatchObject({ kind: 'unavailable', status: 404 });
    expect(err.message).toContain('model_not_found: The model `gpt-nope` does not exist');
    expect(sim?.requests).toHaveLength(1);
  });

  it('429: waits as long as retry-after-ms says, then succeeds', async () => {
    const model = await adapterFor(['a', 'b'], ok, { retries: 2 }, { rateLimit: { requests: 1, perMs: 1500 } });
    await model.predict({});
    const started = Date.now();
    const p = await model.predict({});
    const elapsed = Date.now() - started;
    expect(p.label).toBe('a');
    expect(sim?.requests.map((r) => r.status)).toEqual([200, 429, 200]);
    // The default backoff would have waited at most 500 ms before the first retry.
    expect(elapsed).toBeGreaterThanOrEqual(1300);
  });

  it('429: honours Retry-After in seconds when that is all the server sends', async () => {
    const model = await adapterFor(['a', 'b'], ok, { retries: 1 }, { rateLimit: { requests: 1, perMs: 1000 }, retryAfterMsHeader: false });
    await model.predict({});
    const started = Date.now();
    await model.predict({});
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(sim?.requests.map((r) => r.status)).toEqual([200, 429, 200]);
  });

  it('429: a wait longer than the timeout is not slept through; the call fails as unavailable and scoring pauses', async () => {
    const model = await adapterFor(['a', 'b'], ok, { retries: 3 }, { rateLimit: { requests: 1, perMs: 60_000 } });
    await model.predict({});
    const err = await failure(model.predict({}));
    expect(err).toMatchObject({ kind: 'unavailable', status: 429 });
    expect(err.message).toMatch(/rate_limit_exceeded.*the server asks to wait 60s$/);
  });

  it('429 for an exhausted quota is not retried', async () => {
    const quota = {
      error: { message: 'You exceeded your current quota.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' },
    };
    const model = await adapterFor(['a', 'b'], ok, {}, { failNext: [{ status: 429, body: quota }] });
    const err = await failure(model.predict({}));
    expect(err.kind).toBe('unavailable');
    expect(err.message).toContain('quota is used up');
    expect(sim?.requests).toHaveLength(1);
  });

  it('5xx is retried; when it persists, the model is unavailable', async () => {
    const down = {
      status: 503,
      body: { error: { message: 'The engine is currently overloaded.', type: 'server_error', param: null, code: null } },
    };
    const model = await adapterFor(['a', 'b'], ok, { retries: 2 }, { failNext: [down, { ...down, status: 500 }] });
    expect((await model.predict({})).label).toBe('a');
    expect(sim?.requests.map((r) => r.status)).toEqual([503, 500, 200]);
    sim?.options.failNext?.push(down, down, down);
    const err = await failure(model.predict({}));
    expect(err).toMatchObject({ kind: 'unavailable', status: 503 });
    expect(err.message).toBe('model answered 503 (server_error: The engine is currently overloaded.)');
  });

  it('a timeout is unavailable, after its retries', async () => {
    const model = await adapterFor(['a', 'b'], ok, { timeoutMs: 100, retries: 1 }, { delayMs: 400 });
    const err = await failure(model.predict({}));
    expect(err).toMatchObject({ kind: 'unavailable', message: 'model unreachable: timed out after 100ms' });
    await new Promise((r) => setTimeout(r, 450));
    expect(sim?.requests).toHaveLength(2);
  });

  it('a server that is not listening is unavailable', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createNetServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const model = new OpenAiModelAdapter(configFor(`http://127.0.0.1:${port}/v1`, ['a', 'b'], { retries: 0 }));
    expect(await failure(model.predict({}))).toMatchObject({ kind: 'unavailable', message: 'model unreachable: ECONNREFUSED' });
  });

  it('a 400 about this record (its prompt is too long) is rejected: a review case', async () => {
    const tooLong = {
      error: {
        message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130412 tokens.",
        type: 'invalid_request_error',
        param: 'messages',
        code: 'context_length_exceeded',
      },
    };
    const model = await adapterFor(['a', 'b'], ok, {}, { failNext: [{ status: 400, body: tooLong }] });
    const err = await failure(model.predict({}));
    expect(err).toMatchObject({ kind: 'rejected', status: 400 });
    expect(err.message).toBe(`model refused the record with 400: context_length_exceeded: ${tooLong.error.message}`);
  });

  it('a 400 about a request setting fails every record alike: unavailable', async () => {
    const unsupported = {
      error: {
        message: "Unsupported parameter: 'logprobs' is not supported with this model.",
        type: 'invalid_request_error',
        param: 'logprobs',
        code: 'unsupported_parameter',
      },
    };
    const model = await adapterFor(['a', 'b'], ok, {}, { failNext: [{ status: 400, body: unsupported }] });
    const err = await failure(model.predict({}));
    expect(err).toMatchObject({ kind: 'unavailable', status: 400 });
    expect(err.message).toContain('the server refused a request setting: a configuration problem that affects every record');
  });
});

describe('the simulator is faithful to the API', () => {
  const post = async (body: unknown, headers: Record<string, string> = { authorization: 'Bearer test' }) => {
    const res = await fetch(`${sim?.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: await json(res) };
  };

  it('answers a chat.completion object with token logprobs that spell out the content', async () => {
    sim = await startOpenAiSimulator({ decide: () => ({ probs: { refund: 0.7, return: 0.3 } }) });
    const r = await post({ model: 'gpt-sim', messages: [{ role: 'user', content: 'hi' }], logprobs: true, top_logprobs: 2, n: 2 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'gpt-sim',
      usage: { prompt_tokens: expect.any(Number), completion_tokens: 12, total_tokens: expect.any(Number) },
    });
    expect(r.body.choices).toHaveLength(2);
    const choice = r.body.choices[0];
    expect(choice).toMatchObject({ index: 0, message: { role: 'assistant', content: '{"label":"refund"}' }, finish_reason: 'stop' });
    const tokens = choice.logprobs.content as { token: string; logprob: number; bytes: number[]; top_logprobs: unknown[] }[];
    expect(tokens.map((t) => t.token)).toEqual(['{"', 'label', '":"', 'ref', 'und', '"}']);
    expect(Buffer.from(tokens.flatMap((t) => t.bytes)).toString()).toBe(choice.message.content);
    expect(tokens[3].top_logprobs).toEqual([
      { token: 'ref', logprob: Math.log(0.7), bytes: [...Buffer.from('ref')] },
      { token: 'ret', logprob: Math.log(0.3), bytes: [...Buffer.from('ret')] },
    ]);
  });

  it('answers errors with the documented error object: 401 without a key, 400 for a malformed request', async () => {
    sim = await startOpenAiSimulator({ decide: () => ({ label: 'a', probability: 1 }) });
    const noKey = await post({ model: 'gpt-sim', messages: [{ role: 'user', content: 'hi' }] }, {});
    expect(noKey.status).toBe(401);
    expect(noKey.body.error).toMatchObject({ type: 'invalid_request_error', param: null, code: null });
    expect(noKey.body.error.message).toMatch(/^You didn't provide an API key/);
    expect((await post({ model: 'gpt-sim' })).body).toEqual({
      error: {
        message: "Missing required parameter: 'messages'.",
        type: 'invalid_request_error',
        param: 'messages',
        code: 'missing_required_parameter',
      },
    });
    expect((await post('{"model":')).status).toBe(400);
    const bad = await post({ model: 'gpt-sim', messages: [{ role: 'user', content: 'hi' }], top_logprobs: 30, logprobs: true });
    expect(bad.body.error).toMatchObject({ param: 'top_logprobs', code: 'integer_above_max_value' });
    const loose = await post({
      model: 'gpt-sim',
      messages: [{ role: 'user', content: 'hi' }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'x', strict: true, schema: { type: 'object', properties: { label: { type: 'string' } } } },
      },
    });
    expect(loose.status).toBe(400);
    expect(loose.body.error.message).toContain("'additionalProperties' is required to be supplied and to be false");
    expect((await post({ model: 'gpt-sim', messages: [{ role: 'user', content: 'hi' }], temprature: 1 })).body.error.message).toBe(
      'Unrecognized request argument supplied: temprature',
    );
  });
});

describe('end to end: a pipeline with an openai model', () => {
  let db: TestDatabase;
  let helpdesk: Receiver;
  let server: AirlockServer;
  let base: string;
  let simulator: OpenAiSimulator;
  const labels = ['refund', 'billing_question', 'spam'];
  // The "model": a ticket that asks for a refund is a refund with probability 0.93; anything else is a billing
  // question at 0.55. (It reads the ticket, not the instruction after it, which names every label.)
  const decide = ({ user }: { user: string }): SimulatedDecision =>
    /refund/i.test(user.split('\n\nAnswer with')[0])
      ? { probs: { refund: 0.93, billing_question: 0.05, spam: 0.02 } }
      : { probs: { refund: 0.15, billing_question: 0.55, spam: 0.3 } };

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    simulator = await startOpenAiSimulator({ decide });
    helpdesk = await startReceiver();
    const dir = mkdtempSync(path.join(tmpdir(), 'airlock-openai-'));
    const file = path.join(dir, 'airlock.yaml');
    writeFileSync(
      file,
      stringify({
        database: db.url,
        server: { port: 0, auth: 'off' },
        worker: { poll_interval: '20ms', lease: '5s' },
        logging: { level: 'silent' },
        pipelines: {
          tickets: {
            model: {
              type: 'openai',
              base_url: simulator.url,
              model: 'gpt-sim',
              api_key: '${SIM_KEY}',
              labels,
              prompt: 'Classify this ticket: {{subject}}\n{{body}}',
              timeout: '2s',
            },
            routing: { auto_accept_at: 0.9 },
            destinations: { helpdesk: { type: 'webhook', url: helpdesk.url } },
          },
          // The same server with a key it refuses: an outage for every record, so records wait instead of
          // becoming review cases.
          locked: { model: { type: 'openai', base_url: simulator.url, model: 'gpt-sim', api_key: 'sk-revoked', labels } },
        },
      }),
    );
    server = await createServer(loadConfig(file, { env: { SIM_KEY: 'test' } }), { logger: createLogger('silent') });
    base = (await server.listen({ port: 0 })) as string;
  });

  afterAll(async () => {
    await server?.close();
    await Promise.all([simulator?.close(), helpdesk?.close()]);
    await db?.drop();
  });

  const ingest = (record: unknown, pipeline = 'tickets') =>
    fetch(`${base}/v1/pipelines/${pipeline}/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(record),
    });
  const settled = (id: string, states: string[]) =>
    waitFor(
      async () => {
        const r = await json(fetch(`${base}/v1/pipelines/tickets/records/${id}`));
        return states.includes(r.status) ? r : undefined;
      },
      15_000,
      `${id} to reach ${states.join('|')}`,
    );

  it('decides a record with the simulator’s label and confidence, and delivers it', async () => {
    expect((await ingest({ id: 't-1', subject: 'Refund please', body: 'Order 17 arrived broken' })).status).toBe(202);
    const rec = await settled('t-1', ['delivered']);
    expect(rec.prediction.label).toBe('refund');
    expect(rec.prediction.confidence).toBeCloseTo(0.93, EXACT);
    expect(rec.prediction.probs.spam).toBeCloseTo(0.02, EXACT);
    expect(rec.prediction.model_version).toBe('gpt-sim');
    expect(rec.decision).toMatchObject({ label: 'refund', source: 'auto' });
    expect(rec.decision.raw_confidence).toBeCloseTo(0.93, EXACT);
    const messages = (simulator.requests.at(-1)?.body?.messages ?? []) as { content: string }[];
    const user = messages[1].content;
    expect(user.startsWith('Classify this ticket: Refund please\nOrder 17 arrived broken\n\n')).toBe(true);
  });

  it('sends a record the model is unsure about to review with its label and confidence', async () => {
    await ingest({ id: 't-2', subject: 'Invoice', body: 'Why was I charged twice?' });
    const rec = await settled('t-2', ['in_review']);
    expect(rec.prediction.label).toBe('billing_question');
    expect(rec.prediction.confidence).toBeCloseTo(0.55, EXACT);
  });

  it('a refused API key is an outage: the record waits, and no review case is opened', async () => {
    const before = simulator.requests.length;
    await ingest({ id: 'l-1', subject: 'Refund please', body: 'x' }, 'locked');
    await waitFor(async () => (simulator.requests.slice(before).some((r) => r.status === 401) ? true : undefined), 10_000, 'a 401');
    await new Promise((r) => setTimeout(r, 300));
    const rec = await json(fetch(`${base}/v1/pipelines/locked/records/l-1`));
    // Waiting on the system (between two tries it is 'received', during one 'scoring'); never human work.
    expect(['received', 'scoring']).toContain(rec.status);
    expect(rec.cases).toEqual([]);
    expect(rec.events.map((e: { kind: string }) => e.kind)).toEqual(['received']);
  });
});
