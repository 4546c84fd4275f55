// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config text with ${ENV_VAR} placeholders
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { createAjv } from '../contract/ajv.js';
import { configSettings } from './airlock-config.js';
import { parseConfig } from './load.js';
import { configJsonSchema } from './schema.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

type Schema = Record<string, unknown>;

/** Every named setting of a schema (the `properties` of every block, `if` conditions left out), by its path. */
function settingsOf(schema: unknown, at = '', out: [string, Schema][] = []): [string, Schema][] {
  if (Array.isArray(schema)) {
    for (const [i, s] of schema.entries()) settingsOf(s, `${at}[${i}]`, out);
    return out;
  }
  if (schema === null || typeof schema !== 'object') return out;
  for (const [key, child] of Object.entries(schema as Schema)) {
    if (key === 'if') continue;
    if (key === 'properties' && child && typeof child === 'object') {
      for (const [name, s] of Object.entries(child as Schema)) {
        out.push([`${at}.${name}`, s as Schema]);
        settingsOf(s, `${at}.${name}`, out);
      }
    } else settingsOf(child, `${at}/${key}`, out);
  }
  return out;
}

/** Validates `text` (YAML) against the published schema, as an editor would. */
function editorErrors(text: string) {
  const validate = createAjv({ strict: true, allErrors: true }).compile(configJsonSchema);
  validate(parse(text));
  return validate.errors ?? [];
}

describe('the published schema (airlock config schema)', () => {
  test('is JSON Schema 2020-12 with its id and title', () => {
    expect(configJsonSchema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: 'https://airlock.dev/schema/airlock.yaml.json',
      title: 'airlock.yaml',
    });
  });

  test('every setting has a description', () => {
    const settings = settingsOf(configJsonSchema);
    expect(settings.length).toBeGreaterThan(200);
    const undocumented = settings.filter(([, s]) => typeof s.description !== 'string' || s.description.trim() === '').map(([p]) => p);
    expect(undocumented).toEqual([]);
  });

  test('carries every default and description of the declarations, in the same place', () => {
    const declared = settingsOf(JSON.parse(JSON.stringify(configSettings))).map(([p, s]) => [p, s.default, s.description]);
    const published = new Map(settingsOf(configJsonSchema).map(([p, s]) => [p, [p, s.default, s.description]]));
    expect(declared.filter(([, d]) => d !== undefined).length).toBeGreaterThan(100);
    for (const [p] of declared) expect(published.get(p as string), p as string).toEqual(declared.find(([q]) => q === p));
  });

  test('compiles under ajv strict mode (ajv-formats) without an error or a warning', () => {
    const said: unknown[] = [];
    const logger = {
      log: (...a: unknown[]) => said.push(a),
      warn: (...a: unknown[]) => said.push(a),
      error: (...a: unknown[]) => said.push(a),
    };
    expect(() => createAjv({ strict: true, logger }).compile(configJsonSchema)).not.toThrow();
    expect(said).toEqual([]);
  });

  test('accepts the quickstart example', () => {
    expect(editorErrors(readFileSync(path.join(repoRoot, 'examples/quickstart/airlock.yaml'), 'utf8'))).toEqual([]);
  });

  const withVariables = yaml(
    'server:',
    '  port: ${PORT}',
    '  metrics_public: ${METRICS_PUBLIC}',
    '  auth: ${AUTH:-required}',
    'logging:',
    '  level: ${LOG_LEVEL}',
    'pipelines:',
    '  tickets:',
    '    model: { type: http, url: "${MODEL_URL}", timeout: "${MODEL_TIMEOUT:-2s}" }',
    '    routing: { auto_accept_at: "${THRESHOLD}" }',
  );

  test('accepts ${VAR} for a number, a boolean, an enum, a URL and a duration, as the loader does', () => {
    expect(editorErrors(withVariables)).toEqual([]);
    const env = { PORT: '9000', METRICS_PUBLIC: 'false', LOG_LEVEL: 'warn', MODEL_URL: 'http://127.0.0.1:9000/', THRESHOLD: '0.8' };
    const config = parseConfig(withVariables, { env });
    expect(config.server).toMatchObject({ port: 9000, metricsPublic: false, auth: 'required' });
    expect(config.logging.level).toBe('warn');
    expect(config.pipelines.tickets.model).toMatchObject({ url: 'http://127.0.0.1:9000/', timeoutMs: 2000 });
    expect(config.pipelines.tickets.routing.autoAcceptAt).toBe(0.8);
  });

  test('still refuses what the loader refuses: wrong values, unknown settings, text around a reference', () => {
    const paths = (text: string) => editorErrors(text).map((e) => e.instancePath);
    expect(paths('server: { port: eighty }\n')).toContain('/server/port');
    expect(paths('server: { colour: blue }\n')).toEqual(['/server']);
    expect(paths('worker: { lease: soon }\n')).toContain('/worker/lease');
    expect(paths('server: { port: "80${PORT}" }\n')).toContain('/server/port');
    expect(paths('logging: { level: chatty }\n')).toContain('/logging/level');
  });
});
