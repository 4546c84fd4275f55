import { describe, expect, test } from 'vitest';
import { Profiler } from './profile.js';

const rows = [
  { id: 1, name: 'Ann', address: { city: 'Oslo', zip: '0150' }, tags: ['a', 'b'], amount: 10.5, seen: '2024-01-02' },
  { id: 2, name: ' Bob', address: { city: null }, tags: [], amount: 3, seen: '2024-01-03' },
  { id: 3, name: '', address: null, amount: null, seen: '01/05/2024' },
  { id: 3, name: 'Café', amount: '12', extra: true },
  { id: 1, name: 'Ann', address: { city: 'Oslo', zip: '0150' }, tags: ['a', 'b'], amount: 10.5, seen: '2024-01-02' },
];

function profile(opts = {}) {
  const p = new Profiler(opts);
  rows.forEach((r, i) => {
    p.add(r, { row: i + 1 });
  });
  return p;
}

describe('Profiler', () => {
  test('counts presence, missing keys, nulls, empties and JSON Schema types per dotted path', () => {
    const r = profile().result();
    const f = Object.fromEntries(r.fields.map((x) => [x.name, x]));
    expect(r.fields.map((x) => x.name)).toEqual([
      'id',
      'name',
      'address',
      'address.city',
      'address.zip',
      'tags',
      'amount',
      'seen',
      'extra',
    ]);
    expect(f.id).toMatchObject({ count: 5, missing: 0, nulls: 0, types: { integer: 5 }, distinct: 3 });
    expect(f.name).toMatchObject({ count: 5, empty: 1, distinct: 4, types: { string: 5 } });
    expect(f.address).toMatchObject({ count: 4, missing: 1, nulls: 1, types: { null: 1, object: 3 } });
    expect(f['address.city']).toMatchObject({ count: 3, missing: 2, nulls: 1 });
    expect(f['address.zip']).toMatchObject({ count: 2, missing: 3, formats: { numeric_string: 2 } });
    expect(f.tags.array).toEqual({ count: 3, min_length: 0, max_length: 2, mean_length: 4 / 3, item_types: { string: 4 } });
    expect(f.amount.types).toEqual({ null: 1, integer: 1, number: 2, string: 1 });
    expect(f.amount.numeric).toMatchObject({ count: 3, min: 3, max: 10.5, mean: 8, quantiles_exact: true });
    expect(f.amount.numeric_strings).toMatchObject({ count: 1, min: 12 });
    expect(f.seen.formats).toEqual({ iso_date: 3, us_or_eu_date: 1 });
    expect(f.name.length).toMatchObject({ min: 0, max: 4, count: 5 });
    expect(f.extra).toMatchObject({ count: 1, missing: 4 });
  });

  test('reports duplicates, duplicate keys, text issues and mixed types with example rows', () => {
    const r = profile({ key: 'id' }).result();
    expect(r.rows).toMatchObject({ total: 5, parsed: 5, duplicates: 1, duplicates_exact: true });
    expect(r.rows.duplicate_keys).toEqual({ field: 'id', rows: 2, keys: 2, missing: 0, exact: true, examples: [4, 5] });
    const issue = (kind: string, field: string | null) => r.issues.find((i) => i.kind === kind && i.field === field);
    expect(issue('duplicate_rows', null)).toMatchObject({ count: 1, examples: [5] });
    expect(issue('leading_trailing_whitespace', 'name')).toMatchObject({ count: 1, examples: [2] });
    expect(issue('mixed_types', 'amount')).toMatchObject({ detail: '3 number, 1 string', count: 1 });
  });

  test('U+FFFD in a row whose bytes were not UTF-8 is reported as invalid UTF-8 of that field', () => {
    const p = new Profiler();
    p.add({ s: 'caf\uFFFD' }, { row: 7, invalidUtf8: true });
    p.add({ s: 'x\uFFFD' }, { row: 8 });
    const r = p.result();
    expect(r.issues.map((i) => [i.kind, i.field, i.examples])).toEqual([
      ['invalid_utf8', 's', [7]],
      ['replacement_character', 's', [8]],
    ]);
  });

  test('two profilers over two halves merge into the profile of the whole', () => {
    const whole = profile().result();
    const a = new Profiler();
    const b = new Profiler();
    rows.forEach((r, i) => {
      (i < 2 ? a : b).add(r, { row: i + 1 });
    });
    a.merge(b);
    const merged = a.result();
    // Duplicates across the halves are not seen by a merge (each part counts its own): that one figure differs.
    const round = (x: unknown) => JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === 'number' ? +v.toPrecision(12) : v)));
    expect(round({ ...merged, rows: { ...merged.rows, duplicates: 0, duplicates_exact: true }, issues: [] })).toEqual(
      round({ ...whole, rows: { ...whole.rows, duplicates: 0 }, issues: [] }),
    );
  });

  test('a row that is not an object is profiled as the field $', () => {
    const p = new Profiler();
    p.add(42, { row: 1 });
    p.add('x', { row: 2 });
    const r = p.result();
    expect(r.fields[0]).toMatchObject({ name: '$', types: { integer: 1, string: 1 } });
    expect(r.issues.find((i) => i.kind === 'not_an_object')).toMatchObject({ count: 2, examples: [1, 2] });
  });
});
