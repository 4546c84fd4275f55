// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text with ${ENV_VAR} placeholders
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { loadConfig, parseConfig, resolveConfigPath } from './load.js';
import { workerSettings } from './sections/worker.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const quickstartDir = path.join(repoRoot, 'examples/quickstart');

/** YAML from lines, so a test can name the line a problem is on by its index + 1. */
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'airlock-config-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The problems parseConfig reports for `text` (fails the test when it accepts the text). */
function problemsOf(text: string, options: Parameters<typeof parseConfig>[1] = {}): ConfigProblem[] {
  try {
    parseConfig(text, { env: {}, ...options });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_INVALID');
    return (err as ConfigError).problems;
  }
  throw new Error('expected the config to be refused');
}

const httpModel = '    model: { type: http, url: "http://127.0.0.1:9000/predict" }';

describe('a valid config', () => {
  test('the quickstart example resolves: durations in ms, rates parsed, paths against its folder, defaults filled', () => {
    const config = loadConfig(path.join(quickstartDir, 'airlock.yaml'), { env: {} });

    expect(config.file).toBe(path.join(quickstartDir, 'airlock.yaml'));
    expect(config.dir).toBe(quickstartDir);
    expect(config.database).toBe(`sqlite:${path.join(quickstartDir, '.airlock/quickstart.db')}`);
    expect(config.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      bodyLimit: 10 * 1024 * 1024,
      auth: 'off',
      sessionTtlMs: 12 * 3_600_000,
      limits: { maxRecords: 10_000, maxDepth: 64, maxFields: 1000, maxStringLength: 1_000_000 },
      metricsPublic: true,
      trustProxy: false,
      sessionIdleMs: 3_600_000,
    });
    expect(config.worker).toEqual({ pollIntervalMs: 200, leaseMs: 30_000, batch: 64 });
    expect(config.logging).toEqual({ level: 'info' });
    expect(config.alerts).toEqual([{ type: 'log' }]);
    expect(config.hash).toMatch(/^[0-9a-f]{64}$/);

    const tickets = config.pipelines.tickets;
    expect(tickets.name).toBe('tickets');
    expect(tickets.contract?.source).toBe(path.join(quickstartDir, 'contracts/ticket.schema.json'));
    expect(tickets.model).toEqual({
      type: 'module',
      path: path.join(quickstartDir, 'model.mjs'),
      timeoutMs: 2_000,
      retries: 0,
      concurrency: 8,
      options: {},
      version: 'keywords-1',
    });
    expect(tickets.routing).toEqual({
      autoAcceptAt: 0.9,
      neverAuto: [],
      reviewWhen: [],
      auditRate: 0,
      refit: { enabled: true, cadenceMs: 30 * 86_400_000, minLabels: 100 },
    });
    expect(tickets.review.caseTypes).toMatchObject({
      low_confidence: { owner: 'support-leads', slaMs: 4 * 3_600_000, slaHours: 'calendar', priority: 'normal', configured: true },
      model_failure: { owner: 'ml-oncall', slaMs: 3_600_000 },
      quarantine: { owner: 'data-eng', slaMs: 86_400_000 },
    });
    expect(tickets.review.caseTypes.low_confidence.reviews).toEqual({ required: 1, agreement: 'unanimous' });
    expect(tickets.destinations.helpdesk).toEqual({
      name: 'helpdesk',
      type: 'webhook',
      url: 'http://127.0.0.1:9100/tickets',
      rateLimit: { count: 20, intervalMs: 1_000, text: '20/s' },
      concurrency: 4,
      timeoutMs: 10_000,
      headers: {},
      idempotencyHeader: 'Idempotency-Key',
      extraLimits: [],
      burst: undefined,
      retry: {
        maxAttempts: 25,
        baseMs: 500,
        capMs: 60_000,
        maxAgeMs: 86_400_000,
        budget: { percent: 20, minPerSecond: 1, windowMs: 10_000 },
      },
      classification: { retryOn: [], deadLetterOn: [], rateLimitStatuses: [] },
      breaker: { failureRate: 0.5, minimumCalls: 20, windowMs: 10_000, openMs: 10_000, halfOpenProbes: 3 },
      adaptive: { initialPerSecond: 10, maxPerSecond: 1000, step: 5, decrease: 0.5, intervalMs: 1_000 },
    });
  });

  test('its contract is compiled and checks records', () => {
    const config = loadConfig(path.join(quickstartDir, 'airlock.yaml'), { env: {} });
    const contract = config.pipelines.tickets.contract;
    expect(contract?.validate({ id: 'T-1', subject: 's', body: 'b', customer_email: 'a@example.com' })).toEqual([]);
    expect(contract?.validate({ id: 'T-1', subject: 's', body: 'b' })).toEqual([
      { kind: 'missing_required', path: '/customer_email', field: 'customer_email', message: 'is required', keyword: 'required' },
    ]);
  });

  test('relative paths resolve against the config file’s folder, not the working directory', () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, 'contracts'));
    copyFileSync(path.join(quickstartDir, 'contracts/ticket.schema.json'), path.join(dir, 'contracts/ticket.schema.json'));
    copyFileSync(path.join(quickstartDir, 'model.mjs'), path.join(dir, 'model.mjs'));
    const file = path.join(dir, 'airlock.yaml');
    writeFileSync(
      file,
      yaml(
        'database: sqlite:data/airlock.db',
        'pipelines:',
        '  tickets:',
        '    contract: contracts/ticket.schema.json',
        '    model: { type: module, path: ./model.mjs }',
      ),
    );
    expect(path.resolve('.')).not.toBe(dir);

    const config = loadConfig(file, { env: {} });
    expect(config.dir).toBe(dir);
    expect(config.database).toBe(`sqlite:${path.join(dir, 'data/airlock.db')}`);
    expect(config.pipelines.tickets.contract?.source).toBe(path.join(dir, 'contracts/ticket.schema.json'));
    expect(config.pipelines.tickets.model.type === 'module' && config.pipelines.tickets.model.path).toBe(path.join(dir, 'model.mjs'));
  });

  test('an empty file is every default', () => {
    const config = parseConfig('', { env: {}, dir: '/srv/airlock' });
    expect(config.database).toBe(`sqlite:${path.resolve('/srv/airlock', '.airlock/airlock.db')}`);
    expect(config.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      bodyLimit: 10 * 1024 * 1024,
      auth: 'required',
      sessionTtlMs: 12 * 3_600_000,
      limits: { maxRecords: 10_000, maxDepth: 64, maxFields: 1000, maxStringLength: 1_000_000 },
      metricsPublic: true,
      trustProxy: false,
      sessionIdleMs: 3_600_000,
    });
    expect(config.worker).toEqual({ pollIntervalMs: 200, leaseMs: 30_000, batch: 64 });
    expect(config.alerts).toEqual([]);
    expect(config.pipelines).toEqual({});
  });

  test('an http model and destination get their documented defaults; durations, sizes and rates are converted', () => {
    const config = parseConfig(
      yaml(
        'server: { body_limit: 512kb }',
        'worker: { poll_interval: 500ms, lease: 5m, batch: 10 }',
        'pipelines:',
        '  orders:',
        httpModel,
        '    destinations:',
        '      crm:',
        '        type: webhook',
        '        url: https://crm.example.com/api',
        '        rate_limit: 100/10s',
        '        timeout: 2s',
        '        retry: { max_attempts: 5, base: 1s, cap: 4h, max_age: 2d }',
        '      erp: { type: webhook, url: "http://127.0.0.1:9200/in", rate_limit: 1000000/day }',
      ),
      { env: {} },
    );
    expect(config.server.bodyLimit).toBe(512 * 1024);
    expect(config.worker).toEqual({ pollIntervalMs: 500, leaseMs: 300_000, batch: 10 });
    const p = config.pipelines.orders;
    expect(p.model).toEqual({
      type: 'http',
      url: 'http://127.0.0.1:9000/predict',
      timeoutMs: 2_000,
      retries: 3,
      concurrency: 8,
      headers: {},
      version: undefined,
      breaker: { failureRate: 0.5, minimumCalls: 10, windowMs: 30_000, openMs: 15_000, halfOpenProbes: 1 },
    });
    expect(p.contract).toBeUndefined();
    expect(p.destinations.crm.rateLimit).toEqual({ count: 100, intervalMs: 10_000, text: '100/10s' });
    expect(p.destinations.crm.timeoutMs).toBe(2_000);
    expect(p.destinations.crm.retry).toMatchObject({ maxAttempts: 5, baseMs: 1_000, capMs: 4 * 3_600_000, maxAgeMs: 2 * 86_400_000 });
    expect(p.destinations.erp.rateLimit).toEqual({ count: 1_000_000, intervalMs: 86_400_000, text: '1000000/day' });
    expect(p.destinations.erp.retry).toMatchObject({ maxAttempts: 25, baseMs: 500, capMs: 60_000, maxAgeMs: 86_400_000 });
  });

  test('JSON is YAML too', () => {
    const config = parseConfig('{"server": {"port": 9001}, "database": "sqlite::memory:"}', { env: {} });
    expect(config.server.port).toBe(9001);
    expect(config.database).toBe('sqlite::memory:');
  });

  test('a PostgreSQL URL is kept as written; --database overrides the file', () => {
    expect(parseConfig('database: postgres://airlock@db.internal/prod\n', { env: {} }).database).toBe(
      'postgres://airlock@db.internal/prod',
    );
    expect(parseConfig('database: postgres://a@b/c\n', { env: {}, database: 'sqlite::memory:' }).database).toBe('sqlite::memory:');
  });

  test('inline contracts are compiled', () => {
    const config = parseConfig(yaml('pipelines:', '  p:', httpModel, '    contract: { type: object, required: [email] }'), { env: {} });
    expect(config.pipelines.p.contract?.source).toBe('inline');
    expect(config.pipelines.p.contract?.validate({})).toEqual([
      { kind: 'missing_required', path: '/email', field: 'email', message: 'is required', keyword: 'required' },
    ]);
  });
});

