import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { describeValidation, validatorCompiler } from './validation.js';

/** A small app with the server's validation: each route answers what it was given, or the 400's sentence. */
async function app() {
  const a = Fastify({ schemaErrorFormatter: describeValidation }).withTypeProvider<TypeBoxTypeProvider>();
  a.setValidatorCompiler(validatorCompiler);
  a.setErrorHandler((err, _req, reply) => reply.code(400).send({ detail: (err as Error).message }));
  a.post(
    '/decide',
    {
      schema: {
        body: Type.Object({
          name: Type.String(),
          note: Type.Optional(Type.String()),
          action: Type.Optional(Type.Union([Type.Literal('approve'), Type.Literal('reject')])),
          record: Type.Optional(Type.Object({ n: Type.Integer() })),
          ids: Type.Optional(Type.Array(Type.Integer(), { minItems: 1, maxItems: 3, 'x-expected': '1 to 3 case ids' })),
        }),
      },
    },
    async (req) => req.body,
  );
  a.get(
    '/report',
    {
      schema: {
        querystring: Type.Object({
          min_score: Type.Optional(Type.Number({ minimum: 0, 'x-expected': 'a number of points, 0 or more' })),
          windows: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 48 })),
        }),
      },
    },
    async (req) => req.query,
  );
  return a;
}

describe('request validation', () => {
  it('names the body field and what was expected, and takes a body as sent (no coercion)', async () => {
    const a = await app();
    const detail = async (payload: unknown) =>
      (
        await a.inject({
          method: 'POST',
          url: '/decide',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        })
      ).json().detail;
    expect(await detail([1, 2])).toBe('send one JSON object');
    expect(await detail({ note: 'x' })).toBe('"name" is required');
    expect(await detail({ name: 'a', note: 5 })).toBe('"note" must be a string');
    expect(await detail({ name: 'a', action: 'maybe' })).toBe('"action" must be one of approve, reject');
    expect(await detail({ name: 'a', record: { n: '5' } })).toBe('"record.n" must be a whole number');
    expect(await detail({ name: 'a', ids: [] })).toBe('"ids" must list 1 to 3 case ids');
    expect(await detail({ name: 'a', ids: [1, 'x'] })).toBe('"ids[1]" must be a whole number');
    const ok = await a.inject({ method: 'POST', url: '/decide', payload: { name: 'a', ids: [1, 2] } });
    expect(ok.json()).toEqual({ name: 'a', ids: [1, 2] });
  });

  it('reads the query as the declared types with their defaults, and says what was sent when it is wrong', async () => {
    const a = await app();
    expect((await a.inject('/report?min_score=lots')).json().detail).toBe('min_score must be a number of points, 0 or more, got "lots"');
    expect((await a.inject('/report?min_score=-1')).json().detail).toBe('min_score must be a number of points, 0 or more, got "-1"');
    expect((await a.inject('/report?windows=0')).json().detail).toBe('windows must be 1 or more, got "0"');
    expect((await a.inject('/report?windows=2.5')).json().detail).toBe('windows must be a whole number, got "2.5"');
    expect((await a.inject('/report?min_score=7.5')).json()).toEqual({ min_score: 7.5, windows: 48 });
  });
});
