import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { compileContract } from './gate.js';
import { Inferrer, inferSchema, type JsonSchema } from './infer.js';

const props = (s: JsonSchema) => s.properties as Record<string, JsonSchema>;
const repeat = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

describe('types', () => {
  test('integer and number are told apart; a field with both is a number', () => {
    const s = inferSchema([
      { a: 1, b: 1.5, c: 2 },
      { a: 2, b: 3, c: 2.25 },
    ]);
    expect(props(s).a.type).toBe('integer');
    expect(props(s).b.type).toBe('number');
    expect(props(s).c.type).toBe('number');
  });

  test('a field that is sometimes null gets a type array with null', () => {
    const s = inferSchema([{ a: 'x' }, { a: null }, { a: 'y' }]);
    expect(props(s).a.type).toEqual(['string', 'null']);
  });

  test('messy fields keep every type they had', () => {
    const s = inferSchema([{ t: 'Heat' }, { t: 1776 }, { t: null }, { t: true }]);
    expect(props(s).t.type).toEqual(['string', 'integer', 'boolean', 'null']);
  });

  test('nested objects are closed and have their own required fields', () => {
    const s = inferSchema([{ address: { country: 'DE', zip: '10115' } }, { address: { country: 'FR' } }]);
    const address = props(s).address;
    expect(address.type).toBe('object');
    expect(address.additionalProperties).toBe(false);
    expect(address.required).toEqual(['country']);
    expect(props(address).zip).toEqual({ type: 'string' });
  });

  test('arrays get the schema of all their items; an always-empty array leaves items open', () => {
    const s = inferSchema([
      {
        items: [
          { sku: 'A', qty: 1 },
          { sku: 'B', qty: 2.5 },
        ],
        tags: [],
      },
      { items: [], tags: [] },
    ]);
    const items = props(s).items;
    expect(items.type).toBe('array');
    expect(items.items).toEqual({
      type: 'object',
      properties: { sku: { type: 'string' }, qty: { type: 'number' } },
      required: ['sku', 'qty'],
      additionalProperties: false,
    });
    expect(props(s).tags).toEqual({ type: 'array' });
  });

  test('a key named __proto__ is kept (as a pattern, since ajv ignores it in properties), not made a prototype', () => {
    const s = inferSchema([JSON.parse('{"__proto__": "x", "a": 1}')]);
    expect(Object.keys(props(s))).toEqual(['a']);
    expect(s.patternProperties).toEqual({ '^__proto__$': { type: 'string' } });
    expect(compileContract(s).validate(JSON.parse('{"__proto__": "y", "a": 2}'))).toEqual([]);
    expect(compileContract(s).validate(JSON.parse('{"__proto__": 3, "a": 2}'))).toHaveLength(1);
  });
});

describe('required', () => {
  const rows = (present: number, total: number) => repeat(total, (i) => (i < present ? { id: i, note: 'n' } : { id: i }));

  test('a field in every row is required; an occasional one is not', () => {
    const s = inferSchema(rows(50, 100));
    expect(s.required).toEqual(['id']);
  });

  test('a field missing from fewer than 1% of rows is still required by default, and the summary says so', () => {
    const inferrer = new Inferrer();
    for (const r of rows(995, 1000)) inferrer.add(r);
    expect(inferrer.schema().required).toEqual(['id', 'note']);
    expect(inferrer.summary().sometimes_missing).toEqual([{ field: 'note', missing: 5 }]);
    expect(inferrer.schema({ requiredThreshold: 1 }).required).toEqual(['id']);
  });

  test('the threshold must be a share', () => {
    expect(() => new Inferrer().schema({ requiredThreshold: 0 })).toThrow(RangeError);
    expect(() => new Inferrer().schema({ requiredThreshold: 1.5 })).toThrow(RangeError);
  });
});

describe('enums', () => {
  const plans = ['free', 'pro', 'enterprise'];

  test('a string with few values, each seen often, in a large enough sample becomes an enum (most frequent first)', () => {
    const s = inferSchema(repeat(60, (i) => ({ plan: plans[i % 3 === 0 ? 0 : i % 3 === 1 ? 1 : i % 2 === 0 ? 0 : 2] })));
    expect(props(s).plan.enum).toEqual(['free', 'pro', 'enterprise']);
  });

  test('a nullable enum allows null', () => {
    const s = inferSchema(repeat(80, (i) => ({ plan: i % 4 === 3 ? null : plans[i % 3] })));
    expect(props(s).plan.enum).toContain(null);
    expect(compileContract(s).validate({ plan: null })).toEqual([]);
  });

  test('no enum from a small sample', () => {
    expect(props(inferSchema(repeat(49, (i) => ({ plan: plans[i % 3] })))).plan.enum).toBeUndefined();
  });

  test('no enum when one value is rare (the list is probably open)', () => {
    const rows = repeat(100, (i) => ({ plan: plans[i % 3] }));
    rows[7] = { plan: 'legacy' };
    expect(props(inferSchema(rows)).plan.enum).toBeUndefined();
  });

  test('no enum for free text: long strings or many distinct values', () => {
    const long = 'a sentence long enough to be free text rather than a category label, clearly';
    expect(props(inferSchema(repeat(100, (i) => ({ t: i % 2 ? long : `${long}!` })))).t.enum).toBeUndefined();
    expect(props(inferSchema(repeat(100, (i) => ({ t: `v${i % 30}` })))).t.enum).toBeUndefined();
    // 30 values in 100 rows: too many for the default limit, and too rare (about 3 each) even when it is raised.
    expect(
      props(
        inferSchema(
          repeat(100, (i) => ({ t: `v${i % 30}` })),
          { enumMax: 30 },
        ),
      ).t.enum,
    ).toBeUndefined();
  });

  test('--enum-max raises or disables the limit', () => {
    const rows = repeat(300, (i) => ({ t: `v${i % 30}` }));
    expect((props(inferSchema(rows, { enumMax: 30 })).t.enum as string[]).length).toBe(30);
    expect(
      props(
        inferSchema(
          repeat(60, (i) => ({ plan: plans[i % 3] })),
          { enumMax: 0 },
        ),
      ).plan.enum,
    ).toBeUndefined();
  });

  test('no enum on a field that also holds numbers', () => {
    expect(props(inferSchema(repeat(60, (i) => ({ x: i === 0 ? 1 : plans[i % 3] })))).x.enum).toBeUndefined();
  });
});