describe('${ENV_VAR} expansion', () => {
  const text = yaml(
    'server:',
    '  port: ${PORT}',
    '  host: ${HOST:-127.0.0.2}',
    'pipelines:',
    '  p:',
    '    model:',
    '      type: http',
    '      url: http://${MODEL_HOST}:9000/predict',
    '      headers: { authorization: "Bearer ${MODEL_TOKEN}" }',
  );
  const env = { PORT: '9443', MODEL_HOST: 'model.internal', MODEL_TOKEN: 's3cret' };

  test('variables are substituted, inside strings too', () => {
    const config = parseConfig(text, { env });
    expect(config.pipelines.p.model.type === 'http' && config.pipelines.p.model.url).toBe('http://model.internal:9000/predict');
    expect(config.pipelines.p.model.type === 'http' && config.pipelines.p.model.headers).toEqual({ authorization: 'Bearer s3cret' });
  });

  test('a scalar that is exactly ${PORT} takes the number’s type', () => {
    const config = parseConfig(text, { env });
    expect(config.server.port).toBe(9443);
  });

  test('${VAR:-default} uses the default when VAR is unset, and VAR when it is set', () => {
    expect(parseConfig(text, { env }).server.host).toBe('127.0.0.2');
    expect(parseConfig(text, { env: { ...env, HOST: '0.0.0.0' } }).server.host).toBe('0.0.0.0');
  });

  test('a missing variable is an error naming the path and line where it is used', () => {
    const problems = problemsOf(text, { env: { PORT: '9443', MODEL_HOST: 'model.internal' } });
    expect(problems).toContainEqual({
      path: 'pipelines.p.model.headers.authorization',
      line: 9,
      message: 'environment variable MODEL_TOKEN is not set',
    });
  });

  test('every missing variable is reported at once', () => {
    const problems = problemsOf(text, { env: {} });
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'server.port', line: 2, message: 'environment variable PORT is not set' },
        { path: 'pipelines.p.model.url', line: 8, message: 'environment variable MODEL_HOST is not set' },
        { path: 'pipelines.p.model.headers.authorization', line: 9, message: 'environment variable MODEL_TOKEN is not set' },
      ]),
    );
  });

  test('the hash is of the text before expansion, so secrets never change it', () => {
    const a = parseConfig(text, { env });
    const b = parseConfig(text, { env: { ...env, MODEL_TOKEN: 'another-secret' } });
    expect(a.hash).toBe(b.hash);
    expect(parseConfig(text.replace('9000', '9001'), { env }).hash).not.toBe(a.hash);
  });

  test('the process environment is used when none is given', () => {
    process.env.AIRLOCK_TEST_LOAD_PORT = '7777';
    try {
      expect(parseConfig('server:\n  port: ${AIRLOCK_TEST_LOAD_PORT}\n').server.port).toBe(7777);
    } finally {
      delete process.env.AIRLOCK_TEST_LOAD_PORT;
    }
  });
});

