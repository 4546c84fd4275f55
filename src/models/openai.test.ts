// biome-ignore-all lint/suspicious/noTemplateCurlyInString: config text with ${ENV_VAR} placeholders
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import type { OpenAiModelConfig } from '../config/sections/model-openai.js';
import type { ConfigError } from '../errors.js';
import { createModelAdapter, modelFingerprint } from './index.js';
import {
  labelProbabilitiesFromLogprobs,
  majorityVote,
  OpenAiModelAdapter,
  renderPrompt,
  type TokenLogprob,
  userMessage,
} from './openai.js';

/** A token with its alternatives: [text, probability] pairs (the chosen one first). */
function tok(chosen: string, p: number, alternatives: [string, number][] = []): TokenLogprob {
  const entry = (t: string, q: number) => ({ token: t, logprob: Math.log(q), bytes: [...Buffer.from(t)] });
  return { ...entry(chosen, p), top_logprobs: [entry(chosen, p), ...alternatives.map(([t, q]) => entry(t, q))] };
}

describe('prompt', () => {
  it('replaces {{field}} with strings as they are and other values as JSON; a missing field is empty', () => {
    const record = { subject: 'Refund', body: 'I want my money', amount: 12.5, tags: ['a'], customer: { tier: 'gold' }, none: null };
    expect(
      renderPrompt(
        'Classify: {{subject}}\n{{ body }} ({{amount}}, {{tags}}, {{customer}}, {{customer.tier}}, {{none}}, [{{missing}}])',
        record,
      ),
    ).toBe('Classify: Refund\nI want my money (12.5, ["a"], {"tier":"gold"}, gold, null, [])');
  });

  it('lists the allowed labels after the prompt, the text fields, or the whole record', () => {
    const labels = ['refund', 'say "hi"'];
    const instruction = '\n\nAnswer with a JSON object {"label": <label>} where <label> is exactly one of: "refund", "say \\"hi\\"".';
    expect(userMessage({ prompt: 'Ticket: {{subject}}', labels }, { subject: 'x' })).toBe(`Ticket: x${instruction}`);
    expect(userMessage({ textFields: ['subject', 'body'], labels }, { subject: 'x', body: 'y', other: 'z' })).toBe(
      `subject: x\nbody: y${instruction}`,
    );
    expect(userMessage({ labels }, { a: 1 })).toBe(`Classify this record:\n{"a":1}${instruction}`);
  });
});

