// Hostile input at the ingest API: property-based (fast-check), every case sent over real HTTP to an in-process
// server on loopback, on SQLite and PostgreSQL. The server runs in this process so that prototype pollution would be
// visible here. Time budget: 90 s on 2 loaded cores (about 30 s per backend, 5 s in process, on a busy machine).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { AirlockError } from '../../src/errors.js';
import { nestingBeyond, OverLimitLine, overLimit, UnparseableLine } from '../../src/pipeline/ingest.js';
import { createLogger } from '../../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../../src/server/app.js';
import { parseJsonBody, parseNdjsonBody } from '../../src/server/body.js';
import { backends, createTestDatabase, type TestDatabase } from '../support/databases.js';
import type { Json } from '../support/json.js';

/** Fixed, so a failure replays; printed with the counts at the end of each backend's run. */
const SEED = 1_110_2024;
const STATES = ['received', 'scoring', 'decided', 'halted', 'quarantined', 'in_review', 'delivered', 'dead_lettered', 'discarded'];
const BODY_LIMIT = 64 * 1024;
const LIMITS = { max_records: 200, max_depth: 64, max_fields: 300, max_string_length: 20_000 };

const contract = {
  type: 'object',
  required: ['text'],
  properties: { text: { type: 'string' }, n: { type: 'number' } },
};

/** Keys a hostile client likes: prototype setters, look-alikes, empty and odd ones. */
const hostileKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf', '', 'id', 'text', '__defineGetter__'),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
);

/** JSON text of an object whose keys may be hostile or repeated (JSON.stringify could not write `__proto__` keys). */
const hostileObjectText: fc.Arbitrary<string> = fc.letrec<{ value: string; object: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.stringify(v)),
    fc.constantFrom(
      '1e400',
      '-1e400',
      '-0',
      '12345678901234567890123',
      '0.1e-400',
      '9007199254740993',
      '"\\ud800"',
      '"\\udfff x"',
      '"\\u0000"',
    ),
    tie('object'),
    fc.array(tie('value'), { maxLength: 3 }).map((xs) => `[${xs.join(',')}]`),
  ),
  object: fc
    .array(fc.tuple(hostileKey, tie('value')), { maxLength: 6 })
    .map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
})).object;