describe('problems name the path in the file and the line', () => {
  test('a bad model URL', () => {
    const problems = problemsOf(yaml('pipelines:', '  tickets:', '    model:', '      type: http', '      url: ftp://example.com/model'));
    expect(problems).toEqual([
      {
        path: 'pipelines.tickets.model.url',
        line: 5,
        message:
          'expected an http(s) URL, got "ftp://example.com/model" — Where the record is POSTed as JSON; answers {label, confidence} or {probs}.',
      },
    ]);
  });

  test('the message carries the file name and line, as the CLI prints it', () => {
    try {
      parseConfig(yaml('pipelines:', '  tickets:', '    model: { type: http, url: not-a-url }'), {
        env: {},
        file: path.join(process.cwd(), 'airlock.yaml'),
      });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe(
        'airlock.yaml:3: pipelines.tickets.model.url: expected an http(s) URL, got "not-a-url" — Where the record is POSTed as JSON; answers {label, confidence} or {probs}.',
      );
    }
  });

  test('a value of the wrong shape also says what the setting is for, in the words of its doc string', () => {
    expect(problemsOf(yaml('worker:', '  lease: soon'))).toEqual([
      {
        path: 'worker.lease',
        line: 2,
        message: `expected a duration such as 500ms, 2s, 5m, 4h or 1d, got "soon" — ${workerSettings.properties.lease.description}`,
      },
    ]);
  });

  test('without a file, the message still has the line', () => {
    expect(() => parseConfig(yaml('server:', '  port: eighty'), { env: {} })).toThrow('line 2: server.port: expected a whole number');
  });

  test('several problems are reported at once, each in its place', () => {
    const problems = problemsOf(
      yaml(
        'server:',
        '  port: 70000',
        'worker:',
        '  lease: 30 seconds',
        'pipelines:',
        '  tickets:',
        '    model:',
        '      type: http',
        '      url: http://127.0.0.1:9000/',
        '      timeout: soon',
        '    routing: { auto_accept_at: 1.5 }',
        '    destinations:',
        '      helpdesk:',
        '        type: webhook',
        '        url: http://127.0.0.1:9100/',
        '        rate_limit: 20 per second',
        '        retry: { cap: 1 minute }',
        '    review:',
        '      case_types:',
        '        low_confidence: { owner: leads, sla: 4 hours }',
      ),
    );
    expect(problems).toHaveLength(7);
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'server.port', line: 2, message: 'expected a number <= 65535, got 70000' },
        {
          path: 'worker.lease',
          line: 4,
          message:
            'expected a duration such as 500ms, 2s, 5m, 4h or 1d, got "30 seconds" — How long a claimed item stays with its worker before another may take it.',
        },
        {
          path: 'pipelines.tickets.model.timeout',
          line: 10,
          message: 'expected a duration such as 500ms, 2s, 5m, 4h or 1d, got "soon" — Time allowed for one model call.',
        },
        { path: 'pipelines.tickets.routing.auto_accept_at', line: 11, message: 'expected a number <= 1, got 1.5' },
        {
          path: 'pipelines.tickets.destinations.helpdesk.rate_limit',
          line: 16,
          message:
            'expected a rate such as 20/s, 700/min, 100/10s or 1000000/day, got "20 per second" — Most requests per interval this destination accepts (a preset brings its plan’s limit; this overrides it).',
        },
        {
          path: 'pipelines.tickets.destinations.helpdesk.retry.cap',
          line: 17,
          message: 'expected a duration such as 500ms, 2s, 5m, 4h or 1d, got "1 minute" — Longest backoff between two attempts.',
        },
        {
          path: 'pipelines.tickets.review.case_types.low_confidence.sla',
          line: 20,
          message: 'expected a duration such as 500ms, 2s, 5m, 4h or 1d, got "4 hours" — Time to resolution (calendar time).',
        },
      ]),
    );
  });

  test('unknown keys are named where they are, at every level', () => {
    const problems = problemsOf(
      yaml(
        'colour: blue',
        'server: { port: 8080, colour: red }',
        'pipelines:',
        '  tickets:',
        '    modle: {}',
        '    model:',
        '      type: http',
        '      url: http://127.0.0.1:9000/',
        '      path: ./model.mjs',
        '    destinations:',
        '      helpdesk: { type: webhook, url: "http://127.0.0.1:9100/", rate: 20/s }',
      ),
    );
    expect(problems).toEqual([
      { path: 'colour', line: 1, message: 'is not a known setting here' },
      { path: 'server.colour', line: 2, message: 'is not a known setting here' },
      { path: 'pipelines.tickets.modle', line: 5, message: 'is not a known setting here' },
      { path: 'pipelines.tickets.model.path', line: 9, message: 'is not a known setting here' },
      { path: 'pipelines.tickets.destinations.helpdesk.rate', line: 11, message: 'is not a known setting here' },
    ]);
  });

  test('a model type that does not exist', () => {
    const problems = problemsOf(yaml('pipelines:', '  tickets:', '    model:', '      type: banana', '      url: http://127.0.0.1:9000/'));
    expect(problems).toEqual([
      { path: 'pipelines.tickets.model.type', line: 4, message: 'expected one of http, module, openai, baseline, got "banana"' },
    ]);
  });

  test('a model that is not a mapping', () => {
    expect(problemsOf(yaml('pipelines:', '  tickets:', '    model: http://127.0.0.1:9000/'))).toEqual([
      { path: 'pipelines.tickets.model', line: 3, message: 'expected a mapping — The model adapter: http, module, openai or baseline.' },
    ]);
  });

  test('missing required fields are named by their own path', () => {
    const problems = problemsOf(
      yaml(
        'alerts:',
        '  - { type: webhook }',
        'pipelines:',
        '  nomodel: { routing: { auto_accept_at: 0.5 } }',
        '  nourl:',
        '    model: { type: http }',
        '  nopath:',
        '    model: { type: module }',
        '  notype:',
        '    model: { url: "http://127.0.0.1:9000/" }',
        '  nodest:',
        httpModel,
        '    destinations:',
        '      helpdesk: { type: webhook }',
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'alerts.0.url', line: 2, message: 'is required' },
        { path: 'pipelines.nomodel.model', line: 4, message: 'is required' },
        { path: 'pipelines.nourl.model.url', line: 6, message: 'is required' },
        { path: 'pipelines.nopath.model.path', line: 8, message: 'is required' },
        { path: 'pipelines.notype.model.type', line: 10, message: 'is required' },
        { path: 'pipelines.nodest.destinations.helpdesk.url', line: 14, message: 'is required' },
      ]),
    );
  });

  test('wrong types and enums say what was expected', () => {
    const problems = problemsOf(
      yaml(
        'database: mysql://localhost/airlock',
        'server: { port: eighty, body_limit: 10 parsecs }',
        'logging: { level: chatty }',
        'alerts:',
        '  - { type: pager }',
        'pipelines:',
        '  p:',
        httpModel,
        '    destinations:',
        '      d: { type: email, url: "http://127.0.0.1:9/" }',
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        {
          path: 'database',
          line: 1,
          message:
            'expected sqlite:PATH or a postgres:// URL, got "mysql://localhost/airlock" — sqlite:PATH (relative to this file) or postgres://user@host/db.',
        },
        { path: 'server.port', line: 2, message: 'expected a whole number — The TCP port the server listens on.' },
        {
          path: 'logging.level',
          line: 3,
          message: expect.stringMatching(/^expected one of fatal, error, warn, info, debug, trace, silent, got "chatty"$/),
        },
        { path: 'alerts.0.type', line: 5, message: 'expected one of webhook, log, got "pager"' },
        {
          path: 'pipelines.p.destinations.d.type',
          line: 10,
          message: 'expected one of webhook, zendesk, hubspot, stripe, slack, github, got "email"',
        },
      ]),
    );
  });

  test('a body limit that is not a size is reported at server.body_limit', () => {
    expect(problemsOf(yaml('server:', '  body_limit: 10 parsecs'))).toEqual([
      { path: 'server.body_limit', line: 2, message: '"10 parsecs" is not a size (expected e.g. 512kb, 10mb)' },
    ]);
  });

  test('a top level that is not a mapping is refused', () => {
    expect(problemsOf('- one\n- two\n')).toEqual([{ path: '', message: 'expected a mapping of settings at the top level' }]);
    expect(problemsOf('just words\n')).toEqual([{ path: '', message: 'expected a mapping of settings at the top level' }]);
  });
});

