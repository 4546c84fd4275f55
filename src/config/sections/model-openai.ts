/** A pipeline's `model:` of `type: openai`: any OpenAI-compatible Chat Completions endpoint (src/models/openai.ts). */
import { type Static, Type } from '@sinclair/typebox';
import type { ResolveContext, SettingPath } from '../problems.js';
import { parseDuration } from '../units.js';
import { choice, duration, EXPECTED, headers, url, withDefault } from './kinds.js';

export const openAiModelSettings = Type.Object(
  {
    type: Type.Literal('openai', { description: 'openai: an OpenAI-compatible Chat Completions endpoint picks one of `labels`.' }),
    base_url: withDefault(url('The API root; requests go to {base_url}/chat/completions.'), 'https://api.openai.com/v1'),
    model: Type.String({ minLength: 1, description: 'The model name sent in every request, e.g. gpt-4o-mini.' }),
    api_key: Type.Optional(
      Type.String({
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the doc string shows the ${ENV_VAR} syntax
        description: 'Sent as Authorization: Bearer …; use ${OPENAI_API_KEY}. Omit for servers without auth.',
      }),
    ),
    labels: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 2,
      uniqueItems: true,
      description: 'The allowed labels; the model must answer {"label": one of these}.',
      [EXPECTED]: 'a list of at least two different labels',
    }),
    prompt: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'The user message, with {{field}} (or {{a.b}}) replaced by the record’s value (JSON when not a string).',
      }),
    ),
    text_fields: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'Instead of prompt: these fields, one "field: value" line each. Neither: the whole record as JSON.',
      }),
    ),
    system: Type.Optional(Type.String({ description: 'The system message (a short default when absent).' })),
    confidence: withDefault(
      choice(['logprobs', 'self_consistency'], {
        description: 'logprobs: from the label tokens’ log-probabilities; self_consistency: vote share over `samples` answers.',
        [EXPECTED]: 'one of logprobs, self_consistency',
      }),
      'logprobs',
    ),
    fallback: withDefault(
      choice(['self_consistency', 'none'], {
        description: 'With confidence: logprobs, what to do when the server returns no logprobs.',
        [EXPECTED]: 'one of self_consistency, none',
      }),
      'none',
    ),
    samples: withDefault(Type.Integer({ minimum: 2, maximum: 128, description: 'Answers drawn for self-consistency.' }), 5),
    top_logprobs: withDefault(Type.Integer({ minimum: 1, maximum: 20, description: 'Alternatives asked for at each token.' }), 20),
    temperature: Type.Optional(
      Type.Number({ minimum: 0, maximum: 2, description: 'Sampling temperature (default 0 with logprobs, 1 with self_consistency).' }),
    ),
    max_tokens: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Longest answer, in tokens (default: enough for the longest label).' }),
    ),
    max_tokens_field: withDefault(
      choice(['max_completion_tokens', 'max_tokens'], {
        description: 'The request field that carries max_tokens (older servers know only max_tokens).',
        [EXPECTED]: 'one of max_completion_tokens, max_tokens',
      }),
      'max_completion_tokens',
    ),
    response_format: withDefault(
      choice(['json_schema', 'json_object', 'none'], {
        description: 'json_schema: structured output, strict, label an enum; json_object or none for servers without it.',
        [EXPECTED]: 'one of json_schema, json_object, none',
      }),
      'json_schema',
    ),
    timeout: withDefault(duration('Time allowed for one request.'), '30s'),
    retries: withDefault(Type.Integer({ minimum: 0, maximum: 20, description: 'Retries of one request (timeouts, 429, 5xx).' }), 3),
    concurrency: withDefault(Type.Integer({ minimum: 1, maximum: 256, description: 'Predictions in flight per worker.' }), 4),
    headers: withDefault(headers(), {}),
    version: Type.Optional(
      Type.String({ description: 'Model version recorded on every prediction (default: the model the server names).' }),
    ),
  },
  { additionalProperties: false },
);

type OpenAiModelSettings = Static<typeof openAiModelSettings>;

/** `type: openai`, resolved: an OpenAI-compatible Chat Completions endpoint asked to pick one of `labels`. */
export interface OpenAiModelConfig {
  type: 'openai';
  /** The API root, without a trailing slash; requests go to `{baseUrl}/chat/completions`. */
  baseUrl: string;
  model: string;
  apiKey?: string;
  labels: string[];
  /** The user message template ({{field}} substitution); absent: `textFields` or the whole record. */
  prompt?: string;
  textFields?: string[];
  system?: string;
  confidence: 'logprobs' | 'self_consistency';
  /** With `confidence: logprobs`, what to do when the server returns no logprobs. */
  fallback: 'self_consistency' | 'none';
  samples: number;
  topLogprobs: number;
  /** 0 with logprobs, 1 with self-consistency unless set. */
  temperature: number;
  maxTokens?: number;
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
  responseFormat: 'json_schema' | 'json_object' | 'none';
  timeoutMs: number;
  retries: number;
  concurrency: number;
  headers: Record<string, string>;
  version?: string;
}

export function resolveOpenAiModel(m: OpenAiModelSettings, at: SettingPath, { report }: ResolveContext): OpenAiModelConfig {
  if (m.prompt !== undefined && m.text_fields !== undefined) report([...at, 'text_fields'], 'set prompt or text_fields, not both');
  return {
    type: 'openai',
    baseUrl: m.base_url.replace(/\/+$/, ''),
    model: m.model,
    apiKey: m.api_key === undefined || m.api_key === '' ? undefined : m.api_key,
    labels: m.labels,
    prompt: m.prompt,
    textFields: m.text_fields,
    system: m.system,
    confidence: m.confidence,
    fallback: m.fallback,
    samples: m.samples,
    topLogprobs: m.top_logprobs,
    // The default depends on `confidence` (greedy for logprobs, sampled for votes), so no schema default can say it.
    temperature: m.temperature ?? (m.confidence === 'logprobs' ? 0 : 1),
    maxTokens: m.max_tokens,
    maxTokensField: m.max_tokens_field,
    responseFormat: m.response_format,
    timeoutMs: parseDuration(m.timeout),
    retries: m.retries,
    concurrency: m.concurrency,
    headers: m.headers,
    version: m.version,
  };
}
