import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { DriftReport } from '../src/drift/compare.js';
import { mulberry32 } from '../src/drift/random.js';
import referenceJson from './fixtures/drift/reference.json' with { type: 'json' };
import { type RunResult, runAirlock } from './support/cli.js';
import { ensureBuilt } from './support/serve.js';

// `airlock drift` end to end on real data: Vega's movies.json (vega-datasets), split by release year (before 2000 vs
// 2000 and later: budgets, ratings and genres moved) and at random (nothing moved). Numbers are checked against SciPy's
// on the same split (test/reference/drift_reference.py).

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const movies = JSON.parse(readFileSync(path.join(root, 'node_modules', 'vega-datasets', 'data', 'movies.json'), 'utf8')) as Record<
  string,
  unknown
>[];
const expected = (referenceJson as unknown as { movies: { fields: Record<string, Record<string, number>> } }).movies;
const year = (r: Record<string, unknown>) => Number(String(r['Release Date']).slice(-4));

let work: string;
const file = (name: string) => path.join(work, name);
const runs: Record<string, Promise<RunResult>> = {};
const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s{4}at /m);

function toCsv(rows: Record<string, unknown>[]): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) =>
    v === null || v === undefined ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v);
  return `${cols.join(',')}\n${rows.map((r) => cols.map((c) => cell(r[c])).join(',')).join('\n')}\n`;
}

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'airlock-drift-'));
  const before = movies.filter((r) => year(r) < 2000);
  const after = movies.filter((r) => year(r) >= 2000);
  const r = mulberry32(2024);
  const shuffled = movies
    .map((m) => [r(), m] as const)
    .sort((a, b) => a[0] - b[0])
    .map(([, m]) => m);
  writeFileSync(file('before.json'), JSON.stringify(before));
  writeFileSync(file('after.jsonl'), jsonl(after));
  writeFileSync(file('half-a.jsonl'), jsonl(shuffled.slice(0, 1600)));
  writeFileSync(file('half-b.csv'), toCsv(shuffled.slice(1600)));
  writeFileSync(file('small-a.jsonl'), jsonl(shuffled.slice(0, 400)));
  writeFileSync(file('small-b.jsonl'), jsonl(shuffled.slice(400, 800)));
  writeFileSync(file('broken.jsonl'), '{"a": 1}\n{"a": \n');
  const run = (name: string, args: string[]) => (runs[name] = runAirlock(args, { cwd: work }));
  run('year', ['drift', 'before.json', 'after.jsonl', '--json', '--html', 'report.html']);
  run('yearText', ['drift', 'before.json', 'after.jsonl']);
  run('random', ['drift', 'half-a.jsonl', 'half-b.csv', '--json', '--exclude', 'Release Date']);
  run('small', ['drift', 'small-a.jsonl', 'small-b.jsonl', '--json']);
  run('override', ['drift', 'half-a.jsonl', 'half-b.csv', '--json', '--test', 'IMDB Rating=psi:0.5', '--test', 'Title=skip']);
  run('badTest', ['drift', 'before.json', 'after.jsonl', '--test', 'x=bogus']);
  run('missing', ['drift', 'nope.jsonl', 'after.jsonl']);
  run('broken', ['drift', 'broken.jsonl', 'after.jsonl']);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

const report = async (name: string) => {
  const r = await runs[name];
  return { ...r, json: JSON.parse(r.stdout) as DriftReport };
};

describe('airlock drift on movies split by release year', () => {
  test('finds dataset drift and exits 1, with the documented JSON fields', async () => {
    const { code, json } = await report('year');
    expect(code).toBe(1);
    expect(json.dataset_drift).toBe(true);
    expect(json.drift_share).toBeGreaterThanOrEqual(0.5);
    for (const f of json.fields) {
      for (const k of ['name', 'type', 'test', 'statistic', 'p_value', 'threshold', 'drift']) expect(f).toHaveProperty(k);
    }
    const budget = json.fields.find((f) => f.name === 'Production Budget')!;
    expect(budget).toMatchObject({ type: 'numeric', test: 'wasserstein', drift: true, threshold: 0.1, p_value: null });
    expect(budget).toHaveProperty('ks');
    expect(budget).toHaveProperty('psi');
    expect(budget).toHaveProperty('jensen_shannon');
  });

  test('its statistics equal SciPy’s on the same split', async () => {
    const { json } = await report('year');
    for (const [name, want] of Object.entries(expected.fields)) {
      const f = json.fields.find((x) => x.name === name)!;
      if (want.wasserstein_norm !== undefined) {
        expect(f.wasserstein_norm).toBeCloseTo(want.wasserstein_norm, 12);
        expect(f.ks).toBeCloseTo(want.ks, 14);
        if (f.test === 'ks') expect(f.p_value! / want.ks_p_value).toBeCloseTo(1, 8);
      } else {
        expect(f.jensen_shannon).toBeCloseTo(want.jensen_shannon, 12);
        expect(f.chi_square).toBeCloseTo(want.chi_square, 9);
      }
    }
  });

  test('prints a readable table, and writes a self-contained HTML report', async () => {
    const r = await runs.yearText;
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Production Budget\s+numeric\s+wasserstein\s+0\.4\d+\s+-\s+0\.1000\s+DRIFT/);
    expect(r.stdout).toMatch(/^Dataset drift: \d+ of \d+ fields drifted/m);
    await runs.year;
    const html = readFileSync(file('report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|<link|src=/);
    expect(html).toContain('Production Budget');
  });
});

describe('airlock drift on a random split of the same movies', () => {
  test('no field drifts at the effect-size thresholds (JSONL vs CSV)', async () => {
    const { code, json } = await report('random');
    expect(code).toBe(0);
    expect(json.dataset_drift).toBe(false);
    expect(json.fields.filter((f) => f.drift).map((f) => f.name)).toEqual([]);
  });

  test('400 vs 400 rows: p-value tests, corrected, no drift', async () => {
    const { code, json } = await report('small');
    expect(code).toBe(0);
    expect(json.fields.some((f) => f.test === 'ks')).toBe(true);
    expect(json.fields.some((f) => f.test === 'chi_square')).toBe(true);
    expect(json.fields.filter((f) => f.drift).map((f) => f.name)).toEqual([]);
  });

  test('--test overrides a field’s test and threshold, or skips it', async () => {
    const { json } = await report('override');
    expect(json.fields.find((f) => f.name === 'IMDB Rating')).toMatchObject({ test: 'psi', threshold: 0.5 });
    expect(json.fields.find((f) => f.name === 'Title')).toMatchObject({ test: 'none' });
  });
});

describe('usage errors exit 2 with one sentence', () => {
  test.each([
    ['badTest', /--test expects FIELD=TEST/],
    ['missing', /cannot read nope\.jsonl/],
    ['broken', /broken\.jsonl has 1 unreadable line/],
  ])('%s', async (name, message) => {
    const r = await runs[name];
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    noStackTrace(r.stderr);
  });
});
