import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { createAjv } from '../contract/ajv.js';
import { type Contract, compileContract, type ViolationKind } from '../contract/gate.js';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { type DriftConfig, type RawDriftConfig, resolveDriftConfig } from './drift.js';
import { type RawReadinessConfig, type ReadinessConfig, resolveReadinessConfig } from './readiness.js';
import { configJsonSchema } from './schema.js';
import { checkTemplate } from './template.js';
import { parseByteSize, parseDuration, parseRate, type Rate } from './units.js';
import { credentialHeaders, DEFAULT_PLAN, VENDOR_PLANS, type Vendor } from './vendor-presets.js';

export interface HttpModelConfig {
  type: 'http';
  url: string;
  timeoutMs: number;
  retries: number;
  concurrency: number;
  headers: Record<string, string>;
  version?: string;
  breaker: BreakerOptions;
}

export interface ModuleModelConfig {
  type: 'module';
  /** Absolute path of the JS module exporting `predict(record)`. */
  path: string;
  timeoutMs: number;
  retries: number;
  concurrency: number;
  options: Record<string, unknown>;
  version?: string;
}

/** `type: openai`: an OpenAI-compatible Chat Completions endpoint asked to pick one of `labels` (src/models/openai.ts). */
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

/** `type: baseline`: the built-in text classifier, from a model file written by `airlock train`. */
export interface BaselineModelConfig {
  type: 'baseline';
  /** Absolute path of the model file. */
  path: string;
  /** Fields whose text is classified; undefined: the fields the model was trained on. */
  textFields?: string[];
  timeoutMs: number;
  retries: number;
  concurrency: number;
  version?: string;
}

export type ModelConfig = HttpModelConfig | ModuleModelConfig | OpenAiModelConfig | BaselineModelConfig;

/** The settings of one destination's circuit breaker (config: `circuit_breaker`). */
export interface BreakerOptions {
  /** Share of failed calls in the window that opens the circuit (0.5 = 50%). */
  failureRate: number;
  /** Calls the window must hold before the failure rate counts (so one early failure cannot open it). */
  minimumCalls: number;
  windowMs: number;
  /** How long the circuit stays open before letting probes through. */
  openMs: number;
  /** Calls let through while half-open; all must succeed to close the circuit again. */
  halfOpenProbes: number;
}

/** How a destination's answers are judged (defaults, then the destination's overrides and its preset's rules). */
export interface ClassificationPolicy {
  /** Statuses retried although the default says final (e.g. `409` for a destination that answers 409 while busy). */
  retryOn: number[];
  /** Statuses dead-lettered at once although the default says retry (e.g. `503` meaning "this tenant is closed"). */
  deadLetterOn: number[];
  /** A 2xx whose JSON body has `field` equal to `equals` is a failure (Slack: HTTP 200 with `"ok": false`). */
  softFailure?: { field: string; equals: unknown; errorField?: string; retryableErrors: string[] };
  /** Statuses that mean "rate limited" when they carry Retry-After or remaining 0 (GitHub's 403 secondary limit). */
  rateLimitStatuses: number[];
}

export const DEFAULT_CLASSIFICATION: ClassificationPolicy = { retryOn: [], deadLetterOn: [], rateLimitStatuses: [] };

export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  capMs: number;
  maxAgeMs: number;
  /** Retry budget (Finagle RetryBudget): retries ≤ percent% of first attempts over windowMs + minPerSecond. */
  budget: { percent: number; minPerSecond: number; windowMs: number };
}

export type DestinationType = 'webhook' | Vendor;

export interface DestinationConfig {
  name: string;
  type: DestinationType;
  url: string;
  /** The vendor plan whose documented limits and headers apply (presets only). */
  preset?: { vendor: Vendor; plan: string; docs: string };
  /** The configured (or preset) limit; undefined: found adaptively (AIMD). */
  rateLimit?: Rate;
  /** Further quotas of a preset (e.g. HubSpot's daily cap) or `quotas:`, counted in fixed windows, shared by all processes. */
  extraLimits: Rate[];
  /** The JSON body template (src/delivery/template.ts); undefined: `{record, decision}`. */
  body?: unknown;
  /** Record field path whose value orders deliveries (one at a time per value, in arrival order). */
  orderBy?: string;
  burst?: number;
  concurrency: number;
  timeoutMs: number;
  /** Headers sent with every request, credentials included: never log them. */
  headers: Record<string, string>;
  idempotencyHeader: string;
  retry: RetryPolicy;
  classification: ClassificationPolicy;
  breaker: BreakerOptions;
  adaptive: { initialPerSecond: number; maxPerSecond: number; step: number; decrease: number; intervalMs: number };
}

/** A rule on the record that sends it to a person: any that matches wins over confidence. */
export interface ReviewRule {
  field: string;
  above?: number;
  below?: number;
  equals?: unknown;
  in?: unknown[];
}

export type ReviewAction = 'approve' | 'relabel' | 'reject' | 'request_info' | 'escalate';
export type Role = 'admin' | 'lead' | 'reviewer' | 'viewer';
export const REVIEW_ACTIONS: readonly ReviewAction[] = ['approve', 'relabel', 'reject', 'request_info', 'escalate'];

