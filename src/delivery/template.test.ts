import { describe, expect, it } from 'vitest';
import { checkTemplate } from '../config/template.js';
import { fieldAt, renderTemplate, TemplateMissingPath } from './template.js';

const ctx = {
  record: { subject: 'Printer on fire', priority: 3, customer: { id: 42, tags: ['vip', 'eu'] }, empty: null },
  decision: { label: 'urgent', source: 'auto', at: '2026-01-01T00:00:00.000Z', confidence: 0.97 },
  meta: { pipeline: 'tickets', record_id: 't-1', destination: 'helpdesk', idempotency_key: 'airlock-abc' },
};

describe('body templates', () => {
  it('keeps the type of a value when the string is exactly one placeholder', () => {
    const body = renderTemplate(
      { n: '{{record.priority}}', c: '{{ record.customer }}', conf: '{{decision.confidence}}', nil: '{{record.empty}}' },
      ctx,
    );
    expect(body).toEqual({ n: 3, c: { id: 42, tags: ['vip', 'eu'] }, conf: 0.97, nil: null });
  });

  it('interpolates strings, with non-strings as JSON, through arrays and nested objects', () => {
    const body = renderTemplate(
      {
        ticket: { subject: '[{{decision.label}}] {{record.subject}}', tags: ['{{record.customer.tags.0}}', 'p{{record.priority}}'] },
        ref: '{{meta.pipeline}}/{{meta.record_id}}',
        ids: 'customer={{record.customer}}',
        fixed: true,
      },
      ctx,
    );
    expect(body).toEqual({
      ticket: { subject: '[urgent] Printer on fire', tags: ['vip', 'p3'] },
      ref: 'tickets/t-1',
      ids: 'customer={"id":42,"tags":["vip","eu"]}',
      fixed: true,
    });
  });

  it('refuses a path the record lacks, naming it', () => {
    expect(() => renderTemplate({ a: '{{record.missing}}' }, ctx)).toThrow(TemplateMissingPath);
    expect(() => renderTemplate({ a: 'x {{record.customer.tags.5}}' }, ctx)).toThrow(/record\.customer\.tags\.5/);
    expect(() => renderTemplate('{{record.subject.length}}', ctx)).toThrow(TemplateMissingPath);
  });

  it('never reads a prototype or runs code', () => {
    // Inherited properties are not there for a template: toString, constructor, __proto__ all count as absent.
    expect(() => renderTemplate('{{record.toString}}', ctx)).toThrow(TemplateMissingPath);
    expect(() => renderTemplate('{{record.__proto__}}', ctx)).toThrow(TemplateMissingPath);
    expect(() => renderTemplate('{{record.subject.constructor}}', ctx)).toThrow(TemplateMissingPath);
    // An expression is not evaluated: it is not a path at all.
    expect(checkTemplate({ a: '{{record.priority + 1}}' })[0].message).toMatch(/not a field name/);
    // A key named __proto__ stays a plain key of the body.
    const out = renderTemplate(JSON.parse('{"__proto__": {"polluted": "{{record.subject}}"}}'), ctx) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('finds at config time the paths that cannot exist', () => {
    const contract = {
      type: 'object',
      additionalProperties: false,
      required: ['subject'],
      properties: { subject: { type: 'string' }, customer: { type: 'object', properties: { id: { type: 'integer' } } } },
    };
    const problems = checkTemplate(
      {
        ok: '{{record.subject}} {{record.customer.id}} {{decision.label}} {{meta.idempotency_key}}',
        nested: { list: ['{{record.sujet}}'] },
        scalar: '{{record.subject.first}}',
        root: '{{body.subject}}',
        decision: '{{decision.labels}}',
        meta: '{{meta.secret}}',
        proto: '{{record.constructor}}',
      },
      contract,
    );
    expect(problems.map((p) => [p.at.join('.'), p.message])).toEqual([
      ['nested.list.0', "{{record.sujet}}: the pipeline's contract has no sujet"],
      ['scalar', "{{record.subject.first}}: the pipeline's contract has no subject.first"],
      ['root', '{{body.subject}} must start with record., decision. or meta.'],
      ['decision', '{{decision.labels}}: a decision has label, source, at, case_id, by, confidence, raw_confidence, routing_version'],
      ['meta', '{{meta.secret}}: meta has pipeline, record_id, destination, idempotency_key'],
      ['proto', '{{record.constructor}}: "constructor" is not allowed in a template path'],
    ]);
    // Without a contract nothing about the record can be known beforehand.
    expect(checkTemplate({ a: '{{record.anything.at.all}}' })).toEqual([]);
  });

  it('reads ordering keys from own properties only', () => {
    expect(fieldAt(ctx.record, 'customer.id')).toBe(42);
    expect(fieldAt(ctx.record, 'customer.nope')).toBeUndefined();
    expect(fieldAt(ctx.record, 'constructor')).toBeUndefined();
  });
});
