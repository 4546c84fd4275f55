import { describe, expect, test } from 'vitest';
import { type ContractChange, describeChange, diffContracts, isBreaking } from './diff.js';
import { inferSchema } from './infer.js';

const base = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['id', 'plan'],
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    plan: { type: 'string', enum: ['free', 'pro'] },
    seats: { type: 'integer', minimum: 1, maximum: 100 },
    email: { type: 'string', format: 'email' },
    address: {
      type: 'object',
      required: ['country'],
      additionalProperties: false,
      properties: { country: { type: 'string', maxLength: 2 }, zip: { type: ['string', 'null'] } },
    },
    items: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' } }, additionalProperties: false } },
  },
};

// biome-ignore lint/suspicious/noExplicitAny: test fixtures are edited freely
type Mutable = Record<string, any>;
/** A deep copy of the base contract, changed by `edit`. */
function changed(edit: (s: Mutable) => void): Mutable {
  const s = structuredClone(base) as Mutable;
  edit(s);
  return s;
}

const brief = (changes: ContractChange[]) => changes.map((c) => [c.path, c.change, c.breaking_for]);

describe('diffContracts', () => {
  test('the same contract has no changes; annotations are not changes', () => {
    expect(diffContracts(base, structuredClone(base))).toEqual([]);
    expect(
      diffContracts(
        base,
        changed((s) => (s.properties.id.description = 'the ticket id')),
      ),
    ).toEqual([]);
  });

  test('a new optional field breaks consumers only', () => {
    const d = diffContracts(
      base,
      changed((s) => (s.properties.note = { type: 'string' })),
    );
    expect(brief(d)).toEqual([['note', 'field_added', ['consumers']]]);
    expect(d[0].from).toBeNull();
    expect(d[0].to).toEqual({ type: 'string' });
  });

  test('a new required field: added (consumers) and required (producers)', () => {
    const d = diffContracts(
      base,
      changed((s) => {
        s.properties.note = { type: 'string' };
        s.required.push('note');
      }),
    );
    expect(brief(d)).toEqual([
      ['note', 'field_added', ['consumers']],
      ['note', 'became_required', ['producers']],
    ]);
  });

  test('a field no longer required breaks consumers; becoming required breaks producers', () => {
    expect(
      brief(
        diffContracts(
          base,
          changed((s) => (s.required = ['id'])),
        ),
      ),
    ).toEqual([['plan', 'no_longer_required', ['consumers']]]);
    expect(
      brief(
        diffContracts(
          base,
          changed((s) => s.required.push('seats')),
        ),
      ),
    ).toEqual([['seats', 'became_required', ['producers']]]);
  });

  test('a field removed from a closed object breaks producers (records carrying it are rejected)', () => {
    expect(
      brief(
        diffContracts(
          base,
          changed((s) => delete s.properties.email),
        ),
      ),
    ).toEqual([['email', 'field_removed', ['producers']]]);
  });

  test('types: narrowed, widened, changed; integer is inside number', () => {
    expect(
      brief(
        diffContracts(
          base,
          changed((s) => (s.properties.address.properties.zip.type = 'string')),
        ),
      ),
    ).toEqual([['address.zip', 'type_narrowed', ['producers']]]);
    expect(
      brief(
        diffContracts(
          base,
          changed((s) => (s.properties.id.type = ['string', 'null'])),
        ),
      ),
    ).toEqual([['id', 'type_widened', ['consumers']]]);
    expect(
      brief(
        diffContracts(
          base,
          changed((s) => (s.properties.id.type = 'integer')),
        ),
      ),
    ).toEqual([['id', 'type_changed', ['producers', 'consumers']]]);
    expect(
      brief(
        diffContracts(
          base,
          changed((s) => (s.properties.seats.type = 'number')),
        ),
      ),
    ).toEqual([['seats', 'type_widened', ['consumers']]]);
    const numeric = changed((s) => (s.properties.seats.type = 'number'));
    expect(
      diffContracts(
        numeric,
        changed((s) => (s.properties.seats.type = ['integer', 'number'])),
      ),
    ).toEqual([]);
    expect(
      brief(
        diffContracts(
          base,
          changed((s) => delete s.properties.id.type),
        ),
      ),
    ).toEqual([['id', 'type_widened', ['consumers']]]);
  });

  test('enum values removed break producers, added break consumers; both at once are two changes', () => {
    const d = diffContracts(
      base,
      changed((s) => (s.properties.plan.enum = ['pro', 'enterprise'])),
    );
    expect(brief(d)).toEqual([
      ['plan', 'enum_values_removed', ['producers']],
      ['plan', 'enum_values_added', ['consumers']],
    ]);
    expect(d[0].values).toEqual(['free']);
    expect(d[1].values).toEqual(['enterprise']);
    expect(describeChange(d[0])).toBe('value no longer allowed: "free"');
    expect(
      brief(
        diffContracts(
          base,
          changed((s) => delete s.properties.plan.enum),
        ),
      ),
    ).toEqual([['plan', 'enum_removed', ['consumers']]]);
    expect(
      brief(
        diffContracts(
          base,
          changed((s) => (s.properties.id.const = 'x')),
        ),
      ),
    ).toEqual([['id', 'enum_added', ['producers']]]);
  });

  test('closing an object breaks producers; opening it breaks consumers', () => {
    const open = changed((s) => delete s.additionalProperties);
    expect(brief(diffContracts(open, base))).toEqual([['', 'additional_properties_closed', ['producers']]]);
    expect(brief(diffContracts(base, open))).toEqual([['', 'additional_properties_opened', ['consumers']]]);
  });

  test('format added breaks producers, removed breaks consumers, changed both', () => {
    expect(
      brief(
        diffContracts(
          base,
          changed((s) => (s.properties.id.format = 'uuid')),
        ),
      ),
    ).toEqual([['id', 'format_added', ['producers']]]);
    expect(
      brief(
        diffContracts(
          base,
          changed((s) => delete s.properties.email.format),
        ),
      ),
    ).toEqual([['email', 'format_removed', ['consumers']]]);
    expect(
      brief(
        diffContracts(
          base,
          changed((s) => (s.properties.email.format = 'uri')),
        ),
      ),
    ).toEqual([['email', 'format_changed', ['producers', 'consumers']]]);
  });

  test('bounds: tightened breaks producers, widened or dropped breaks consumers', () => {
    const d = diffContracts(
      base,
      changed((s) => {
        s.properties.seats.minimum = 2; // tighter
        s.properties.seats.maximum = 1000; // wider
        s.properties.address.properties.country.minLength = 2; // new bound: tighter
        delete s.properties.address.properties.country.maxLength; // gone: wider
      }),
    );
    expect(d.map((c) => [c.path, c.change, c.keyword, c.from, c.to, c.breaking_for])).toEqual([
      ['seats', 'bound_tightened', 'minimum', 1, 2, ['producers']],
      ['seats', 'bound_widened', 'maximum', 100, 1000, ['consumers']],
      ['address.country', 'bound_tightened', 'minLength', null, 2, ['producers']],
      ['address.country', 'bound_widened', 'maxLength', 2, null, ['consumers']],
    ]);
  });

  test('changes inside array items are found under field[]', () => {
    const d = diffContracts(
      base,
      changed((s) => {
        s.properties.items.items.properties.sku.type = 'integer';
        s.properties.items.items.properties.qty = { type: 'integer' };
      }),
    );
    expect(brief(d)).toEqual([
      ['items[].sku', 'type_changed', ['producers', 'consumers']],
      ['items[].qty', 'field_added', ['consumers']],
    ]);
  });

  test('a keyword it does not model (pattern) may break both', () => {
    expect(
      brief(
        diffContracts(
          base,
          changed((s) => (s.properties.id.pattern = '^T-')),
        ),
      ),
    ).toEqual([['id', 'keyword_changed', ['producers', 'consumers']]]);
  });

  test('a property added to an open object without constraints breaks nobody', () => {
    const open = changed((s) => delete s.additionalProperties);
    const d = diffContracts(
      open,
      changed((s) => {
        delete s.additionalProperties;
        s.properties.note = {};
      }),
    );
    expect(brief(d)).toEqual([['note', 'field_added', []]]);
    expect(isBreaking(d)).toBe(false);
  });

  test('isBreaking per party', () => {
    const d = diffContracts(
      base,
      changed((s) => (s.properties.note = { type: 'string' })),
    );
    expect(isBreaking(d)).toBe(true);
    expect(isBreaking(d, 'consumers')).toBe(true);
    expect(isBreaking(d, 'producers')).toBe(false);
  });

  test('between two inferred contracts: a new genre and a dropped column', () => {
    const genres = ['Drama', 'Comedy', 'Action'];
    const before = inferSchema(Array.from({ length: 60 }, (_, i) => ({ title: `t${i}`, genre: genres[i % 3], budget: i })));
    const after = inferSchema(Array.from({ length: 80 }, (_, i) => ({ title: `t${i}`, genre: [...genres, 'Western'][i % 4] })));
    expect(brief(diffContracts(before, after))).toEqual([
      ['genre', 'enum_values_added', ['consumers']],
      ['budget', 'field_removed', ['producers']],
      ['budget', 'no_longer_required', ['consumers']],
    ]);
  });
});