export interface CaseTypeConfig {
  owner?: string;
  backup?: string;
  priority: 'critical' | 'high' | 'normal' | 'low';
  /** Time to resolution (ms); undefined: no SLA. */
  slaMs?: number;
  /** Time to first action (ms). */
  firstActionMs?: number;
  /** Whether the SLA counts calendar time or the owner team's business hours. */
  slaHours: 'calendar' | 'business';
  reviews: { required: number; agreement: 'unanimous' | 'majority' };
  /** Actions per role; viewers have none. */
  actions: Record<Exclude<Role, 'viewer'>, ReviewAction[]>;
  limits: { field: string; actions: ReviewAction[]; max: Partial<Record<Exclude<Role, 'viewer'>, number>> }[];
  escalation?: { levels: { afterMs: number; notify: string[] }[]; repeat: number; onBreach: 'escalate' | 'notify' };
  /** True when the config names this case type (false: a built-in type with defaults). */
  configured: boolean;
  /** With `hours: business`: the owner team whose working hours the SLA counts in. */
  calendarTeam?: TeamConfig;
}

export interface TeamConfig {
  name: string;
  members: string[];
  timezone: string;
  workingHours: { days: ('mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun')[]; start: string; end: string };
  holidays: string[];
  onCall?: { rotation: string[]; shiftMs: number; starts: number };
  /** Cases one reviewer resolves per working hour. */
  capacity: number;
}

/** The settings a case type has when the config does not name it (or names it without these). */
export function defaultCaseType(): CaseTypeConfig {
  return {
    priority: 'normal',
    slaHours: 'calendar',
    reviews: { required: 1, agreement: 'unanimous' },
    actions: { reviewer: [...REVIEW_ACTIONS], lead: [...REVIEW_ACTIONS], admin: [...REVIEW_ACTIONS] },
    limits: [],
    configured: false,
  };
}

export type GatePolicy = 'accept' | 'quarantine' | 'halt';

/** Defaults (issue: halt on structural change, quarantine the rest). */
export const DEFAULT_GATE_POLICIES: Record<ViolationKind, GatePolicy> = {
  unparseable: 'quarantine',
  unknown_field: 'halt',
  missing_required: 'quarantine',
  type_mismatch: 'halt',
  new_enum_value: 'halt',
  format_mismatch: 'quarantine',
  out_of_range: 'quarantine',
  other: 'quarantine',
};

export interface GateConfig {
  policies: Record<ViolationKind, GatePolicy>;
  haltAfter: { records: number; withinMs: number };
}

export interface ProbeLimits {
  crashes: number;
  errors: number;
  timeouts: number;
  latencyOutliers: number;
  confidentGarbage: number;
  confidentErrors: number;
}

/** `routing.refit`: the feedback loop's schedule and the bounds within which a refit applies itself. */
export interface RefitConfig {
  enabled: boolean;
  cadenceMs: number;
  method?: 'temperature' | 'platt' | 'isotonic' | 'histogram';
  minLabels: number;
  autoApply?: { maxThresholdChange: number; maxCoverageDrop: number };
}

/** `model.circuit_breaker` of an http model, with its defaults. */
function modelBreaker(cb: Record<string, unknown> = {}): BreakerOptions {
  return {
    failureRate: Number(cb.failure_rate ?? 0.5),
    minimumCalls: Number(cb.minimum_calls ?? 10),
    windowMs: parseDuration(String(cb.window ?? '30s')),
    openMs: parseDuration(String(cb.open_for ?? '15s')),
    halfOpenProbes: Number(cb.half_open_probes ?? 1),
  };
}

export interface PipelineConfig {
  name: string;
  contract?: Contract & { source: string };
  gate: GateConfig;
  probe: { limits: ProbeLimits; timeoutMs: number };
  model: ModelConfig;
  routing: {
    autoAcceptAt: number;
    neverAuto: string[];
    reviewWhen: ReviewRule[];
    auditRate: number;
    /** Dotted record path, or `$label` (the predicted label), whose value picks a per-segment threshold. */
    segmentBy?: string;
    refit: RefitConfig;
  };
  review: { caseTypes: Record<string, CaseTypeConfig> };
  launch: { goLive?: string; expectedPeak?: Rate };
  /** Drift monitoring (`drift:`, src/config/drift.ts). */
  drift: DriftConfig;
  /** Production readiness (`readiness:`, src/config/readiness.ts). */
  readiness: ReadinessConfig;
  destinations: Record<string, DestinationConfig>;
  /** Retention of record content (`retention:`, src/pipeline/retention.ts); null: content is kept. */
  retention: RetentionConfig | null;
  /** Record field paths the API shows as "[redacted]" to the viewer role (`redact:`). */
  redact: string[];
}

export interface RetentionConfig {
  /** As written, e.g. `30d` (named in purge runs and record views). */
  payloads: string;
  payloadsMs: number;
  /** How often the worker purges. */
  everyMs: number;
}

export type AlertSinkConfig =
  | { type: 'webhook'; url: string; format: 'slack' | 'json'; headers: Record<string, string>; includeValues: boolean }
  | { type: 'log' };

