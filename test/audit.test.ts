import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { openStore } from '../src/store/db.js';
import reference from './fixtures/audit/reference.json' with { type: 'json' };
import { type RunResult, runAirlock } from './support/cli.js';
import { ensureBuilt } from './support/serve.js';

// `airlock audit` end to end: the built CLI on real data nobody here wrote (the SpamAssassin corpus parsed into
// records, Vega's movies as JSON and as CSV), checked against pandas (test/reference/audit_reference.py →
// test/fixtures/audit/reference.json), and on small messy files made here for each reader feature.

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'audit');
const require = createRequire(import.meta.url);
const moviesJson = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'movies.json');

let work: string;
const file = (name: string) => path.join(work, name);
const runs: Record<string, Promise<RunResult>> = {};
// Several audits start at once in beforeAll; on 2 loaded cores the first test may wait for all of them.
const audit = (...args: string[]) => runAirlock(['audit', ...args], { cwd: work, timeoutMs: 60_000 });
const json = (r: RunResult) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'airlock-audit-'));
  runs.spam = audit(path.join(fixtures, 'spam.jsonl'), '--json', '--time-field', 'date', '--key', 'message_id');
  runs.spamRaw = audit(path.join(fixtures, 'spam-raw.jsonl'), '--json');
  runs.moviesJson = audit(moviesJson, '--json', '--time-field', 'Release Date');
  runs.moviesCsv = audit(path.join(fixtures, 'movies.csv'), '--json');

  // Messy files, one reader feature each.
  const crlfBomCsv = Buffer.concat([
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from(
      'name;city;note\r\n"Smith; John";Oslo;"said ""hi""\nthen left"\r\nAnn;Bergen;plain\nBob;Trondheim\r\nCarl;Oslo;x;extra\r\n',
    ),
    Buffer.from('D'),
    Buffer.from([0xe9]), // Latin-1 é in a UTF-8 file
    Buffer.from('sir\u00e9e;Oslo;ok\r\n'),
  ]);
  writeFileSync(file('messy.csv'), crlfBomCsv);
  writeFileSync(
    file('lines.jsonl.gz'),
    gzipSync(['{"a":1,"b":"x"}', '{"a":2,"b":"<b>bold</b>"}', '{"a":', '', '{"a":1,"b":"x"}', '[1,2]', '{"a":3,"b":"cafÃ©"}'].join('\n')),
  );
  writeFileSync(file('items.data'), JSON.stringify([{ k: 1 }, { k: 2, z: null }, { k: 'three' }], null, 1));
  writeFileSync(file('truncated.json'), '[{"k": 1}, {"k": 2}, {"k": ');
  writeFileSync(file('evil.jsonl'), `${JSON.stringify({ '<img src=x onerror=alert(1)>': '<script>alert(1)</script>', n: 1 })}\n`);
  writeFileSync(file('empty.jsonl'), '\n\n');
  // A pilot and a production sample of the same feed: production got a new field, a new plan and a date format.
  const pilot = Array.from({ length: 600 }, (_, i) => ({
    id: i,
    plan: ['free', 'pro'][i % 2],
    amount: 10 + (i % 20),
    at: `2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
  }));
  const prod = Array.from({ length: 600 }, (_, i) => ({
    id: i,
    plan: ['free', 'pro', 'enterprise'][i % 3],
    amount: 10 + (i % 20),
    at: i % 2 ? `01/${String((i % 28) + 1).padStart(2, '0')}/2024` : `2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
    channel: 'web',
  }));
  writeFileSync(file('pilot.jsonl'), pilot.map((r) => JSON.stringify(r)).join('\n'));
  writeFileSync(file('prod.jsonl'), prod.map((r) => JSON.stringify(r)).join('\n'));
  writeFileSync(
    file('airlock.yaml'),
    stringify({
      database: `sqlite:${file('airlock.db')}`,
      logging: { level: 'silent' },
      pipelines: { feed: { model: { type: 'module', path: './model.mjs' } } },
    }),
  );
  writeFileSync(file('model.mjs'), 'export function predict() { return { label: "a", confidence: 0.9 }; }\n');

  runs.messyCsv = audit(file('messy.csv'), '--json');
  runs.gz = audit(file('lines.jsonl.gz'), '--json');
  runs.sniffed = audit(file('items.data'), '--json');
  runs.truncated = audit(file('truncated.json'), '--json');
  runs.compare = audit(file('prod.jsonl'), '--baseline', file('pilot.jsonl'), '--json', '--config', file('airlock.yaml'));
  runs.human = audit(file('prod.jsonl'), '--baseline', file('pilot.jsonl'), '--html', file('report.html'), '--fail-on', 'high');
  runs.evil = audit(file('evil.jsonl'), '--html', file('evil.html'));
  runs.missing = audit(file('nope.jsonl'));
  runs.empty = audit(file('empty.jsonl'));
  runs.badFormat = audit(file('prod.jsonl'), '--format', 'xml');
});