/** Valid UTF-8 JSON text with bytes spliced in that are not UTF-8: lone continuation bytes, overlong forms, encoded surrogates. */
const BAD_BYTES = [[0x80], [0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];

describe.each(backends)('hostile input at the ingest API on %s', (backend) => {
  let db: TestDatabase;
  let server: AirlockServer;
  let base: string;
  const prototypeKeys = {
    object: Object.getOwnPropertyNames(Object.prototype).sort(),
    array: Object.getOwnPropertyNames(Array.prototype).sort(),
    func: Object.getOwnPropertyNames(Function.prototype).sort(),
  };
  const tally = { requests: 0, accepted: 0, refused4xx: 0, quarantined: 0, fetchedBack: 0 };

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    const dir = mkdtempSync(path.join(tmpdir(), 'airlock-hostile-'));
    writeFileSync(path.join(dir, 'schema.json'), JSON.stringify(contract));
    const file = path.join(dir, 'airlock.yaml');
    writeFileSync(
      file,
      stringify({
        database: db.url,
        server: { port: 0, body_limit: `${BODY_LIMIT / 1024}kb`, auth: 'off', limits: LIMITS },
        logging: { level: 'silent' },
        pipelines: {
          p: {
            contract: './schema.json',
            // Quarantine everything the contract refuses, so no halt changes the state of later cases.
            gate: {
              policies: {
                unknown_field: 'quarantine',
                type_mismatch: 'quarantine',
                new_enum_value: 'quarantine',
                missing_required: 'quarantine',
                unparseable: 'quarantine',
              },
            },
            // role api: no worker calls it; records stay where ingest put them.
            model: { type: 'http', url: 'http://127.0.0.1:9/never-called' },
          },
        },
      }),
    );
    const config = parseConfig(readText(file), { file });
    server = await createServer(config, { role: 'api', logger: createLogger('silent') });
    base = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
    console.log(`[hostile ingest ${backend}] seed ${SEED}: ${JSON.stringify(tally)}`);
  });

  const send = (body: string | Uint8Array, contentType: string | null = 'application/json') =>
    fetch(`${base}/v1/pipelines/p/records`, {
      method: 'POST',
      headers: contentType === null ? {} : { 'content-type': contentType },
      body,
    });

  /**
   * The properties every answer must have: never 5xx; a 4xx is problem+json whose detail says what was wrong; a 2xx
   * lists records that can each be fetched back, in a known state, with the body as sent (`expectBodies`).
   */
  async function check(
    res: Response,
    what: string,
    expectBodies?: (index: number) => string | undefined,
  ): Promise<{
    status: number;
    detail?: string;
    refused?: { index: number; code: string; message: string }[];
    records?: { index: number; id: string; status: string; existing: boolean }[];
  }> {
    tally.requests++;
    const text = await res.text();
    expect(res.status, `${what} → ${res.status} ${text.slice(0, 300)}`).toBeLessThan(500);
    if (res.status >= 400) {
      tally.refused4xx++;
      expect(res.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
      const p = JSON.parse(text);
      expect(p.status).toBe(res.status);
      expect(typeof p.detail, what).toBe('string');
      expect(p.detail.length, what).toBeGreaterThan(10);
      expect(p.detail, what).not.toMatch(/\n\s+at /);
      for (const r of p.refused ?? []) expect(r.message, what).toMatch(/item \d+|line \d+|record \S+/);
      return { status: res.status, detail: p.detail, refused: p.refused };
    }
    expect([202, 207], what).toContain(res.status);
    const body = JSON.parse(text);
    for (const r of body.refused) expect(r.message, what).toMatch(/item \d+|line \d+|record \S+/);
    for (const r of body.records) {
      tally.accepted++;
      const got = await fetch(`${base}/v1/pipelines/p/records/${encodeURIComponent(r.id)}`);
      expect(got.status, `${what}: record ${r.id} acknowledged but not found`).toBe(200);
      const view: Json = await got.json();
      tally.fetchedBack++;
      expect(STATES, what).toContain(view.status);
      if (view.status === 'quarantined') tally.quarantined++;
      const sent = expectBodies?.(r.index);
      if (sent !== undefined)
        expect(JSON.stringify(view.record), `${what}: record ${r.id} stored as sent`).toBe(JSON.stringify(JSON.parse(sent)));
    }
    return { status: res.status, refused: body.refused, records: body.records };
  }

  function expectNoPollution(): void {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys.object);
    expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(prototypeKeys.array);
    expect(Object.getOwnPropertyNames(Function.prototype).sort()).toEqual(prototypeKeys.func);
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  }

  async function healthy(): Promise<void> {
    const r = await fetch(`${base}/healthz`);
    expect(r.status).toBe(200);
  }

  it('answers any JSON value with a 2xx it can back up or a clear 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (v) => {
        const text = JSON.stringify(v);
        const items = Array.isArray(v) ? v.map((x) => JSON.stringify(x)) : [text];
        const out = await check(await send(text), text.slice(0, 200), (i) => items[i]);
        // An object is a record (new, or the existing one with that id); anything else is refused by index.
        if (!Array.isArray(v) && (v === null || typeof v !== 'object')) {
          expect(out.status).toBe(400);
          expect(out.detail).toMatch(/item 0 is (null|a \w+|an array), not a JSON object/);
        }
      }),
      { numRuns: 120, seed: SEED },
    );
    await healthy();
  });

  it('keeps __proto__, constructor and prototype keys as data, never as prototype setters', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostileObjectText, { minLength: 1, maxLength: 4 }), async (objects) => {
        const body = `[${objects.join(',')}]`;
        // Duplicate keys: JSON.parse keeps the last, and so does the stored record.
        await check(await send(body), body.slice(0, 200), (i) => objects[i]);
        expectNoPollution();
      }),
      { numRuns: 100, seed: SEED },
    );
    // The classic payloads, as one record each.
    for (const payload of [
      '{"__proto__":{"polluted":"yes"},"text":"a"}',
      '{"constructor":{"prototype":{"polluted":"yes"}},"text":"b"}',
      '{"text":"c","__proto__":{"__proto__":{"polluted":"yes"}},"a":{"__proto__":[1]}}',
    ]) {
      const out = await check(await send(payload), payload, () => payload);
      expect(out.status).toBe(202);
    }
    expectNoPollution();
    await healthy();
  });

  it('refuses records nested past the depth limit, naming where, and stores those at the limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 400 }),
        fc.boolean(),
        fc.constantFrom('json', 'array', 'ndjson'),
        async (depth, arrays, shape) => {
          // A record (level 1) holding `depth - 1` more levels of arrays or objects.
          const inner = arrays
            ? `${'['.repeat(depth - 1)}1${']'.repeat(depth - 1)}`
            : `${'{"a":'.repeat(depth - 1)}1${'}'.repeat(depth - 1)}`;
          const record = depth === 1 ? '{"text":"x"}' : `{"text":"x","deep":${inner}}`;
          // `deep` adds the record's own level: the record nests `depth` levels when depth ≥ 2.
          const body = shape === 'json' ? record : shape === 'array' ? `[${record}]` : `{"text":"first"}\n${record}\n`;
          const out = await check(
            await send(body, shape === 'ndjson' ? 'application/x-ndjson' : 'application/json'),
            `${shape} depth ${depth}`,
          );
          if (depth <= LIMITS.max_depth) {
            expect(out.status, `${shape} depth ${depth}`).toBe(202);
          } else if (shape === 'ndjson') {
            // The good line is stored; the deep one is refused by its line.
            expect(out.status).toBe(207);
            expect(out.refused?.[0].message).toMatch(/^line 2: nests deeper than 64 levels at column \d+ \(server\.limits\.max_depth\)/);
          } else {
            expect(out.status).toBe(400);
            expect(out.detail).toMatch(/nests deeper than .*64 levels.* at line 1, column \d+|is nested \d+ levels deep/);
          }
        },
      ),
      { numRuns: 80, seed: SEED },
    );
    // A million levels within the body limit: refused at once, and the server keeps answering.
    const started = performance.now();
    const bomb = await check(await send('['.repeat(BODY_LIMIT - 10)), 'a body of [ only');
    expect(bomb.status).toBe(400);
    expect(performance.now() - started).toBeLessThan(2000);
    await healthy();
  });

  it('refuses records with too many fields or too long strings, and bodies past the size and count limits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: LIMITS.max_fields - 5, max: LIMITS.max_fields + 5 }),
        fc.integer({ min: LIMITS.max_string_length - 5, max: LIMITS.max_string_length + 5 }),
        fc.boolean(),
        async (fields, length, nested) => {
          // `fields` fields in all: flat, or all but two of them one level down.
          const obj: Record<string, unknown> = { text: 'x' };
          if (nested) {
            const more: Record<string, unknown> = {};
            obj.more = more;
            for (let i = 0; i < fields - 2; i++) more[`f${i}`] = i;
          } else for (let i = 0; i < fields - 1; i++) obj[`f${i}`] = i;
          const total = fields;
          const manyFields = JSON.stringify(obj);
          const out1 = await check(await send(manyFields), `${total} fields`, () => manyFields);
          if (total <= LIMITS.max_fields) expect(out1.status).toBe(202);
          else {
            expect(out1.status).toBe(400);
            expect(out1.detail).toMatch(/more than 300 fields .*server\.limits\.max_fields/);
          }
          const long = JSON.stringify({ text: 'y'.repeat(length), n: length });
          const out2 = await check(await send(long), `string of ${length}`, () => long);
          if (length <= LIMITS.max_string_length) expect(out2.status).toBe(202);
          else expect(out2.detail).toMatch(/the string at \/text is \d+ characters long; at most 20000 .*max_string_length/);
        },
      ),
      { numRuns: 40, seed: SEED },
    );
    // Near and past the body limit: under it stored, over it 413 naming the setting.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: BODY_LIMIT - 64, max: BODY_LIMIT + 64 }), async (size) => {
        const fill = (n: number) =>
          Array.from({ length: Math.ceil(n / 10_000) }, (_, i) => `"s${i}":"${'z'.repeat(Math.min(10_000, n - i * 10_000))}"`);
        const body = `{"text":"x",${fill(size).join(',')}}`;
        const bytes = Buffer.byteLength(body);
        const out = await check(await send(body), `${bytes} bytes`);
        if (bytes > BODY_LIMIT) {
          expect(out.status).toBe(413);
          expect(out.detail).toMatch(/server\.body_limit/);
        } else expect(out.status).toBe(202);
      }),
      { numRuns: 20, seed: SEED },
    );
    const tooMany = `[${Array.from({ length: LIMITS.max_records + 1 }, () => '{}').join(',')}]`;
    const many = await check(await send(tooMany), 'too many records');
    expect(many.status).toBe(413);
    expect(many.detail).toMatch(/holds 201 records; at most 200 .*server\.limits\.max_records/);
    await healthy();
  });

  it('answers bodies that are not UTF-8 with the byte that is wrong, and keeps such NDJSON lines as quarantined', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ text: fc.string({ maxLength: 20 }) }), { minLength: 1, maxLength: 5 }),
        fc.nat(),
        fc.constantFrom(...BAD_BYTES),
        fc.boolean(),
        async (records, at, bad, ndjson) => {
          const lines = records.map((r) => JSON.stringify(r));
          const target = at % lines.length;
          // Splice the bad bytes inside the string value of one line.
          const enc = lines.map((l) => Buffer.from(l, 'utf8'));
          const t = enc[target];
          enc[target] = Buffer.concat([t.subarray(0, 9), Buffer.from(bad), t.subarray(9)]);
          const body = ndjson
            ? Buffer.concat(enc.flatMap((b) => [b, Buffer.from('\n')]))
            : Buffer.concat([Buffer.from('['), ...enc.flatMap((b, i) => (i ? [Buffer.from(','), b] : [b])), Buffer.from(']')]);
          const out = await check(
            await send(body, ndjson ? 'application/x-ndjson' : 'application/json'),
            `bad bytes ${bad} ${ndjson ? 'ndjson' : 'json'}`,
            (i) => (i === target ? undefined : lines[i]),
          );
          if (!ndjson) {
            expect(out.status).toBe(400);
            expect(out.detail).toMatch(/^body is not valid UTF-8: invalid byte 0x[0-9a-f]{2} at line 1, byte \d+ \(offset \d+\)$/);
          } else {
            // Every line is answered: the good ones as sent, the bad one quarantined as unparseable (nothing dropped).
            expect(out.records?.length).toBe(lines.length);
            const badRecord = out.records?.find((r) => r.index === target);
            expect(badRecord?.status).toBe('quarantined');
            const view: Json = await (await fetch(`${base}/v1/pipelines/p/records/${encodeURIComponent(badRecord?.id as string)}`)).json();
            const line = badRecord?.existing ? '\\d+' : String(target + 1);
            expect(JSON.stringify(view.violations)).toMatch(new RegExp(`line ${line}: not valid UTF-8`));
          }
        },
      ),
      { numRuns: 80, seed: SEED },
    );
    // Random bytes of any kind: never a 5xx.
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom('application/json', 'application/x-ndjson'),
        async (bytes, type) => {
          await check(await send(bytes, type), `random bytes as ${type}`);
        },
      ),
      { numRuns: 120, seed: SEED },
    );
    await healthy();
  });

  it('stores lone surrogates and odd numbers as JSON says, and refuses ids no database can keep', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          '1e400',
          '-0',
          '12345678901234567890123',
          '1e-400',
          '-1e400',
          '0.30000000000000004',
          '"\\ud83d"',
          '"\\ude00\\ud83d"',
          '"a\\u0000b"',
        ),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }),
        async (value, idText) => {
          const body = `{"text":"t","n":${value},"id":${JSON.stringify(idText)}}`;
          const out = await check(await send(body), body, () => body);
          const badId = hasControl(idText) || !isWellFormed(idText);
          if (value.includes('e400') && !value.includes('-400')) {
            expect(out.status).toBe(400);
            expect(out.detail).toMatch(/item 0: the number at \/n is beyond the range of a 64-bit float/);
          } else if (badId) {
            expect(out.status).toBe(400);
            expect(out.detail).toMatch(/item 0: id has a (lone UTF-16 surrogate|control character) at character \d+/);
          } else expect([202, 409]).toContain(out.status);
        },
      ),
      { numRuns: 120, seed: SEED },
    );
    // A lone surrogate or NUL in the id: refused by name, not a database error.
    for (const id of ['\\ud800', 'a\\u0000b', 'x\\udfff']) {
      const out = await check(await send(`{"text":"t","id":"${id}"}`), id);
      expect(out.status).toBe(400);
      expect(out.detail).toMatch(/id has a (lone UTF-16 surrogate|control character) at character \d+/);
    }
    await healthy();
  });

  it('keeps the good lines of an NDJSON body with broken ones, and quarantines each broken line by number', async () => {
    const line = fc.oneof(
      fc.record({ text: fc.string({ maxLength: 10 }) }).map((r) => ({ good: true, text: JSON.stringify(r) })),
      fc
        .oneof(
          fc.constantFrom('{"text":', '{"text":"a"', '{"text":"a",}', "{'text':'a'}", 'nul', '}{', '{"a":1}}', '[1,2', '"unterminated'),
          fc.string({ maxLength: 20 }).filter((s) => !/[\r\n]/.test(s) && s.trim() !== '' && !isJson(s)),
        )
        .map((t) => ({ good: false, text: t })),
      fc.constantFrom('', '   ', '\r').map((t) => ({ good: null as boolean | null, text: t })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 12 }), fc.boolean(), async (lines, crlf) => {
        const body = lines.map((l) => l.text).join(crlf ? '\r\n' : '\n');
        const items = lines.map((l, i) => ({ ...l, line: i + 1 })).filter((l) => l.text.trim() !== '');
        const out = await check(await send(body, 'application/x-ndjson'), JSON.stringify(body), (i) =>
          items[i]?.good ? items[i].text : undefined,
        );
        if (items.length === 0) {
          expect(out.status).toBe(400);
          expect(out.detail).toBe('the body holds no records');
          return;
        }
        expect(out.records?.length).toBe(items.length);
        for (const r of out.records ?? []) {
          const item = items[r.index];
          if (item.good) continue;
          expect(r.status).toBe('quarantined');
          const view: Json = await (await fetch(`${base}/v1/pipelines/p/records/${encodeURIComponent(r.id)}`)).json();
          expect(view.record).toBe(item.text);
          // The line of the first time this text was sent (its id comes from its text).
          const line = r.existing ? '\\d+' : String(item.line);
          expect(JSON.stringify(view.violations)).toMatch(new RegExp(`line ${line}: not valid JSON: [a-z ]+ at column \\d+`));
        }
      }),
      { numRuns: 80, seed: SEED },
    );
    await healthy();
  });

  it('answers content types that lie', async () => {
    const cases: { body: string; type: string | null; status: number; detail: RegExp }[] = [
      { body: '{"text":"a"}\n{"text":"b"}', type: 'application/json', status: 400, detail: /not valid JSON: .* at line 2, column 1/ },
      { body: '{"text":"a"}', type: 'text/plain', status: 415, detail: /send application\/json/ },
      { body: '{"text":"a"}', type: 'application/x-www-form-urlencoded', status: 415, detail: /send application\/json/ },
      { body: 'text=a', type: 'application/json', status: 400, detail: /not valid JSON: .* at line 1, column 1/ },
      { body: '[{"text":"a"}]', type: 'application/x-ndjson', status: 400, detail: /item 0 is an array, not a JSON object/ },
      { body: '<xml/>', type: 'application/xml', status: 415, detail: /send application\/json/ },
      { body: '', type: 'application/json', status: 400, detail: /empty|not valid JSON|send the records/ },
      { body: '{"text":"a"}', type: null, status: 415, detail: /send application\/json/ },
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...cases), fc.constantFrom('', '; charset=utf-8', '; boundary=x'), async (c, param) => {
        const out = await check(await send(c.body, c.type === null ? null : `${c.type}${param}`), `${c.type}${param}: ${c.body}`);
        expect(out.status, `${c.type}${param}`).toBe(c.status);
        expect(out.detail).toMatch(c.detail);
      }),
      { numRuns: 40, seed: SEED },
    );
    await healthy();
  });

  it('keeps __proto__ as data through the quarantine edit-and-release path', async () => {
    const id = `q-${backend}`;
    // Missing `text`: quarantined.
    const first = await check(await send(`{"id":"${id}","__proto__":{"polluted":"yes"}}`), 'quarantine me');
    expect(first.records?.[0].status).toBe('quarantined');
    const edited = `{"by":"ops","record":{"id":"${id}","text":"fixed","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}}`;
    const res = await fetch(`${base}/v1/pipelines/p/quarantine/${id}/release`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: edited,
    });
    expect(res.status).toBe(200);
    const view: Json = await (await fetch(`${base}/v1/pipelines/p/records/${id}`)).json();
    expect(view.status).toBe('received');
    // The field is kept as a field: own property, with the value sent.
    expect(Object.hasOwn(view.record, '__proto__')).toBe(true);
    expect(JSON.stringify(view.record)).toBe(JSON.stringify(JSON.parse(edited).record));
    expectNoPollution();
  });
});

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

