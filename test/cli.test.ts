// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text with ${ENV_VAR} placeholders
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { createAjv } from '../src/contract/ajv.js';
import { type AirlockServer, createServer } from '../src/server/app.js';
import { type RunResult, runAirlock } from './support/cli.js';
import { ensureBuilt, freePort } from './support/serve.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quickstartConfig = path.join(root, 'examples/quickstart/airlock.yaml');

/** Runs `node bin/airlock ...args` in the test's work folder by default. */
function airlock(args: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return runAirlock(args, { ...options, cwd: options.cwd ?? work });
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s{4}at /m);

let work: string;
let unreachable: Promise<RunResult & { port: number }>;

beforeAll(async () => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'airlock-cli-'));
  // `ingest` retries an unreachable server with backoff for about half a minute before giving up:
  // start it now so it runs while the other tests do, and look at its answer at the end.
  const records = path.join(work, 'unreachable.jsonl');
  writeFileSync(records, '{"id":"U-1"}\n');
  // A port that was free a moment ago: nothing listens on it.
  const port = await freePort();
  unreachable = airlock(['ingest', records, '--pipeline', 'tickets', '--url', `http://127.0.0.1:${port}`], { timeoutMs: 85_000 }).then(
    (r) => ({
      ...r,
      port,
    }),
  );
  // Keep an early rejection from being reported as unhandled before the test awaits it.
  unreachable.catch(() => {});
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