describe('YAML syntax errors', () => {
  test('give the line', () => {
    const problems = problemsOf(
      yaml('server:', '  port: 8080', 'pipelines:', '  p:', '    model: { type: http, url: "http://x/"', '  q: {}'),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0].message).toMatch(/^not valid YAML: /);
    expect(problems[0].line).toBeGreaterThanOrEqual(5);
    expect(problems[0].line).toBeLessThanOrEqual(6);
  });

  test('a duplicated key is named with its line', () => {
    expect(problemsOf(yaml('server:', '  port: 8080', '  host: 0.0.0.0', '  port: 9090'))).toEqual([
      { path: '', line: 4, message: 'not valid YAML: Map keys must be unique' },
    ]);
  });

  test('a tab used as indentation is named with its line', () => {
    expect(problemsOf('server:\n\tport: 8080\n')).toEqual([
      { path: '', line: 2, message: 'not valid YAML: Tabs are not allowed as indentation' },
    ]);
  });
});

describe('contract files', () => {
  function configWithContract(dir: string, contractFile: string, contents?: string): string {
    if (contents !== undefined) writeFileSync(path.join(dir, contractFile), contents);
    const file = path.join(dir, 'airlock.yaml');
    writeFileSync(file, yaml('pipelines:', '  tickets:', `    contract: ${contractFile}`, httpModel));
    return file;
  }
  function loadProblems(file: string): ConfigProblem[] {
    try {
      loadConfig(file, { env: {} });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
    throw new Error('expected the config to be refused');
  }

  test('a missing contract file is a problem at pipelines.X.contract', () => {
    const dir = tempDir();
    expect(loadProblems(configWithContract(dir, 'missing.schema.json'))).toEqual([
      { path: 'pipelines.tickets.contract', line: 3, message: 'cannot read missing.schema.json: ENOENT' },
    ]);
  });

  test('a contract file that is not JSON is a problem at pipelines.X.contract', () => {
    const dir = tempDir();
    const problems = loadProblems(configWithContract(dir, 'ticket.schema.json', '{ "type": "object", '));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: 'pipelines.tickets.contract', line: 3 });
    expect(problems[0].message).toMatch(/^ticket\.schema\.json is not JSON: /);
  });

  test('a contract that is not a valid JSON Schema is a problem at pipelines.X.contract', () => {
    const dir = tempDir();
    const problems = loadProblems(configWithContract(dir, 'ticket.schema.json', '{ "type": "strang" }'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: 'pipelines.tickets.contract', line: 3 });
    expect(problems[0].message).toMatch(/^not a valid JSON Schema: /);
  });

  test('an inline contract that is not a valid JSON Schema is a problem at pipelines.X.contract', () => {
    const problems = problemsOf(yaml('pipelines:', '  tickets:', httpModel, '    contract: { type: object, required: yes }'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: 'pipelines.tickets.contract', line: 4 });
    expect(problems[0].message).toMatch(/^not a valid JSON Schema: /);
  });

  test('a contract problem and a missing model module are reported together', () => {
    const dir = tempDir();
    const file = path.join(dir, 'airlock.yaml');
    writeFileSync(file, yaml('pipelines:', '  tickets:', '    contract: ./nope.json', '    model: { type: module, path: ./model.mjs }'));
    expect(loadProblems(file)).toEqual([
      { path: 'pipelines.tickets.contract', line: 3, message: 'cannot read ./nope.json: ENOENT' },
      { path: 'pipelines.tickets.model.path', line: 4, message: 'module not found: ./model.mjs' },
    ]);
  });
});

describe('finding the file', () => {
  test('--config, else AIRLOCK_CONFIG, else ./airlock.yaml', () => {
    expect(resolveConfigPath('conf/a.yaml', { AIRLOCK_CONFIG: 'b.yaml' })).toBe(path.resolve('conf/a.yaml'));
    expect(resolveConfigPath(undefined, { AIRLOCK_CONFIG: 'b.yaml' })).toBe(path.resolve('b.yaml'));
    expect(resolveConfigPath(undefined, {})).toBe(path.resolve('airlock.yaml'));
  });

  test('a missing file says so and how to name another', () => {
    const dir = tempDir();
    expect(() => loadConfig(path.join(dir, 'airlock.yaml'), { env: {} })).toThrow(
      /config file not found: .*airlock\.yaml \(use --config FILE or AIRLOCK_CONFIG\)/,
    );
  });
});