describe('label probabilities from logprobs', () => {
  const structure = [tok('{"', 1), tok('label', 1), tok('":"', 1)];

  it('single-token labels: the first distinguishing token, renormalised over the labels', () => {
    // 0.1 of the mass is on a token that is no label: it is dropped and the rest renormalised.
    const tokens = [
      ...structure,
      tok('spam', 0.54, [
        ['ham', 0.27],
        ['eggs', 0.09],
        ['unknown', 0.1],
      ]),
      tok('"}', 1),
    ];
    const e = labelProbabilitiesFromLogprobs('{"label":"spam"}', tokens, ['spam', 'ham', 'eggs']);
    expect(e.label).toBe('spam');
    expect(e.probs.spam).toBeCloseTo(0.6, 12);
    expect(e.probs.ham).toBeCloseTo(0.3, 12);
    expect(e.probs.eggs).toBeCloseTo(0.1, 12);
    expect(e.shared).toBe(0);
  });

  it('multi-token labels that share tokens: the chain rule along the answer', () => {
    // billing_question 0.45, billing_dispute 0.25, refund 0.3, tokenised bil|lin|g|_|que|sti|on and ref|und.
    const tokens = [
      ...structure,
      tok('bil', 0.7, [['ref', 0.3]]),
      tok('lin', 1),
      tok('g', 1),
      tok('_', 1),
      tok('que', 0.45 / 0.7, [['dis', 0.25 / 0.7]]),
      tok('sti', 1),
      tok('on', 1),
      tok('"}', 1),
    ];
    const e = labelProbabilitiesFromLogprobs('{"label":"billing_question"}', tokens, ['refund', 'billing_question', 'billing_dispute']);
    expect(e.probs.billing_question).toBeCloseTo(0.45, 12);
    expect(e.probs.billing_dispute).toBeCloseTo(0.25, 12);
    expect(e.probs.refund).toBeCloseTo(0.3, 12);
  });

  it('splits an alternative shared by several labels evenly, and keeps the answer exact', () => {
    const tokens = [...structure, tok('ref', 0.3, [['bil', 0.7]]), tok('und', 1), tok('"}', 1)];
    const e = labelProbabilitiesFromLogprobs('{"label":"refund"}', tokens, ['refund', 'billing_question', 'billing_dispute']);
    expect(e.probs.refund).toBeCloseTo(0.3, 12);
    expect(e.probs.billing_question).toBeCloseTo(0.35, 12);
    expect(e.probs.billing_dispute).toBeCloseTo(0.35, 12);
    expect(e.shared).toBeCloseTo(0.7, 12);
  });

  it('reads a token that straddles the start of the value, and JSON with spaces', () => {
    const tokens = [
      tok('{ "', 1),
      tok('label', 1),
      tok('" : "ref', 0.8, [
        ['" : "ret', 0.2],
        ['":"ref', 0.01],
      ]),
      tok('und', 1),
      tok('" }', 1),
    ];
    const e = labelProbabilitiesFromLogprobs('{ "label" : "refund" }', tokens, ['refund', 'return']);
    expect(e.probs.refund).toBeCloseTo(0.8, 12);
    expect(e.probs.return).toBeCloseTo(0.2, 12);
  });

  it('handles labels that need escaping and labels split inside a UTF-8 character', () => {
    const quoted = 'say "hi"';
    const tokens = [...structure, tok('say', 0.6, [['caf', 0.4]]), tok(' \\"', 1), tok('hi', 1), tok('\\""}', 1)];
    const e = labelProbabilitiesFromLogprobs(JSON.stringify({ label: quoted }), tokens, [quoted, 'café']);
    expect(e.probs[quoted]).toBeCloseTo(0.6, 12);
    // café = caf + 0xC3 + 0xA9: the bytes of the tokens, not their text, are what is read.
    const bytes = (b: number[], p: number, alternatives: [number[], number][] = []): TokenLogprob => ({
      token: 'bytes:…',
      logprob: Math.log(p),
      bytes: b,
      top_logprobs: [[b, p] as [number[], number], ...alternatives].map(([x, q]) => ({ token: 'bytes:…', logprob: Math.log(q), bytes: x })),
    });
    const cafe = [...structure, tok('caf', 0.9, [['say', 0.1]]), bytes([0xc3], 1), bytes([0xa9], 1), tok('"}', 1)];
    const f = labelProbabilitiesFromLogprobs('{"label":"café"}', cafe, [quoted, 'café']);
    expect(f.probs['café']).toBeCloseTo(0.9, 12);
  });

  it('ignores tokens after the answer (an end-of-text token), and says why it cannot read broken logprobs', () => {
    const ok = [
      ...structure,
      tok('spam', 0.9, [['ham', 0.1]]),
      tok('"}', 1),
      { token: '<|eot|>', logprob: 0, bytes: [], top_logprobs: [] },
    ];
    expect(labelProbabilitiesFromLogprobs('{"label":"spam"}', ok, ['spam', 'ham']).probs.spam).toBeCloseTo(0.9, 12);
    expect(() => labelProbabilitiesFromLogprobs('{"label":"spam"}', [...structure, tok('ham', 1)], ['spam', 'ham'])).toThrow(
      'the logprobs do not spell out the answer',
    );
    const bare = [...structure, { ...tok('spam', 0.9), top_logprobs: [] }, tok('"}', 1)];
    expect(() => labelProbabilitiesFromLogprobs('{"label":"spam"}', bare, ['spam', 'ham'])).toThrow('no top_logprobs');
  });
});

describe('majority vote', () => {
  it('gives vote shares, the most frequent label, and breaks a tie for the label answered first', () => {
    expect(majorityVote(['b', 'a', 'b', 'c', 'b'], ['a', 'b', 'c'])).toEqual({
      label: 'b',
      confidence: 0.6,
      probs: { a: 0.2, b: 0.6, c: 0.2 },
    });
    expect(majorityVote(['c', 'a', 'a', 'c'], ['a', 'b', 'c'])).toEqual({ label: 'c', confidence: 0.5, probs: { a: 0.5, b: 0, c: 0.5 } });
  });
});