// Each command is its own process: the independent ones run side by side.
describe.concurrent('help and usage', () => {
  test('--help lists every command and the global --config option', async () => {
    const r = await airlock(['--help']);
    expect(r.code).toBe(0);
    for (const word of ['serve', 'ingest', 'migrate', 'config', '--config', '--version']) expect(r.stdout).toContain(word);
  });

  test.each([
    [['serve'], ['--role', '--port', '--host', '--database', 'api', 'worker', 'all']],
    [['ingest'], ['<file>', '--pipeline', '--url', '--token', '--batch-size', '--format', '--json', 'AIRLOCK_URL', 'AIRLOCK_TOKEN']],
    [['migrate'], ['--database', '--json']],
    [['config'], ['check', 'schema']],
    [
      ['config', 'check'],
      ['[file]', '--json', 'AIRLOCK_CONFIG'],
    ],
    [
      ['config', 'schema'],
      ['JSON Schema', '2020-12'],
    ],
  ])('airlock %j --help exits 0 and documents %j', async (command, words) => {
    const r = await airlock([...command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: airlock ${command.join(' ')}`);
    for (const word of words) expect(r.stdout).toContain(word);
  });

  test('--version prints the package version', async () => {
    const r = await airlock(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  });

  test('an unknown command exits 2 and says so', async () => {
    const r = await airlock(['launch']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'launch'");
    expect(r.stdout).toBe('');
  });

  test('a missing required option exits 2 and names it', async () => {
    const r = await airlock(['ingest', 'records.jsonl']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--pipeline');
  });
});

describe.concurrent('config check', () => {
  const badYaml = [
    'database: sqlite:./a.db',
    'server:',
    '  port: 8080',
    '  colour: blue',
    'pipelines:',
    '  tickets:',
    '    model:',
    '      type: http',
    '      url: ftp://example.com/model',
    '      timeout: 2 seconds',
    '    destinations:',
    '      helpdesk: { type: webhook, url: "http://127.0.0.1:9100/", rate_limit: 20 per second }',
    '  second:',
    '    model: { type: banana }',
    '',
  ].join('\n');

  test('a good file exits 0 and names its pipelines', async () => {
    const r = await airlock(['config', 'check', quickstartConfig]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok (1 pipeline: tickets)');
    expect(r.stderr).toBe('');
  });

  test('the file comes from --config, else AIRLOCK_CONFIG, else ./airlock.yaml', async () => {
    expect((await airlock(['--config', quickstartConfig, 'config', 'check'])).code).toBe(0);
    expect((await airlock(['config', 'check'], { env: { AIRLOCK_CONFIG: quickstartConfig } })).code).toBe(0);
    const dir = mkdtempSync(path.join(work, 'cwd-'));
    writeFileSync(path.join(dir, 'airlock.yaml'), 'server: { port: 9999 }\n');
    const r = await airlock(['config', 'check'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ok (0 pipelines: none)');
  });

  test('a bad file exits 2 and prints every problem with its line and path, without a stack trace', async () => {
    const dir = mkdtempSync(path.join(work, 'bad-'));
    writeFileSync(path.join(dir, 'bad.yaml'), badYaml);
    const r = await airlock(['config', 'check', 'bad.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('the config has 5 problems');
    const lines = [
      'bad.yaml:4: server.colour: is not a known setting here',
      'bad.yaml:9: pipelines.tickets.model.url: expected an http(s) URL, got "ftp://example.com/model"',
      'bad.yaml:10: pipelines.tickets.model.timeout: expected a duration such as 500ms, 2s, 5m, 4h or 1d, got "2 seconds"',
      'bad.yaml:12: pipelines.tickets.destinations.helpdesk.rate_limit: expected a rate such as 20/s, 700/min, 100/10s or 1000000/day, got "20 per second"',
      'bad.yaml:14: pipelines.second.model.type: expected one of http, module, openai, baseline, got "banana"',
    ];
    for (const line of lines) expect(r.stderr).toContain(line);
    noStackTrace(r.stderr);
  });

  test('--json prints the problems for machines, and still exits 2', async () => {
    const dir = mkdtempSync(path.join(work, 'bad-'));
    writeFileSync(path.join(dir, 'bad.yaml'), badYaml);
    const r = await airlock(['config', 'check', 'bad.yaml', '--json'], { cwd: dir });
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(false);
    expect(out.file).toBe(path.join(dir, 'bad.yaml'));
    expect(out.problems).toHaveLength(5);
    expect(out.problems).toContainEqual({ path: 'server.colour', line: 4, message: 'is not a known setting here' });
    expect(out.problems).toContainEqual({
      path: 'pipelines.second.model.type',
      line: 14,
      message: 'expected one of http, module, openai, baseline, got "banana"',
    });
    noStackTrace(r.stderr);
  });

  test('--json on a good file', async () => {
    const r = await airlock(['config', 'check', quickstartConfig, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, file: quickstartConfig, pipelines: ['tickets'], problems: [] });
  });

  test('a YAML syntax error exits 2 with its line', async () => {
    const dir = mkdtempSync(path.join(work, 'yaml-'));
    writeFileSync(path.join(dir, 'airlock.yaml'), 'server:\n  port: 8080\n  port: 9090\n');
    const r = await airlock(['config', 'check'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('airlock.yaml:3: not valid YAML: Map keys must be unique');
    noStackTrace(r.stderr);
  });

  test('a missing variable names the variable and where it is used', async () => {
    const dir = mkdtempSync(path.join(work, 'env-'));
    writeFileSync(path.join(dir, 'airlock.yaml'), 'server:\n  port: ${AIRLOCK_TEST_PORT_UNSET}\n');
    const r = await airlock(['config', 'check'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('airlock.yaml:2: server.port: environment variable AIRLOCK_TEST_PORT_UNSET is not set');
    const ok = await airlock(['config', 'check'], { cwd: dir, env: { AIRLOCK_TEST_PORT_UNSET: '9000' } });
    expect(ok.code).toBe(0);
  });

  test('a missing file exits 2 and says how to name one', async () => {
    const r = await airlock(['config', 'check', 'nowhere.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('config file not found');
    expect(r.stderr).toContain('--config FILE or AIRLOCK_CONFIG');
    noStackTrace(r.stderr);
  });
});

describe('config schema', () => {
  test('prints a JSON Schema 2020-12 that validators accept and that describes the config', async () => {
    const r = await airlock(['config', 'schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['database', 'server', 'worker', 'pipelines', 'alerts']));
    const validate = createAjv({ strict: false, allErrors: true }).compile(schema);
    expect(validate({ server: { port: 8080 }, pipelines: { p: { model: { type: 'http', url: 'http://127.0.0.1:9000/' } } } })).toBe(true);
    expect(validate({ server: { colour: 'blue' } })).toBe(false);
    expect(validate({ pipelines: { p: { model: { type: 'banana' } } } })).toBe(false);
  });
});

describe.concurrent('migrate', () => {
  test('--database sqlite:FILE creates the schema once; a second run has nothing to do', async () => {
    const file = path.join(work, 'migrate', 'airlock.db');
    const first = await airlock(['migrate', '--database', `sqlite:${file}`, '--json']);
    expect(first.code).toBe(0);
    const out = JSON.parse(first.stdout);
    expect(out.database).toBe(`sqlite:${file}`);
    expect(out.applied.length).toBeGreaterThan(0);
    expect(existsSync(file)).toBe(true);

    const second = await airlock(['migrate', '--database', `sqlite:${file}`]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`sqlite:${file} is up to date`);
    expect(JSON.parse((await airlock(['migrate', '--database', `sqlite:${file}`, '--json'])).stdout).applied).toEqual([]);
  });

  test('the readable output names the migrations applied', async () => {
    const file = path.join(work, 'migrate2.db');
    const r = await airlock(['migrate', '--database', `sqlite:${file}`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^applied \d+ migration\(s\) to sqlite:.*migrate2\.db: \S+/);
  });

  test('AIRLOCK_DATABASE names the database when --database is not given', async () => {
    const file = path.join(work, 'migrate-env.db');
    const r = await airlock(['migrate', '--json'], { env: { AIRLOCK_DATABASE: `sqlite:${file}` } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).database).toBe(`sqlite:${file}`);
  });

  test('an unsupported database URL is a usage error (exit 2) with one clear sentence', async () => {
    const r = await airlock(['migrate', '--database', 'mysql://localhost/airlock']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('airlock: unsupported database URL "mysql://localhost/airlock" (expected sqlite:PATH or postgres://…)');
  });

  test('without a config or --database it exits 2 and says the config is missing', async () => {
    const dir = mkdtempSync(path.join(work, 'empty-'));
    const r = await airlock(['migrate'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('config file not found');
    noStackTrace(r.stderr);
  });
});

describe('ingest against a running server', () => {
  let server: AirlockServer;
  let url: string;
  let files: string;

  beforeAll(async () => {
    files = mkdtempSync(path.join(work, 'ingest-'));
    mkdirSync(path.join(files, 'db'));
    writeFileSync(path.join(files, 'model.mjs'), 'export function predict(record) {\n  return { label: "ok", confidence: 0.99 };\n}\n');
    const config = parseConfig(
      [
        `database: sqlite:${path.join(files, 'db', 'a.db')}`,
        'server: { auth: off }',
        'logging: { level: silent }',
        'pipelines:',
        '  tickets:',
        `    model: { type: module, path: ${path.join(files, 'model.mjs')} }`,
        '',
      ].join('\n'),
      { env: {}, dir: files },
    );
    server = await createServer(config);
    url = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
  });

  afterAll(async () => {
    await server?.close();
  });

  async function getRecord(id: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${url}/v1/pipelines/tickets/records/${encodeURIComponent(id)}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  test('a JSONL file: the good lines are stored, the unparseable line is refused by its number (exit 1)', async () => {
    const file = path.join(files, 'tickets.jsonl');
    writeFileSync(
      file,
      [
        '{"id":"J-1","subject":"Refund please","n":1}',
        '{"id":"J-2","subject":"App crash","n":2}',
        '{"id":"J-3", "subject": oops',
        '',
        '{"id":"J-4","subject":"Locked out","n":4}',
        '',
      ].join('\n'),
    );
    const r = await airlock(['ingest', file, '--pipeline', 'tickets', '--url', url, '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ pipeline: 'tickets', sent: 3, accepted: 3, existing: 0, quarantined: 0 });
    expect(out.refused).toHaveLength(1);
    expect(out.refused[0].line).toBe(3);
    expect(out.refused[0].reason).toMatch(/not valid JSON/);

    for (const [id, n] of [
      ['J-1', 1],
      ['J-2', 2],
      ['J-4', 4],
    ] as const) {
      const rec = await getRecord(id);
      expect(rec.status).toBe(200);
      expect(rec.body).toMatchObject({ id, pipeline: 'tickets', record: { id, n } });
    }
    expect((await getRecord('J-3')).status).toBe(404);
  });

  test('sending the same file again stores nothing twice', async () => {
    const file = path.join(files, 'again.jsonl');
    writeFileSync(file, '{"id":"A-1","v":1}\n{"id":"A-2","v":2}\n');
    const first = JSON.parse((await airlock(['ingest', file, '--pipeline', 'tickets', '--url', url, '--json'])).stdout);
    expect(first).toMatchObject({ sent: 2, accepted: 2, existing: 0, refused: [] });
    const r = await airlock(['ingest', file, '--pipeline', 'tickets', '--url', url, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sent: 2, accepted: 0, existing: 2, refused: [] });
  });

  test('batches smaller than the file still send every record', async () => {
    const file = path.join(files, 'many.jsonl');
    writeFileSync(file, `${Array.from({ length: 7 }, (_, i) => JSON.stringify({ id: `B-${i}`, i })).join('\n')}\n`);
    const r = await airlock(['ingest', file, '--pipeline', 'tickets', '--url', url, '--batch-size', '3', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sent: 7, accepted: 7, refused: [] });
    expect((await getRecord('B-6')).body).toMatchObject({ record: { id: 'B-6', i: 6 } });
  });

  test('a CSV file with a header becomes one record per row, keyed by the header', async () => {
    const file = path.join(files, 'tickets.csv');
    writeFileSync(file, 'id,subject,plan\nC-1,"Hello, world",pro\nC-2,Invoice missing,free\n');
    const r = await airlock(['ingest', file, '--pipeline', 'tickets', '--url', url, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ pipeline: 'tickets', sent: 2, accepted: 2, existing: 0, quarantined: 0, refused: [] });
    expect((await getRecord('C-1')).body).toMatchObject({ record: { id: 'C-1', subject: 'Hello, world', plan: 'pro' } });
    expect((await getRecord('C-2')).body).toMatchObject({ record: { id: 'C-2', subject: 'Invoice missing', plan: 'free' } });
  });

  test('a gzip’d JSONL file is read as JSONL', async () => {
    const file = path.join(files, 'tickets.jsonl.gz');
    writeFileSync(file, gzipSync('{"id":"G-1","subject":"zipped"}\n{"id":"G-2","subject":"also zipped"}\n'));
    const r = await airlock(['ingest', file, '--pipeline', 'tickets', '--url', url, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sent: 2, accepted: 2, refused: [] });
    expect((await getRecord('G-2')).body).toMatchObject({ record: { id: 'G-2', subject: 'also zipped' } });
  });

  test('the readable summary counts and lists the refused lines', async () => {
    const file = path.join(files, 'readable.jsonl');
    writeFileSync(file, '{"id":"R-1"}\nnot json\n');
    const r = await airlock(['ingest', file, '--pipeline', 'tickets', '--url', url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('1 accepted (0 quarantined), 0 already stored, 1 refused');
    expect(r.stdout).toMatch(/^ {2}line 2: not valid JSON/m);
  });

  test('AIRLOCK_URL names the server when --url is not given', async () => {
    const file = path.join(files, 'env-url.jsonl');
    writeFileSync(file, '{"id":"E-1"}\n');
    const r = await airlock(['ingest', file, '--pipeline', 'tickets', '--json'], { env: { AIRLOCK_URL: url } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ accepted: 1 });
  });

  test('an unknown pipeline exits non-zero with a clear message', async () => {
    const file = path.join(files, 'nope.jsonl');
    writeFileSync(file, '{"id":"N-1"}\n');
    const r = await airlock(['ingest', file, '--pipeline', 'nope', '--url', url]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('pipeline "nope" is not in the config');
    expect(r.stdout).toBe('');
    noStackTrace(r.stderr);
  });

  test('a file that does not exist exits 2 naming it', async () => {
    const r = await airlock(['ingest', path.join(files, 'missing.jsonl'), '--pipeline', 'tickets', '--url', url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing.jsonl: ENOENT');
    noStackTrace(r.stderr);
  });

  test('a file whose format cannot be told from its name asks for --format', async () => {
    const file = path.join(files, 'records.txt');
    writeFileSync(file, '{"id":"F-1"}\n');
    const r = await airlock(['ingest', file, '--pipeline', 'tickets', '--url', url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--format');
    const forced = await airlock(['ingest', file, '--pipeline', 'tickets', '--url', url, '--format', 'jsonl', '--json']);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ accepted: 1 });
  });
});

describe('ingest with no server', () => {
  // Started in beforeAll, while the other tests run: a server never reached fails after 3 quick attempts.
  test('says it cannot reach the server, and how to point it at one', async () => {
    const r = await unreachable;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot reach http://127.0.0.1:${r.port}`);
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stderr).toContain('--url or AIRLOCK_URL');
    expect(r.stdout).toBe('');
    noStackTrace(r.stderr);
  }, 90_000);
});
