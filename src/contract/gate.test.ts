import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { canonicalJson, compileContract } from './gate.js';

const ticketSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['id', 'subject', 'customer_email'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', minLength: 1 },
    subject: { type: 'string', maxLength: 20 },
    customer_email: { type: 'string', format: 'email' },
    plan: { enum: ['free', 'pro', 'enterprise'] },
    created_at: { type: 'string', format: 'date-time' },
    seats: { type: 'integer', minimum: 1 },
    tags: { type: 'array', items: { type: 'string' } },
    address: {
      type: 'object',
      required: ['country'],
      properties: { country: { type: 'string', pattern: '^[A-Z]{2}$' } },
    },
  },
};

const good = { id: 'T-1', subject: 'Refund', customer_email: 'ana@example.com', plan: 'pro', created_at: '2026-11-01T09:00:00Z' };

describe('compileContract', () => {
  const contract = compileContract(ticketSchema);

  test('a record that keeps the contract has no violations', () => {
    expect(contract.validate(good)).toEqual([]);
    expect(contract.validate({ ...good, seats: 3, tags: ['a'], address: { country: 'DE' } })).toEqual([]);
  });

  test('a missing required field is reported at the path of the missing field', () => {
    const { customer_email: _, ...rest } = good;
    expect(contract.validate(rest)).toEqual([
      { kind: 'missing_required', path: '/customer_email', field: 'customer_email', message: 'is required', keyword: 'required' },
    ]);
  });

  test('a missing nested field is reported at its full path', () => {
    expect(contract.validate({ ...good, address: {} })).toEqual([
      { kind: 'missing_required', path: '/address/country', field: 'address.country', message: 'is required', keyword: 'required' },
    ]);
  });

  test('a value of the wrong type', () => {
    expect(contract.validate({ ...good, subject: 42 })).toEqual([
      { kind: 'type_mismatch', path: '/subject', field: 'subject', message: 'must be string', keyword: 'type' },
    ]);
    expect(contract.validate({ ...good, seats: 1.5 })).toEqual([
      { kind: 'type_mismatch', path: '/seats', field: 'seats', message: 'must be integer', keyword: 'type' },
    ]);
  });

  test('an array item is addressed by its index', () => {
    expect(contract.validate({ ...good, tags: ['ok', 7] })).toEqual([
      { kind: 'type_mismatch', path: '/tags/1', field: 'tags[]', message: 'must be string', keyword: 'type' },
    ]);
  });

  test('a value outside the enum lists the allowed values', () => {
    expect(contract.validate({ ...good, plan: 'gold' })).toEqual([
      { kind: 'new_enum_value', path: '/plan', field: 'plan', message: 'must be one of "free", "pro", "enterprise"', keyword: 'enum' },
    ]);
  });

  test.each(['not-an-email', 'ana@', '@example.com', 'ana example.com'])('email format: %j is a violation', (email) => {
    expect(contract.validate({ ...good, customer_email: email })).toEqual([
      {
        kind: 'format_mismatch',
        path: '/customer_email',
        field: 'customer_email',
        message: 'must match format "email"',
        keyword: 'format',
      },
    ]);
  });

  test.each(['yesterday', '2026-11-01', '2026-11-01 09:00', '2026-13-01T09:00:00Z', '2026-11-01T25:00:00Z'])(
    'date-time format: %j is a violation',
    (value) => {
      expect(contract.validate({ ...good, created_at: value })).toEqual([
        { kind: 'format_mismatch', path: '/created_at', field: 'created_at', message: 'must match format "date-time"', keyword: 'format' },
      ]);
    },
  );

  test.each(['2026-11-01T09:00:00Z', '2026-11-01T09:00:00.123+02:00'])('date-time format: %j is fine', (value) => {
    expect(contract.validate({ ...good, created_at: value })).toEqual([]);
  });

  test('a field the contract does not allow is reported at its own path', () => {
    expect(contract.validate({ ...good, internal_note: 'x' })).toEqual([
      {
        kind: 'unknown_field',
        path: '/internal_note',
        field: 'internal_note',
        message: 'is not allowed by the contract',
        keyword: 'additionalProperties',
      },
    ]);
  });

  test('field names with / and ~ are escaped as JSON Pointer says (RFC 6901)', () => {
    const c = compileContract({
      type: 'object',
      required: ['a/b', 'c~d'],
      additionalProperties: false,
      properties: { 'a/b': {}, 'c~d': {} },
    });
    expect(c.validate({ 'x/y~z': 1 }).map((v) => v.path)).toEqual(['/a~1b', '/c~0d', '/x~1y~0z']);
  });

  test('every violation of one record is reported, not only the first', () => {
    const violations = contract.validate({ subject: 5, customer_email: 'nope', plan: 'gold', extra: true });
    expect(violations.map((v) => [v.path, v.keyword]).sort()).toEqual(
      [
        ['/id', 'required'],
        ['/subject', 'type'],
        ['/customer_email', 'format'],
        ['/plan', 'enum'],
        ['/extra', 'additionalProperties'],
      ].sort(),
    );
  });

  test('a record that is not an object is one violation of the whole record', () => {
    for (const record of [null, [], 'text', 42]) {
      const violations = contract.validate(record);
      expect(violations).toHaveLength(1);
      expect(violations[0]).toMatchObject({ keyword: 'type', message: 'must be object' });
    }
  });

  test('an invalid schema is refused with a message naming the problem', () => {
    expect(() => compileContract({ type: 'strang' })).toThrow(/^not a valid JSON Schema: /);
    expect(() => compileContract({ properties: { n: { minimum: 'one' } } })).toThrow(/^not a valid JSON Schema: .*minimum/);
    expect(() => compileContract({ $ref: '#/$defs/missing' })).toThrow(/^not a valid JSON Schema: .*#\/\$defs\/missing/);
  });
});

describe('canonicalJson', () => {
  test('is independent of key order, at every depth', () => {
    const a = { b: 1, a: { y: [1, { q: 1, p: 2 }], x: null } };
    const b = { a: { x: null, y: [1, { p: 2, q: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"x":null,"y":[1,{"p":2,"q":1}]},"b":1}');
  });

  test('keeps array order (it is meaningful)', () => {
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
  });

  test('leaves out undefined properties as JSON.stringify does', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(canonicalJson([undefined])).toBe(JSON.stringify([undefined]));
  });

  test('scalars are plain JSON', () => {
    expect(canonicalJson('x"y')).toBe('"x\\"y"');
    expect(canonicalJson(1.5)).toBe('1.5');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(true)).toBe('true');
  });
});

describe('the contract hash', () => {
  test('is the sha256 of the canonical JSON of the schema', () => {
    const schema = { type: 'object', required: ['id'] };
    expect(compileContract(schema).hash).toBe(createHash('sha256').update('{"required":["id"],"type":"object"}').digest('hex'));
  });

  test('is stable: the same schema written in another key order hashes the same', () => {
    const reordered = Object.fromEntries(Object.entries(ticketSchema).reverse());
    expect(compileContract(reordered).hash).toBe(compileContract(ticketSchema).hash);
    expect(compileContract(structuredClone(ticketSchema)).hash).toBe(compileContract(ticketSchema).hash);
  });

  test('changes when the contract changes', () => {
    const looser = { ...ticketSchema, required: ['id', 'subject'] };
    expect(compileContract(looser).hash).not.toBe(compileContract(ticketSchema).hash);
  });
});
