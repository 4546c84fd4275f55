import { describe, expect, test } from 'vitest';
import { evolveContract } from './evolve.js';
import { compileContract } from './gate.js';

const ticket = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['id', 'subject', 'customer_email'],
  additionalProperties: false,
  properties: {
    id: { type: 'string' },
    subject: { type: 'string', maxLength: 20 },
    customer_email: { type: 'string', format: 'email' },
    plan: { enum: ['free', 'pro'] },
    seats: { type: 'integer', minimum: 1 },
    address: { type: 'object', required: ['country'], additionalProperties: false, properties: { country: { type: 'string' } } },
  },
};

describe('evolveContract', () => {
  test('a renamed field: the new name is added with its type and the old one stops being required', () => {
    const renamed = { id: 'T-1', subject: 'Refund', customer_email_address: 'ana@example.com' };
    const out = evolveContract(ticket, [renamed]);
    expect(out.stillRejected).toBe(0);
    expect(out.changes.sort()).toEqual(['added field customer_email_address (string)', 'customer_email is no longer required']);
    const next = compileContract(out.schema);
    expect(next.validate(renamed)).toEqual([]);
    // Still closed: another unknown field is rejected, and the old record shape still passes.
    expect(next.validate({ ...renamed, other: 1 })[0].kind).toBe('unknown_field');
    expect(next.validate({ id: 'T-2', subject: 'x', customer_email: 'b@example.com' })).toEqual([]);
  });

  test('a flipped type widens the type; a new enum value joins the enum; a broken bound and format are dropped', () => {
    const rec = { id: 'T-1', subject: 'A subject far longer than twenty', customer_email: 'not-an-email', plan: 'enterprise', seats: '3' };
    const out = evolveContract(ticket, [rec]);
    expect(out.stillRejected).toBe(0);
    const props = (out.schema as { properties: Record<string, Record<string, unknown>> }).properties;
    expect(props.seats.type).toEqual(['integer', 'string']);
    expect(props.plan.enum).toEqual(['free', 'pro', 'enterprise']);
    expect(props.subject.maxLength).toBeUndefined();
    expect(props.customer_email.format).toBeUndefined();
    // A value the records never showed is still refused.
    expect(compileContract(out.schema).validate({ ...rec, plan: 'gold' })[0].kind).toBe('new_enum_value');
  });

  test('nested fields are relaxed at their own level', () => {
    const rec = { id: 'T-1', subject: 's', customer_email: 'a@example.com', address: { country_code: 'DE' } };
    const out = evolveContract(ticket, [rec]);
    expect(out.stillRejected).toBe(0);
    const address = (out.schema as { properties: { address: { required: string[]; properties: object } } }).properties.address;
    expect(address.required).toEqual([]);
    expect(Object.keys(address.properties)).toEqual(['country', 'country_code']);
  });

  test('the original schema is not modified', () => {
    const before = JSON.stringify(ticket);
    evolveContract(ticket, [{ id: 1 }]);
    expect(JSON.stringify(ticket)).toBe(before);
  });
});