/** What one ingest request may hold: `server.limits` in the config (README "Limits"). */
export interface IngestLimits {
  /** Most records in one request (413 above it). */
  maxRecords: number;
  /** Deepest nesting of objects and arrays in a record; the record itself is level 1. */
  maxDepth: number;
  /** Most fields in a record, nested ones included. */
  maxFields: number;
  /** Longest string in a record (keys included), in UTF-16 code units. */
  maxStringLength: number;
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = { maxRecords: 10_000, maxDepth: 64, maxFields: 1000, maxStringLength: 1_000_000 };

export interface AirlockConfig {
  /** Absolute path of the file this came from, if any. */
  file?: string;
  /** Directory that relative paths in the config are resolved against. */
  dir: string;
  /** sha256 of the config file's text, before ${ENV} expansion (so secrets never enter a hash). */
  hash: string;
  /** `sqlite:/absolute/path.db`, `sqlite::memory:` or a postgres URL. */
  database: string;
  server: {
    host: string;
    port: number;
    bodyLimit: number;
    auth: 'required' | 'off';
    sessionTtlMs: number;
    /** A session ends after this long without a request (server.session_idle). */
    sessionIdleMs: number;
    /** GET /metrics answers without sign-in (server.metrics_public, default true: scrapers rarely sign in). */
    metricsPublic: boolean;
    publicUrl?: string;
    /** What one ingest request may hold (README "Limits"). */
    limits: IngestLimits;
  };
  worker: { pollIntervalMs: number; leaseMs: number; batch: number };
  logging: { level: string };
  alerts: AlertSinkConfig[];
  /** Teams that own review work (`teams:`), by name. */
  teams: Record<string, TeamConfig>;
  pipelines: Record<string, PipelineConfig>;
}

export interface LoadConfigOptions {
  /** Environment used for ${VAR} expansion (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Overrides the database URL (e.g. from --database or AIRLOCK_DATABASE). */
  database?: string;
  /**
   * Checks of meaning that need domain code (a model file's format, say): run on the resolved config, each problem
   * reported with its line like the loader's own. The config folder imports no domain code; the edges pass these.
   */
  checks?: ConfigCheck[];
}

/** A check run on the resolved config; `at` is the path of the setting in the file. */
export type ConfigCheck = (config: AirlockConfig) => { at: (string | number)[]; message: string }[];

/** Finds the config file as docs/design.md says: --config, else AIRLOCK_CONFIG, else ./airlock.yaml. */
export function resolveConfigPath(explicit?: string, env: Record<string, string | undefined> = process.env): string {
  const chosen = explicit ?? env.AIRLOCK_CONFIG ?? 'airlock.yaml';
  return path.resolve(chosen);
}

/** Reads, expands, validates and resolves a config file. Throws ConfigError listing every problem. */
export function loadConfig(file?: string, options: LoadConfigOptions = {}): AirlockConfig {
  const abs = resolveConfigPath(file, options.env ?? process.env);
  if (!existsSync(abs)) {
    throw new ConfigError([{ path: '', message: `config file not found: ${abs} (use --config FILE or AIRLOCK_CONFIG)` }]);
  }
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new ConfigError(
      [{ path: '', message: `cannot read the config file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }],
      abs,
    );
  }
  // An empty file is a mistake (a wrong path, a failed write), not a config with every default.
  if (text.replace(/^\uFEFF/, '').trim() === '')
    throw new ConfigError([{ path: '', message: 'the file is empty; expected a mapping of settings' }], abs);
  return parseConfig(text, { ...options, file: abs });
}

/** Parses config text (YAML or JSON). `file` names it in messages and anchors relative paths. */
export function parseConfig(text: string, options: LoadConfigOptions & { file?: string; dir?: string } = {}): AirlockConfig {
  const file = options.file;
  const relative = file ? path.relative(process.cwd(), file) : undefined;
  const display = file ? (relative && !relative.startsWith('..') ? relative : file) : undefined;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({
        path: '',
        // linePos is only filled when prettyErrors is on; the offset is always there.
        line: e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line,
        message: `not valid YAML: ${e.message.split('\n')[0]}`,
      })),
      display,
    );
  }
  const lineOf = (segments: (string | number)[]): number | undefined => {
    let node: unknown = doc.contents;
    let last: YamlNode | undefined = doc.contents ?? undefined;
    for (const seg of segments) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        last = (pair.value as YamlNode) ?? (pair.key as YamlNode);
        if (!pair.value) last = pair.key as YamlNode;
        node = pair.value;
      } else if (isSeq(node)) {
        const item = node.items[Number(seg)];
        if (!item) break;
        last = item as YamlNode;
        node = item;
      } else break;
    }
    const offset = last?.range?.[0];
    return offset === undefined ? undefined : lineCounter.linePos(offset).line;
  };

  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (err) {
    // yaml refuses documents whose aliases expand past its limit (a "billion laughs" bomb).
    throw new ConfigError([{ path: '', message: `not valid YAML: ${(err as Error).message}` }], display);
  }
  const problems: ConfigProblem[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ path: '', message: 'expected a mapping of settings at the top level' }], display);
  }
  const hash = createHash('sha256').update(text).digest('hex');
  const expanded = expandEnv(raw, [], options.env ?? process.env, problems, lineOf) as Record<string, unknown>;
  if (options.database) expanded.database = options.database;

  const validate = configValidator();
  if (!validate(expanded)) {
    // A value whose variable is missing is reported once, as missing, not again as malformed.
    const missingVariables = new Set(problems.map((p) => p.path));
    for (const e of selectErrors(validate.errors ?? [])) {
      const p = toProblem(e, lineOf);
      if (!missingVariables.has(p.path)) problems.push(p);
    }
  }
  if (problems.length > 0) throw new ConfigError(dedupe(problems), display);

  const dir = options.dir ?? (file ? path.dirname(file) : process.cwd());
  const config = resolve(expanded as unknown as RawConfig, dir, problems, lineOf);
  if (problems.length > 0) throw new ConfigError(dedupe(problems), display);
  const loaded = { ...config, file, hash };
  for (const check of options.checks ?? [])
    for (const p of check(loaded)) problems.push({ path: p.at.join('.'), line: lineOf(p.at), message: p.message });
  if (problems.length > 0) throw new ConfigError(dedupe(problems), display);
  return loaded;
}

let cachedValidator: ReturnType<typeof buildValidator> | undefined;
function configValidator() {
  cachedValidator ??= buildValidator();
  return cachedValidator;
}
function buildValidator() {
  const ajv = createAjv({ allErrors: true, strict: false, useDefaults: true, verbose: true });
  ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
  return ajv.compile(configJsonSchema);
}

const ENV_PATTERN = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function expandEnv(
  value: unknown,
  at: (string | number)[],
  env: Record<string, string | undefined>,
  problems: ConfigProblem[],
  lineOf: (p: (string | number)[]) => number | undefined,
): unknown {
  if (typeof value === 'string') {
    // A scalar that is exactly one ${VAR} takes the variable's YAML type: `port: ${PORT}` is a number.
    const whole = /^\$\{[^}]+\}$/.test(value.trim());
    const expanded = value.replace(ENV_PATTERN, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      // As in the shell: ${VAR:-default} takes the default when VAR is unset or empty; ${VAR} may be empty.
      if (v !== undefined && (v !== '' || fallback === undefined)) return v;
      if (fallback !== undefined) return fallback;
      problems.push({ path: at.join('.'), line: lineOf(at), message: `environment variable ${name} is not set` });
      return '';
    });
    if (whole && /^-?\d+(\.\d+)?$/.test(expanded)) return Number(expanded);
    if (whole && (expanded === 'true' || expanded === 'false')) return expanded === 'true';
    return expanded;
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, [...at, i], env, problems, lineOf));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    // defineProperty: a `__proto__` key in the file stays a key (and is reported as unknown), never a prototype.
    for (const [k, v] of Object.entries(value))
      Object.defineProperty(out, k, {
        value: expandEnv(v, [...at, k], env, problems, lineOf),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return value;
}

/** Drops the noise of if/then branches so each problem is reported once, where it is. */
function selectErrors(errors: ErrorObject[]): ErrorObject[] {
  // A bad pipeline name is reported once, by `propertyNames`, not again by its inner `pattern`.
  let out = errors.filter((e) => e.keyword !== 'if' && !(e.keyword === 'pattern' && e.schemaPath.includes('/propertyNames/')));
  // A oneOf (e.g. `sla: 4h` or `sla: { … }`): report the branch of the value's own type, else the oneOf alone.
  for (const one of out.filter((e) => e.keyword === 'oneOf')) {
    const prefix = `${one.schemaPath}/`;
    const branches = new Map<string, ErrorObject[]>();
    for (const e of out) {
      if (!e.schemaPath.startsWith(prefix)) continue;
      const b = e.schemaPath.slice(prefix.length).split('/')[0];
      branches.set(b, [...(branches.get(b) ?? []), e]);
    }
    const ofItsType = [...branches.values()].find((es) => !es.some((e) => e.keyword === 'type' && e.instancePath === one.instancePath));
    const drop = new Set([...branches.values()].flat().filter((e) => !ofItsType?.includes(e)));
    if (ofItsType) drop.add(one);
    out = out.filter((e) => !drop.has(e));
  }
  return out;
}

function toProblem(e: ErrorObject, lineOf: (p: (string | number)[]) => number | undefined): ConfigProblem {
  const segments = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let message: string;
  const expected = (e.parentSchema as Record<string, unknown> | undefined)?.['x-expected'] as string | undefined;
  switch (e.keyword) {
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      segments.push(missing);
      message = 'is required';
      break;
    }
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      segments.push(extra);
      message = 'is not a known setting here';
      break;
    }
    case 'propertyNames': {
      const name = (e.params as { propertyName: string }).propertyName;
      segments.push(name);
      message = 'name must be letters, digits, - and _ (at most 64)';
      break;
    }
    case 'type':
      message = `expected ${expected ?? article((e.params as { type: string }).type)}`;
      break;
    case 'format':
    case 'pattern':
      message = `expected ${expected ?? `a value matching ${(e.params as { pattern?: string }).pattern ?? e.keyword}`}`;
      if (e.data !== undefined) message += `, got ${JSON.stringify(e.data)}`;
      break;
    case 'enum':
      message = `expected ${expected ?? `one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`}, got ${JSON.stringify(e.data)}`;
      break;
    case 'const':
      message = `expected ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
      break;
    case 'oneOf':
      message = `expected ${expected ?? 'a value of another shape'}, got ${JSON.stringify(e.data)}`;
      break;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      message = `expected a number ${e.message?.replace(/^must be /, '')}, got ${JSON.stringify(e.data)}`;
      break;
    default:
      message = e.message ?? 'is invalid';
  }
  return { path: segments.join('.'), line: lineOf(segments), message };
}

function article(type: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    integer: 'a whole number',
    number: 'a number',
    object: 'a mapping',
    array: 'a list',
    boolean: 'true or false',
    'string,object': 'a string or a mapping',
    'string,integer': 'a string or a whole number',
  };
  return names[type] ?? type;
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return sorted.filter((p) => {
    const key = `${p.path}|${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---- resolution of the validated object into the typed config ----

/** Resolves a validated `type: openai` model block (schema: openAiModel in schema.ts). */
function resolveOpenAiModel(
  m: Record<string, unknown>,
  at: string[],
  problems: ConfigProblem[],
  lineOf: (p: (string | number)[]) => number | undefined,
): OpenAiModelConfig {
  if (m.prompt !== undefined && m.text_fields !== undefined) {
    problems.push({
      path: [...at, 'text_fields'].join('.'),
      line: lineOf([...at, 'text_fields']),
      message: 'set prompt or text_fields, not both',
    });
  }
  const confidence = (m.confidence as OpenAiModelConfig['confidence'] | undefined) ?? 'logprobs';
  return {
    type: 'openai',
    baseUrl: String(m.base_url ?? 'https://api.openai.com/v1').replace(/\/+$/, ''),
    model: String(m.model),
    apiKey: m.api_key === undefined || m.api_key === '' ? undefined : String(m.api_key),
    labels: (m.labels as unknown[]).map(String),
    prompt: m.prompt as string | undefined,
    textFields: m.text_fields as string[] | undefined,
    system: m.system as string | undefined,
    confidence,
    fallback: (m.fallback as OpenAiModelConfig['fallback'] | undefined) ?? 'none',
    samples: Number(m.samples ?? 5),
    topLogprobs: Number(m.top_logprobs ?? 20),
    temperature: m.temperature === undefined ? (confidence === 'logprobs' ? 0 : 1) : Number(m.temperature),
    maxTokens: m.max_tokens === undefined ? undefined : Number(m.max_tokens),
    maxTokensField: (m.max_tokens_field as OpenAiModelConfig['maxTokensField'] | undefined) ?? 'max_completion_tokens',
    responseFormat: (m.response_format as OpenAiModelConfig['responseFormat'] | undefined) ?? 'json_schema',
    timeoutMs: parseDuration(String(m.timeout ?? '30s')),
    retries: Number(m.retries ?? 3),
    concurrency: Number(m.concurrency ?? 4),
    headers: (m.headers as Record<string, string>) ?? {},
    version: m.version as string | undefined,
  };
}

interface RawConfig {
  database: string;
  server: {
    host: string;
    port: number;
    body_limit: string | number;
    auth?: 'required' | 'off';
    session_ttl?: string;
    session_idle?: string;
    metrics_public?: boolean;
    public_url?: string;
    limits?: { max_records?: number; max_depth?: number; max_fields?: number; max_string_length?: number };
  };
  worker: { poll_interval: string; lease: string; batch: number };
  logging: { level: string };
  alerts?: Record<string, unknown>[];
  teams?: Record<string, RawTeam>;
  pipelines?: Record<string, RawPipeline>;
}

/** 127.0.0.0/8, ::1 and localhost: a server only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

interface RawCaseType {
  owner?: string;
  backup?: string;
  priority?: CaseTypeConfig['priority'];
  sla?: string | { first_action?: string; resolution?: string; hours?: 'calendar' | 'business' };
  reviews?: { required?: number; agreement?: 'unanimous' | 'majority' };
  actions?: Partial<Record<'reviewer' | 'lead' | 'admin', ReviewAction[]>>;
  limits?: { field: string; actions?: ReviewAction[]; reviewer?: number; lead?: number; admin?: number }[];
  escalation?: { levels?: { after: string; notify: string[] }[]; repeat?: number; on_breach?: 'escalate' | 'notify' };
}

interface RawTeam {
  members: string[];
  timezone?: string;
  working_hours?: { days?: TeamConfig['workingHours']['days']; start?: string; end?: string };
  holidays?: string[];
  on_call?: { rotation: string[]; shift?: string; starts: string };
  capacity?: number;
}

/** Resolves one case type's config (durations parsed, defaults filled). */
function resolveCaseType(c: RawCaseType): CaseTypeConfig {
  const d = defaultCaseType();
  const sla = typeof c.sla === 'string' ? { resolution: c.sla } : (c.sla ?? {});
  return {
    owner: c.owner,
    backup: c.backup,
    priority: c.priority ?? d.priority,
    slaMs: sla.resolution ? parseDuration(sla.resolution) : undefined,
    firstActionMs: sla.first_action ? parseDuration(sla.first_action) : undefined,
    slaHours: sla.hours ?? 'calendar',
    reviews: { required: c.reviews?.required ?? 1, agreement: c.reviews?.agreement ?? 'unanimous' },
    actions: {
      reviewer: c.actions?.reviewer ?? d.actions.reviewer,
      lead: c.actions?.lead ?? d.actions.lead,
      admin: c.actions?.admin ?? d.actions.admin,
    },
    limits: (c.limits ?? []).map((l) => ({
      field: l.field,
      actions: l.actions ?? ['approve', 'relabel'],
      max: Object.fromEntries((['reviewer', 'lead', 'admin'] as const).filter((r) => l[r] !== undefined).map((r) => [r, l[r] as number])),
    })),
    escalation: c.escalation?.levels
      ? {
          levels: c.escalation.levels.map((l) => ({ afterMs: parseDuration(l.after), notify: l.notify })),
          repeat: c.escalation.repeat ?? 0,
          onBreach: c.escalation.on_breach ?? 'notify',
        }
      : undefined,
    configured: true,
  };
}

interface RawPipeline {
  contract?: string | object;
  gate?: { policies?: Partial<Record<ViolationKind, GatePolicy>>; halt_after?: { records?: number; within?: string } };
  probe?: { limits?: Record<string, number>; timeout?: string };
  model: Record<string, unknown>;
  routing?: {
    auto_accept_at: number;
    never_auto?: string[];
    review_when?: ReviewRule[];
    audit_rate?: number;
    segment_by?: string;
    refit?: {
      enabled?: boolean;
      cadence?: string;
      method?: RefitConfig['method'];
      min_labels?: number;
      auto_apply?: { max_threshold_change?: number; max_coverage_drop?: number };
    };
  };
  review?: { case_types?: Record<string, RawCaseType> };
  launch?: { go_live?: string; expected_peak?: string };
  drift?: RawDriftConfig;
  readiness?: RawReadinessConfig;
  destinations?: Record<string, Record<string, unknown>>;
  retention?: { payloads: string; every?: string };
  redact?: string[];
}

function resolve(
  raw: RawConfig,
  dir: string,
  problems: ConfigProblem[],
  lineOf: (p: (string | number)[]) => number | undefined,
): Omit<AirlockConfig, 'hash' | 'file'> {
  // ajv's useDefaults only fills objects that exist; make sure the top-level blocks do.
  const server = raw.server ?? { host: '127.0.0.1', port: 8080, body_limit: '10mb' };
  if (server.auth === 'off' && !isLoopbackHost(server.host ?? '127.0.0.1')) {
    problems.push({
      path: 'server.auth',
      line: lineOf(['server', 'auth']),
      message: `auth: off is allowed only on a loopback host (server.host is ${server.host}); sign-in protects everything else`,
    });
  }
  const worker = raw.worker ?? { poll_interval: '200ms', lease: '30s', batch: 64 };
  const pipelines: Record<string, PipelineConfig> = {};
  for (const [name, p] of Object.entries(raw.pipelines ?? {})) {
    const at = ['pipelines', name];
    let contract: PipelineConfig['contract'];
    if (p.contract !== undefined) {
      try {
        let schema: object;
        let source: string;
        if (typeof p.contract === 'string') {
          source = path.resolve(dir, p.contract);
          let text: string;
          try {
            text = readFileSync(source, 'utf8');
          } catch (err) {
            throw new Error(`cannot read ${p.contract}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
          }
          try {
            schema = JSON.parse(text);
          } catch (err) {
            throw new Error(`${p.contract} is not JSON: ${(err as Error).message}`);
          }
        } else {
          schema = p.contract;
          source = 'inline';
        }
        contract = { ...compileContract(schema), source };
      } catch (err) {
        problems.push({ path: [...at, 'contract'].join('.'), line: lineOf([...at, 'contract']), message: (err as Error).message });
      }
    }
    const m = p.model;
    let model: ModelConfig =
      m.type === 'http'
        ? {
            type: 'http',
            url: String(m.url),
            timeoutMs: parseDuration(String(m.timeout ?? '2s')),
            retries: Number(m.retries ?? 3),
            concurrency: Number(m.concurrency ?? 8),
            headers: (m.headers as Record<string, string>) ?? {},
            version: m.version as string | undefined,
            breaker: modelBreaker(m.circuit_breaker as Record<string, unknown> | undefined),
          }
        : {
            type: 'module',
            path: path.resolve(dir, String(m.path)),
            timeoutMs: parseDuration(String(m.timeout ?? '2s')),
            retries: Number(m.retries ?? 0),
            concurrency: Number(m.concurrency ?? 8),
            options: (m.options as Record<string, unknown>) ?? {},
            version: m.version as string | undefined,
          };
    // Model types with a resolver of their own replace the default above.
    if (m.type === 'openai') model = resolveOpenAiModel(m, [...at, 'model'], problems, lineOf);
    if (m.type === 'baseline') {
      model = {
        type: 'baseline',
        path: path.resolve(dir, String(m.path)),
        textFields: m.text_fields === undefined ? undefined : ([] as string[]).concat(m.text_fields as string | string[]),
        timeoutMs: parseDuration(String(m.timeout ?? '2s')),
        retries: 0,
        concurrency: Number(m.concurrency ?? 8),
        version: m.version as string | undefined,
      };
      // The file's format is the model's business (src/models/index.ts checkModelFiles, run by config check and serve).
      if (!existsSync(model.path)) {
        problems.push({
          path: [...at, 'model', 'path'].join('.'),
          line: lineOf([...at, 'model', 'path']),
          message: `model file not found: ${String(m.path)} (make one with airlock train)`,
        });
      }
    }
    if (model.type === 'module' && !existsSync(model.path)) {
      problems.push({
        path: [...at, 'model', 'path'].join('.'),
        line: lineOf([...at, 'model', 'path']),
        message: `module not found: ${String(m.path)}`,
      });
    }
    const caseTypes: Record<string, CaseTypeConfig> = {};
    for (const [t, c] of Object.entries(p.review?.case_types ?? {})) {
      caseTypes[t] = resolveCaseType(c);
      for (const key of ['owner', 'backup'] as const) {
        const team = c[key];
        if (team !== undefined && !Object.hasOwn(raw.teams ?? {}, team) && raw.teams !== undefined) {
          problems.push({
            path: [...at, 'review', 'case_types', t, key].join('.'),
            line: lineOf([...at, 'review', 'case_types', t, key]),
            message: `team "${team}" is not in teams: (it has ${Object.keys(raw.teams).join(', ') || 'none'})`,
          });
        }
      }
    }
    const destinations: Record<string, DestinationConfig> = {};
    for (const [d, raw] of Object.entries(p.destinations ?? {})) {
      destinations[d] = resolveDestination(d, raw, [...at, 'destinations', d], problems, lineOf);
      for (const t of raw.body === undefined ? [] : checkTemplate(raw.body, contract?.schema)) {
        const where = [...at, 'destinations', d, 'body', ...t.at];
        problems.push({ path: where.join('.'), line: lineOf(where), message: t.message });
      }
    }
    if (p.retention?.every !== undefined && parseDuration(p.retention.every) < 1000) {
      problems.push({
        path: [...at, 'retention', 'every'].join('.'),
        line: lineOf([...at, 'retention', 'every']),
        message: `expected at least 1s between purges, got ${JSON.stringify(p.retention.every)}`,
      });
    }
    const lim = p.probe?.limits ?? {};
    pipelines[name] = {
      name,
      contract,
      gate: {
        policies: { ...DEFAULT_GATE_POLICIES, ...(p.gate?.policies ?? {}) },
        haltAfter: {
          records: p.gate?.halt_after?.records ?? 3,
          withinMs: parseDuration(p.gate?.halt_after?.within ?? '10m'),
        },
      },
      probe: {
        limits: {
          crashes: lim.crashes ?? 0,
          errors: lim.errors ?? 0,
          timeouts: lim.timeouts ?? 0,
          latencyOutliers: lim.latency_outliers ?? Number.POSITIVE_INFINITY,
          confidentGarbage: lim.confident_garbage ?? 0,
          confidentErrors: lim.confident_errors ?? Number.POSITIVE_INFINITY,
        },
        timeoutMs: parseDuration(p.probe?.timeout ?? '5s'),
      },
      model,
      routing: {
        autoAcceptAt: p.routing?.auto_accept_at ?? 0.9,
        neverAuto: p.routing?.never_auto ?? [],
        reviewWhen: p.routing?.review_when ?? [],
        auditRate: p.routing?.audit_rate ?? 0,
        ...(p.routing?.segment_by ? { segmentBy: p.routing.segment_by } : {}),
        refit: {
          enabled: p.routing?.refit?.enabled ?? true,
          cadenceMs: parseDuration(p.routing?.refit?.cadence ?? '30d'),
          ...(p.routing?.refit?.method ? { method: p.routing.refit.method } : {}),
          minLabels: p.routing?.refit?.min_labels ?? 100,
          ...(p.routing?.refit?.auto_apply
            ? {
                autoApply: {
                  maxThresholdChange: p.routing.refit.auto_apply.max_threshold_change ?? 0.05,
                  maxCoverageDrop: p.routing.refit.auto_apply.max_coverage_drop ?? 0.05,
                },
              }
            : {}),
        },
      },
      review: { caseTypes },
      launch: {
        goLive: p.launch?.go_live,
        expectedPeak: p.launch?.expected_peak ? parseRate(p.launch.expected_peak) : undefined,
      },
      drift: resolveDriftConfig(p.drift),
      readiness: resolveReadinessConfig(p.readiness),
      destinations,
      retention: p.retention
        ? {
            payloads: p.retention.payloads,
            payloadsMs: parseDuration(p.retention.payloads),
            everyMs: parseDuration(p.retention.every ?? '1h'),
          }
        : null,
      redact: p.redact ?? [],
    };
  }

  const teams: Record<string, TeamConfig> = Object.fromEntries(
    Object.entries(raw.teams ?? {}).map(([name, t]) => [
      name,
      {
        name,
        members: t.members,
        timezone: t.timezone ?? 'UTC',
        workingHours: {
          days: t.working_hours?.days ?? ['mon', 'tue', 'wed', 'thu', 'fri'],
          start: t.working_hours?.start ?? '09:00',
          end: t.working_hours?.end ?? '17:00',
        },
        holidays: t.holidays ?? [],
        onCall: t.on_call
          ? { rotation: t.on_call.rotation, shiftMs: parseDuration(t.on_call.shift ?? '7d'), starts: Date.parse(t.on_call.starts) }
          : undefined,
        capacity: t.capacity ?? 10,
      },
    ]),
  );
  for (const p of Object.values(pipelines)) {
    for (const ct of Object.values(p.review.caseTypes)) {
      if (ct.slaHours === 'business' && ct.owner && teams[ct.owner]) ct.calendarTeam = teams[ct.owner];
    }
  }

  let database = raw.database ?? 'sqlite:./.airlock/airlock.db';
  if (database.startsWith('sqlite:') && database !== 'sqlite::memory:') {
    database = `sqlite:${path.resolve(dir, database.slice('sqlite:'.length))}`;
  }

  let bodyLimit = 10 * 1024 * 1024;
  try {
    bodyLimit = parseByteSize(server.body_limit ?? '10mb');
  } catch (err) {
    problems.push({ path: 'server.body_limit', line: lineOf(['server', 'body_limit']), message: (err as Error).message });
  }

  return {
    dir,
    database,
    server: {
      host: server.host ?? '127.0.0.1',
      port: server.port ?? 8080,
      bodyLimit,
      auth: server.auth ?? 'required',
      sessionTtlMs: parseDuration(server.session_ttl ?? '12h'),
      sessionIdleMs: parseDuration(server.session_idle ?? '1h'),
      metricsPublic: server.metrics_public ?? true,
      ...(server.public_url ? { publicUrl: server.public_url.replace(/\/+$/, '') } : {}),
      limits: {
        maxRecords: server.limits?.max_records ?? DEFAULT_INGEST_LIMITS.maxRecords,
        maxDepth: server.limits?.max_depth ?? DEFAULT_INGEST_LIMITS.maxDepth,
        maxFields: server.limits?.max_fields ?? DEFAULT_INGEST_LIMITS.maxFields,
        maxStringLength: server.limits?.max_string_length ?? DEFAULT_INGEST_LIMITS.maxStringLength,
      },
    },
    worker: {
      pollIntervalMs: parseDuration(worker.poll_interval ?? '200ms'),
      leaseMs: parseDuration(worker.lease ?? '30s'),
      batch: worker.batch ?? 64,
    },
    logging: { level: raw.logging?.level ?? 'info' },
    alerts: (raw.alerts ?? []).map((a) =>
      a.type === 'webhook'
        ? {
            type: 'webhook' as const,
            url: String(a.url),
            format: (a.format as 'slack' | 'json') ?? 'json',
            headers: (a.headers as Record<string, string>) ?? {},
            includeValues: a.include_values === true,
          }
        : { type: 'log' as const },
    ),
    teams,
    pipelines,
  };
}