function isJson(s: string): boolean {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

function isWellFormed(s: string): boolean {
  return Buffer.from(s, 'utf8').toString('utf8') === s;
}

function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20 || s.charCodeAt(i) === 0x7f) return true;
  return false;
}

/** Nesting of a parsed value, counted as the limit counts it (a scalar is level 0, an object or array level 1). */
function depthOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + children.reduce((m: number, c) => Math.max(m, depthOf(c)), 0);
}

// The body parsers in process, with many more cases than HTTP allows in the time budget (same properties).
describe('the ingest body parsers, in process', () => {
  const limits = { maxRecords: 200, maxDepth: 8, maxFields: 50, maxStringLength: 100 };

  it('answer any text sent as JSON with its value or a 400 that says where', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 60 }),
          hostileObjectText,
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (text) => {
          try {
            const parsed = parseJsonBody(Buffer.from(text, 'utf8'), limits.maxDepth);
            expect(JSON.stringify(parsed)).toBe(JSON.stringify(JSON.parse(text.replace(/^\uFEFF/, ''))));
          } catch (err) {
            expect(err).toBeInstanceOf(AirlockError);
            expect((err as AirlockError).code).toBe('BAD_REQUEST');
            expect((err as Error).message).toMatch(/at line \d+, column \d+|^body is not valid UTF-8/);
          }
        },
      ),
      { numRuns: 2000, seed: SEED },
    );
  });

  it('turn every non-blank NDJSON line into one item, in order, with its line number when it is broken', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 20 }),
            hostileObjectText,
            fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString('latin1')),
          ),
          { maxLength: 8 },
        ),
        (lines) => {
          const clean = lines.map((l) => l.replace(/[\r\n]/g, ' '));
          const items = parseNdjsonBody(Buffer.from(clean.join('\n'), 'utf8'), limits.maxDepth);
          const expected = clean.map((l, i) => ({ l, line: i + 1 })).filter((x) => x.l.trim() !== '');
          expect(items.length).toBe(expected.length);
          items.forEach((item, i) => {
            if (item instanceof UnparseableLine || item instanceof OverLimitLine) expect(item.line).toBe(expected[i].line);
            else expect(JSON.stringify(item)).toBe(JSON.stringify(JSON.parse(expected[i].l)));
          });
        },
      ),
      { numRuns: 2000, seed: SEED },
    );
  });

  it('measure nesting as the parsed value has it, and check every limit without throwing', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.integer({ min: 1, max: 12 }), (v, max) => {
        const text = JSON.stringify(v);
        expect(nestingBeyond(text, max) === undefined).toBe(depthOf(v) <= max);
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
          const over = overLimit(v, { ...limits, maxDepth: max });
          if (depthOf(v) > max) expect(over).toMatch(/nested \d+ levels deep|more than 50 fields|characters long/);
        }
      }),
      { numRuns: 2000, seed: SEED },
    );
  });
});