describe('formats', () => {
  const cases: [string, string[]][] = [
    ['date-time', ['2024-01-31T09:00:00Z', '2024-02-01T10:30:00.123+01:00']],
    ['date', ['2024-01-31', '1999-12-01']],
    ['email', ['ana@example.com', 'b.c@mail.example.org']],
    ['uri', ['https://example.com/a?b=1', 'mailto:ana@example.com']],
    ['uuid', ['0f8fad5b-d9cb-469f-a165-70867728950e', '7c9e6679-7425-40de-944b-e07fc1f90ae7']],
  ];
  for (const [format, values] of cases) {
    test(`${format} when every value is one`, () => {
      expect(props(inferSchema(values.map((v) => ({ v })))).v.format).toBe(format);
    });
  }

  test('no format when one value disagrees (and null does not count)', () => {
    expect(props(inferSchema([{ v: '2024-01-31' }, { v: null }])).v.format).toBe('date');
    expect(props(inferSchema([{ v: '2024-01-31' }, { v: '31/01/2024' }])).v.format).toBeUndefined();
    expect(props(inferSchema([{ v: '2024-01-31' }, { v: '' }])).v.format).toBeUndefined();
  });

  test('an impossible date is not a date (the same validator as the gate)', () => {
    expect(props(inferSchema([{ v: '2024-02-30' }])).v.format).toBeUndefined();
  });
});

describe('bounds', () => {
  const rows = [
    { n: 3, s: 'ab', l: [1] },
    { n: -1.5, s: 'añ😀d', l: [1, 2, 3] },
  ];

  test('none unless asked', () => {
    const s = inferSchema(rows);
    expect(props(s).n).toEqual({ type: 'number' });
    expect(props(s).s).toEqual({ type: 'string' });
  });

  test('with bounds: min/max, lengths in code points as JSON Schema counts them, item counts', () => {
    const s = inferSchema(rows, { bounds: true });
    expect(props(s).n).toEqual({ type: 'number', minimum: -1.5, maximum: 3 });
    expect(props(s).s).toEqual({ type: 'string', minLength: 2, maxLength: 4 });
    expect(props(s).l).toMatchObject({ minItems: 1, maxItems: 3 });
    for (const r of rows) expect(compileContract(s).validate(r)).toEqual([]);
    expect(
      compileContract(s)
        .validate({ ...rows[0], n: 4 })
        .map((v) => v.kind),
    ).toEqual(['out_of_range']);
  });
});

describe('on real data: Vega movies.json', () => {
  const require = createRequire(import.meta.url);
  // The package exports only its code: find its data folder beside it.
  const file = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'movies.json');
  const movies = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
  const inferrer = new Inferrer();
  for (const m of movies) inferrer.add(m);
  const schema = inferrer.schema();
  const contract = compileContract(schema);

  test('the contract accepts every movie it was inferred from', () => {
    const rejected = movies.filter((m) => contract.validate(m).length > 0);
    expect(rejected).toEqual([]);
    expect(inferrer.summary().sometimes_missing).toEqual([]);
  });

  test('only the genre becomes an enum: ratings with a rare value and free-text titles do not', () => {
    expect(inferrer.summary().enums.map((e) => e.field)).toEqual(['Major Genre']);
    // Titles such as 1776 and 2012 were read as numbers: the contract keeps them.
    expect(props(schema).Title).toEqual({ type: ['string', 'integer', 'null'] });
    expect(props(schema)['IMDB Rating'].type).toEqual(['number', 'null']);
    expect(props(schema)['US Gross'].type).toEqual(['integer', 'null']);
  });

  test('it rejects a renamed field, a flipped type and a new genre', () => {
    const m = movies[0];
    const { Director, ...rest } = m;
    expect(contract.validate({ ...rest, director: Director }).map((v) => [v.kind, v.field])).toEqual([
      ['missing_required', 'Director'],
      ['unknown_field', 'director'],
    ]);
    expect(contract.validate({ ...m, 'IMDB Votes': '1071' }).map((v) => [v.kind, v.field])).toEqual([['type_mismatch', 'IMDB Votes']]);
    expect(contract.validate({ ...m, 'Major Genre': 'Space Opera' }).map((v) => [v.kind, v.field])).toEqual([
      ['new_enum_value', 'Major Genre'],
    ]);
  });
});