/** Resolves a validated destination (schema: `destination` in schema.ts): a webhook, or a vendor preset with its plan. */
function resolveDestination(
  name: string,
  raw: Record<string, unknown>,
  at: string[],
  problems: ConfigProblem[],
  lineOf: (p: (string | number)[]) => number | undefined,
): DestinationConfig {
  const type = String(raw.type) as DestinationType;
  const retry = (raw.retry as Record<string, unknown>) ?? {};
  const budget = (retry.budget as Record<string, unknown>) ?? {};
  const cb = (raw.circuit_breaker as Record<string, unknown>) ?? {};
  const ad = (raw.adaptive as Record<string, unknown>) ?? {};
  const soft = raw.soft_failure as Record<string, unknown> | undefined;
  const vendor = type === 'webhook' ? undefined : (type as Vendor);
  const plan = vendor ? VENDOR_PLANS[`${vendor}-${String(raw.plan ?? DEFAULT_PLAN[vendor])}`] : undefined;
  if (type === 'webhook' && raw.plan !== undefined) {
    problems.push({ path: [...at, 'plan'].join('.'), line: lineOf([...at, 'plan']), message: 'plan applies to vendor presets only' });
  }
  const perSecond = (text: unknown, fallback: string) => {
    const rate = parseRate(String(text ?? fallback));
    return (rate.count / rate.intervalMs) * 1000;
  };
  const classification: ClassificationPolicy = {
    ...DEFAULT_CLASSIFICATION,
    ...(plan?.classification ?? {}),
  };
  if (raw.retry_on) classification.retryOn = [...new Set([...classification.retryOn, ...(raw.retry_on as number[])])];
  if (raw.dead_letter_on) classification.deadLetterOn = raw.dead_letter_on as number[];
  if (soft) {
    classification.softFailure = {
      field: String(soft.field),
      equals: soft.equals === undefined ? false : soft.equals,
      retryableErrors: (soft.retryable_errors as string[]) ?? [],
    };
  }
  const credentials = vendor
    ? credentialHeaders(vendor, {
        token: raw.token as string | undefined,
        email: raw.email as string | undefined,
        apiKey: raw.api_key as string | undefined,
      })
    : {};
  return {
    name,
    type,
    url: String(raw.url),
    ...(plan && vendor ? { preset: { vendor, plan: plan.plan, docs: plan.docs } } : {}),
    rateLimit: raw.rate_limit ? parseRate(String(raw.rate_limit)) : plan?.rate,
    extraLimits: raw.quotas ? (raw.quotas as string[]).map((q) => parseRate(String(q))) : (plan?.extra ?? []),
    ...(raw.body !== undefined ? { body: raw.body } : {}),
    ...(raw.order_by !== undefined ? { orderBy: String(raw.order_by) } : {}),
    burst: raw.burst === undefined ? undefined : Number(raw.burst),
    concurrency: Number(raw.concurrency ?? Math.min(4, plan?.concurrency ?? 4)),
    timeoutMs: parseDuration(String(raw.timeout ?? '10s')),
    headers: { ...credentials, ...((raw.headers as Record<string, string>) ?? {}) },
    idempotencyHeader: String(raw.idempotency_header ?? plan?.idempotencyHeader ?? 'Idempotency-Key'),
    retry: {
      maxAttempts: Number(retry.max_attempts ?? 25),
      baseMs: parseDuration(String(retry.base ?? '500ms')),
      capMs: parseDuration(String(retry.cap ?? '1m')),
      maxAgeMs: parseDuration(String(retry.max_age ?? '1d')),
      budget: {
        percent: Number(budget.percent ?? 20),
        minPerSecond: Number(budget.min_per_second ?? 1),
        windowMs: parseDuration(String(budget.window ?? '10s')),
      },
    },
    classification,
    breaker: {
      failureRate: Number(cb.failure_rate ?? 0.5),
      minimumCalls: Number(cb.minimum_calls ?? 20),
      windowMs: parseDuration(String(cb.window ?? '10s')),
      openMs: parseDuration(String(cb.open_for ?? '10s')),
      halfOpenProbes: Number(cb.half_open_probes ?? 3),
    },
    adaptive: {
      initialPerSecond: perSecond(ad.initial, '10/s'),
      maxPerSecond: perSecond(ad.max, '1000/s'),
      step: Number(ad.step ?? 5),
      decrease: Number(ad.decrease ?? 0.5),
      intervalMs: parseDuration(String(ad.interval ?? '1s')),
    },
  };
}