describe('config: model type openai', () => {
  const yaml = (...model: string[]) => ['pipelines:', '  tickets:', '    model:', ...model.map((l) => `      ${l}`)].join('\n');
  const modelOf = (text: string, env: Record<string, string> = {}) =>
    parseConfig(text, { env }).pipelines.tickets.model as OpenAiModelConfig;
  const problemsOf = (text: string) => {
    try {
      parseConfig(text, { env: {} });
    } catch (err) {
      return (err as ConfigError).problems.map((p) => ({ path: p.path, message: p.message }));
    }
    return [];
  };

  it('gets its documented defaults', () => {
    const m = modelOf(yaml('type: openai', 'model: gpt-4o-mini', 'api_key: ${OPENAI_API_KEY}', 'labels: [refund, billing]'), {
      OPENAI_API_KEY: 'sk-1',
    });
    expect(m).toEqual({
      type: 'openai',
      baseUrl: 'https://api.openai.com/v1',
      model: 'gpt-4o-mini',
      apiKey: 'sk-1',
      labels: ['refund', 'billing'],
      prompt: undefined,
      textFields: undefined,
      system: undefined,
      confidence: 'logprobs',
      fallback: 'none',
      samples: 5,
      topLogprobs: 20,
      temperature: 0,
      maxTokens: undefined,
      maxTokensField: 'max_completion_tokens',
      responseFormat: 'json_schema',
      timeoutMs: 30_000,
      retries: 3,
      concurrency: 4,
      headers: {},
      version: undefined,
    });
    expect(createModelAdapter(m)).toBeInstanceOf(OpenAiModelAdapter);
  });

  it('samples at temperature 1 for self-consistency unless told otherwise', () => {
    const m = modelOf(
      yaml(
        'type: openai',
        'base_url: http://127.0.0.1:8000/v1/',
        'model: m',
        'labels: [a, b]',
        'confidence: self_consistency',
        'samples: 9',
      ),
    );
    expect(m).toMatchObject({
      baseUrl: 'http://127.0.0.1:8000/v1',
      confidence: 'self_consistency',
      samples: 9,
      temperature: 1,
      apiKey: undefined,
    });
  });

  it('names each problem with its path', () => {
    expect(problemsOf(yaml('type: openai', 'model: m'))).toEqual([{ path: 'pipelines.tickets.model.labels', message: 'is required' }]);
    expect(problemsOf(yaml('type: openai', 'model: m', 'labels: [a, b]', 'prompt: "{{x}}"', 'text_fields: [x]'))).toEqual([
      { path: 'pipelines.tickets.model.text_fields', message: 'set prompt or text_fields, not both' },
    ]);
    expect(problemsOf(yaml('type: openai', 'model: m', 'labels: [a, b]', 'confidence: vibes'))).toEqual([
      { path: 'pipelines.tickets.model.confidence', message: 'expected one of logprobs, self_consistency, got "vibes"' },
    ]);
    expect(problemsOf(yaml('type: openai', 'model: m', 'labels: [a, b]', 'top_logprobs: 21'))).toEqual([
      { path: 'pipelines.tickets.model.top_logprobs', message: 'expected a number <= 20, got 21' },
    ]);
    expect(problemsOf(yaml('type: openai', 'model: m', 'labels: [a, b]', 'url: http://x'))).toEqual([
      { path: 'pipelines.tickets.model.url', message: 'is not a known setting here' },
    ]);
  });

  it('fingerprints the endpoint, model, labels and prompt, never the API key', () => {
    const base = ['type: openai', 'model: gpt-4o-mini', 'labels: [refund, billing]', 'prompt: "Ticket: {{subject}}"'];
    const fp = (...extra: string[]) => modelFingerprint(modelOf(yaml(...base, ...extra)));
    expect(fp('api_key: sk-one', 'headers: { OpenAI-Organization: org-1 }')).toBe(fp('api_key: sk-two'));
    const prints = new Set([
      fp(),
      fp('base_url: http://127.0.0.1:8000/v1'),
      modelFingerprint(modelOf(yaml('type: openai', 'model: gpt-4o', 'labels: [refund, billing]', 'prompt: "Ticket: {{subject}}"'))),
      modelFingerprint(modelOf(yaml('type: openai', 'model: gpt-4o-mini', 'labels: [refund, other]', 'prompt: "Ticket: {{subject}}"'))),
      modelFingerprint(modelOf(yaml('type: openai', 'model: gpt-4o-mini', 'labels: [refund, billing]', 'prompt: "Mail: {{subject}}"'))),
    ]);
    expect(prints.size).toBe(5);
  });
});