afterAll(async () => {
  await Promise.allSettled(Object.values(runs));
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Summary {
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number | null;
  quantiles: Record<string, number>;
}
interface RefField {
  count: number;
  missing: number;
  nulls: number;
  empty: number;
  distinct: number;
  top_count: number;
  numeric: Summary | null;
  length: Summary | null;
  replacement_character: number;
  control_characters: number;
}
interface RefInput {
  rows: number;
  duplicates: number;
  invalid_utf8_lines: number;
  fields: Record<string, RefField>;
}
const inputsRef = reference.inputs as unknown as Record<string, RefInput>;

function expectSummary(actual: Summary | null, expected: RefField['numeric'], where: string) {
  if (expected === null) {
    expect(actual, where).toBeNull();
    return;
  }
  expect(actual, where).not.toBeNull();
  const a = actual as Summary;
  const close = (x: number | null, y: number | null, what: string) => {
    if (y === null) return expect(x, `${where} ${what}`).toBeNull();
    expect(Math.abs((x as number) - y), `${where} ${what}: ${x} vs pandas ${y}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(y)));
  };
  expect(a.count, `${where} count`).toBe(expected.count);
  close(a.min, expected.min, 'min');
  close(a.max, expected.max, 'max');
  close(a.mean, expected.mean, 'mean');
  close(a.std, expected.std, 'std');
  for (const [q, v] of Object.entries(expected.quantiles)) close(a.quantiles[q], v, q);
}

describe('airlock audit on real data, against pandas', () => {
  const inputs: [string, string][] = [
    ['spam.jsonl', 'spam'],
    ['spam-raw.jsonl', 'spamRaw'],
    ['movies.json', 'moviesJson'],
    ['movies.csv', 'moviesCsv'],
  ];
  test.each(inputs)(
    '%s: rows, duplicates, invalid UTF-8 and every field’s counts and statistics',
    async (name, run) => {
      const r = json(await runs[run]);
      const ref = inputsRef[name];
      expect(r.rows.total).toBe(ref.rows);
      expect(r.rows.parsed).toBe(ref.rows);
      expect(r.rows.duplicates).toBe(ref.duplicates);
      const invalidLines =
        r.issues.find((i: { kind: string; field: string | null }) => i.kind === 'invalid_utf8' && i.field === null)?.count ?? 0;
      expect(invalidLines).toBe(ref.invalid_utf8_lines);
      const fields = Object.fromEntries(r.fields.map((f: { name: string }) => [f.name, f]));
      expect(Object.keys(fields)).toEqual(Object.keys(ref.fields));
      for (const [fname, e] of Object.entries(ref.fields)) {
        const f = fields[fname];
        const where = `${name} ${fname}`;
        expect({ count: f.count, missing: f.missing, nulls: f.nulls, empty: f.empty, distinct: f.distinct }, where).toEqual({
          count: e.count,
          missing: e.missing,
          nulls: e.nulls,
          empty: e.empty,
          distinct: e.distinct,
        });
        expect(f.distinct_method).toBe('exact');
        expect(f.top[0]?.count ?? 0, `${where} top count`).toBe(e.top_count);
        expectSummary(name === 'movies.csv' ? f.numeric_strings : f.numeric, e.numeric, `${where} numbers`);
        // Python's decoder replaces invalid bytes differently from the WHATWG one, so lengths of the raw file's broken strings differ.
        if (name !== 'spam-raw.jsonl') expectSummary(f.length, e.length, `${where} lengths`);
        const replaced = (f.issues.replacement_character ?? 0) + (f.issues.invalid_utf8 ?? 0);
        expect(replaced, `${where} U+FFFD`).toBe(e.replacement_character);
        expect(f.issues.control_characters ?? 0, `${where} control characters`).toBe(e.control_characters);
      }
    },
    60_000,
  );

  test('the SpamAssassin mails: formats, HTML in text, the time span with its impossible dates, key uniqueness', async () => {
    const r = json(await runs.spam);
    const f = Object.fromEntries(r.fields.map((x: { name: string }) => [x.name, x]));
    expect(f['from.address'].formats.email).toBeGreaterThan(490);
    expect(f.date.formats).toEqual({ iso_datetime: 500 });
    expect(f.date_header.formats.rfc2822_datetime).toBeGreaterThan(480);
    expect(r.issues.find((i: { kind: string; field: string }) => i.kind === 'html' && i.field === 'text').count).toBeGreaterThan(10);
    expect(r.rows.duplicate_keys).toMatchObject({ field: 'message_id', rows: 0, missing: 0 });
    expect(r.time.rows_with_time).toBe(500);
    // Some mails in the corpus are dated year 102 (a broken mailer's two-digit year): the span says so.
    expect(r.time.start.startsWith('0102-')).toBe(true);
  });

  test('Vega movies: the integer titles, text dates, and a 2046 release from a two-digit year', async () => {
    const r = json(await runs.moviesJson);
    expect(r.source).toMatchObject({ format: 'json', compressed: false });
    const title = r.fields.find((f: { name: string }) => f.name === 'Title');
    expect(title.types).toEqual({ null: 1, integer: 9, string: 3191 });
    expect(r.issues).toContainEqual(expect.objectContaining({ kind: 'mixed_types', field: 'Title', count: 9 }));
    expect(r.fields.find((f: { name: string }) => f.name === 'Release Date').formats).toEqual({ text_date: 3201 });
    expect(r.time.end.startsWith('2046-')).toBe(true);
    expect(r.time.changes.length).toBeGreaterThan(0);
    const csv = json(await runs.moviesCsv);
    expect(csv.source).toMatchObject({ format: 'csv', delimiter: ';', header: true });
  });
});

describe('airlock audit reads messy files', () => {
  test('CSV: BOM, ; detected, quoted newlines and quotes, CRLF/LF mix, a short and a long row, invalid UTF-8', async () => {
    const r = json(await runs.messyCsv);
    expect(r.source).toMatchObject({ format: 'csv', delimiter: ';', header: true });
    expect(r.rows).toMatchObject({ total: 5, parsed: 3, unparseable: 2 });
    expect(r.rows.unparseable_examples).toEqual([
      { row: 5, reason: 'expected 3 fields (as the header), got 2' },
      { row: 6, reason: 'expected 3 fields (as the header), got 4' },
    ]);
    const kinds = Object.fromEntries(
      r.issues.map((i: { kind: string; field: string | null }) => [`${i.kind}${i.field ? `:${i.field}` : ''}`, i]),
    );
    expect(kinds.byte_order_mark.examples).toEqual([1]);
    expect(kinds.mixed_line_endings).toMatchObject({ count: 2, examples: [2, 4], detail: '2 LF, 5 CRLF' });
    expect(kinds.invalid_utf8.examples).toEqual([7]);
    expect(kinds['invalid_utf8:name'].examples).toEqual([7]);
    const name = r.fields.find((f: { name: string }) => f.name === 'name');
    expect(name.top.map((t: { value: string }) => t.value)).toContain('Smith; John');
    const note = r.fields.find((f: { name: string }) => f.name === 'note');
    expect(note.top.map((t: { value: string }) => t.value)).toContain('said "hi"\nthen left');
  });

  test('gzip JSONL: unparseable line with its number and reason, duplicates, a non-object row, HTML and mojibake', async () => {
    const r = json(await runs.gz);
    expect(r.source).toMatchObject({ format: 'jsonl', compressed: true });
    expect(r.rows).toMatchObject({ total: 6, parsed: 5, unparseable: 1, duplicates: 1 });
    expect(r.rows.unparseable_examples[0].row).toBe(3);
    expect(r.rows.unparseable_examples[0].reason).toMatch(/^not valid JSON: /);
    const find = (kind: string) => r.issues.find((i: { kind: string }) => i.kind === kind);
    expect(find('duplicate_rows').examples).toEqual([5]);
    expect(find('not_an_object').examples).toEqual([6]);
    expect(find('html')).toMatchObject({ field: 'b', examples: [2] });
    expect(find('mojibake')).toMatchObject({ field: 'b', examples: [7] });
  });

  test('a JSON array is recognised from its first bytes; a truncated one reports where it broke', async () => {
    const r = json(await runs.sniffed);
    expect(r.source.format).toBe('json');
    expect(r.rows.parsed).toBe(3);
    expect(r.fields.find((f: { name: string }) => f.name === 'z')).toMatchObject({ count: 1, missing: 2, nulls: 1 });
    const t = json(await runs.truncated);
    expect(t.rows).toMatchObject({ parsed: 2, unparseable: 1 });
    expect(t.rows.unparseable_examples[0].reason).toMatch(/after item 2/);
  });
});

describe('airlock audit --baseline, --html, --config', () => {
  test('ranks what changed since the pilot and stores the report as evidence of kind audit', async () => {
    const r = json(await runs.compare);
    const kinds = r.comparison.changes.map((c: { kind: string; field: string }) => `${c.kind}:${c.field}`);
    expect(kinds).toEqual(expect.arrayContaining(['new_field:channel', 'new_categories:plan', 'format:at']));
    expect(r.comparison.changes[0].severity).toBe('high');
    expect(r.stored).toMatchObject({ pipeline: 'feed', evidence_id: expect.any(Number) });
    const store = openStore(`sqlite:${file('airlock.db')}`);
    try {
      const row = await store.db.selectFrom('evidence').selectAll().where('id', '=', r.stored.evidence_id).executeTakeFirstOrThrow();
      expect(row).toMatchObject({ kind: 'audit', pipeline: 'feed' });
      expect(row.config_hash).toEqual(expect.any(String));
      expect(JSON.parse(row.summary)).toMatchObject({ rows: 600, changes: r.comparison.counts });
    } finally {
      await store.close();
    }
  });

  test('the readable report, an HTML page, and exit 1 when --fail-on high is met', async () => {
    const run = await runs.human;
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^compared with .*pilot\.jsonl \(600 rows\): \d+ high/m);
    expect(run.stdout).toMatch(/\[high\] new_field: channel is new/);
    expect(run.stderr).toBe('airlock: audit findings over the limits: high\n');
    const html = readFileSync(file('report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('Compared with the baseline');
  });

  test('record values and field names are escaped in the HTML', async () => {
    const run = await runs.evil;
    expect(run.code).toBe(0);
    const html = readFileSync(file('evil.html'), 'utf8');
    expect(html).not.toMatch(/<script|<img/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});

describe('airlock audit usage errors: exit 2, one sentence, no stack trace', () => {
  test.each([
    ['missing', /^airlock: cannot read .*nope\.jsonl: ENOENT\n$/],
    ['empty', /^airlock: .*empty\.jsonl holds no rows\n$/],
    ['badFormat', /^airlock: --format must be one of jsonl, json, csv, tsv \(got "xml"\)\n$/],
  ])('%s', async (key, message) => {
    const run = await runs[key];
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
