// Hostile files for every CLI command that reads one: config (YAML), samples (audit), predictions (calibrate),
// contracts (contract check) and records (ingest, to a running server). The bulk of the cases runs in process against
// the readers with fast-check; a few dozen run the built CLI (`npx tsc -p tsconfig.build.json` first) to check what a
// person sees: exit code, the file, line and problem on stderr, and no stack trace.
// Time budget: 90 s on 2 loaded cores (about 30 CLI runs, three at a time; 8 s in process).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readRecords } from '../../src/cli/read-records.js';
import { readSample, sniffSample } from '../../src/cli/read-sample.js';
import { parseConfig } from '../../src/config/load.js';
import { AirlockError, ConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../../src/server/app.js';
import { runAirlock } from '../support/cli.js';

const SEED = 1_110_2024;
const dir = mkdtempSync(path.join(tmpdir(), 'airlock-hostile-files-'));
let fileNo = 0;
const write = (name: string, content: string | Uint8Array): string => {
  const file = path.join(dir, `${fileNo++}-${name}`);
  writeFileSync(file, content);
  return file;
};
const STACK_FRAME = /\n\s+at .+\(?.*:\d+:\d+\)?/;
const tally = { inProcess: 0, spawned: 0 };

/** Lines of a record file with damage a producer really makes. */
const damagedLine = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc
    .jsonValue({ maxDepth: 2 })
    .map((v) => JSON.stringify(v))
    .chain((t) => fc.nat(t.length).map((n) => t.slice(0, n))),
  fc.constantFrom('{"a":1,}', "{'a':1}", '{"a":1}}', '[1,2', '"open', 'NaN', '{"__proto__":{"x":1}}', '\uFEFF{"a":1}', '{"a":"\\ud800"}'),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const NOT_UTF8 = [Buffer.from([0xff]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xe2, 0x82])];

/** A file's lines as bytes, some with bytes spliced in that are not UTF-8. */
const damagedFile = fc
  .array(
    fc.tuple(
      damagedLine.map((l) => l.replace(/[\r\n]/g, ' ')),
      fc.option(fc.constantFrom(...NOT_UTF8), { freq: 4 }),
    ),
    { maxLength: 8 },
  )
  .map((lines) => ({
    lines,
    bytes: Buffer.concat(lines.flatMap(([l, bad]) => [Buffer.from(l, 'utf8'), bad ?? Buffer.alloc(0), Buffer.from('\n')])),
  }));

describe('the file readers, in process', () => {
  it('read every line of a damaged JSONL file: its value, or an error naming the problem, never a throw', async () => {
    await fc.assert(
      fc.asyncProperty(damagedFile, fc.boolean(), async ({ lines, bytes }, gz) => {
        tally.inProcess++;
        const file = write(gz ? 'r.jsonl.gz' : 'r.jsonl', gz ? gzipSync(bytes) : bytes);
        const items = [];
        for await (const item of readRecords(file, 'jsonl')) items.push(item);
        const nonBlank = lines
          .map(([l, bad], i) => ({ l, bad, line: i + 1 }))
          .filter((x) => x.bad || x.l.replace(/^\uFEFF/, '').trim() !== '');
        expect(items.map((i) => i.line)).toEqual(nonBlank.map((x) => x.line));
        items.forEach((item, i) => {
          const src = nonBlank[i];
          if (src.bad) expect('error' in item && item.error).toMatch(/^not valid UTF-8 \(invalid byte 0x[0-9a-f]{2} at byte \d+\)$/);
          else if ('error' in item) expect(item.error).toMatch(/^not valid JSON: [a-z ]+ at column \d+$/);
          else expect(JSON.stringify(item.value)).toBe(JSON.stringify(JSON.parse(src.l.replace(/^\uFEFF/, ''))));
        });
      }),
      { numRuns: 400, seed: SEED },
    );
  });

  it('read ragged, oddly quoted CSV row by row: each row its fields or its error, the rows around it kept', async () => {
    const cell = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom('"q"', '"a,b"', '"x"y', '""', '"open', 'a"b', '"multi\nline"', '__proto__'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(cell, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        async (rows, eol, bom) => {
          tally.inProcess++;
          const header = ['id', '__proto__', 'constructor'];
          const text = `${bom ? '\uFEFF' : ''}${[header, ...rows].map((r) => r.join(',')).join(eol)}${eol}`;
          const file = write('r.csv', text);
          const physical = text.split(/\r?\n/).length;
          for await (const item of readRecords(file, 'csv')) {
            expect(item.line).toBeGreaterThanOrEqual(2);
            expect(item.line).toBeLessThanOrEqual(physical);
            if ('error' in item)
              expect(item.error).toMatch(
                /^CSV: (expected 3 fields \(as the header\), got \d+|a quoted field opened on line \d+ is never closed)/,
              );
            else {
              // Every column is a field of its own: `__proto__` and `constructor` too.
              expect(Object.keys(item.value as object)).toEqual(header);
              expect(Object.getPrototypeOf(item.value)).toBe(Object.prototype);
            }
          }
        },
      ),
      { numRuns: 400, seed: SEED },
    );
  });

  it('say which file, line and byte when a JSON file is broken, not UTF-8 or not gzip', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc
            .jsonValue({ maxDepth: 3 })
            .map((v) => JSON.stringify(v, null, 1))
            .chain((t) => fc.nat(Math.max(0, t.length - 1)).map((n) => t.slice(0, n))),
          fc.string({ unit: 'binary', maxLength: 30 }),
        ),
        fc.constantFrom('plain', 'badbyte', 'fakegz'),
        async (text, how) => {
          tally.inProcess++;
          const bytes =
            how === 'badbyte'
              ? Buffer.concat([Buffer.from(`{"a":"${text.length}`), Buffer.from([0xff]), Buffer.from('"}')])
              : Buffer.from(text);
          const file = write(
            how === 'fakegz' ? 'r.json.gz' : 'r.json',
            how === 'fakegz' ? Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), bytes]) : bytes,
          );
          try {
            for await (const _ of readRecords(file, 'json')) {
              /* read it all */
            }
            expect(how).toBe('plain');
          } catch (err) {
            expect(err).toBeInstanceOf(AirlockError);
            const m = (err as Error).message;
            expect(m.startsWith(file)).toBe(true);
            if (how === 'fakegz') expect(m).toMatch(/is not a valid gzip file: /);
            else if (how === 'badbyte') expect(m).toMatch(/is not valid UTF-8: invalid byte at line 1, byte \d+$/);
            else expect(m).toMatch(/is not valid JSON: [a-z ]+ at line \d+, column \d+ \(offset \d+\)$/);
          }
        },
      ),
      { numRuns: 400, seed: SEED },
    );
  });

  it('profile any bytes as a sample: rows or row errors with their numbers, or one error naming the file', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom('s.jsonl', 's.csv', 's.json', 's.tsv', 's.jsonl.gz'),
        async (bytes, name) => {
          tally.inProcess++;
          const file = write(name, bytes);
          const sink = { addRowIssue() {}, addLineEnding() {} };
          try {
            const info = sniffSample(file);
            for await (const row of readSample(file, info, sink)) {
              expect(row.row).toBeGreaterThanOrEqual(1);
              if ('error' in row) expect(row.error.length).toBeGreaterThan(5);
            }
          } catch (err) {
            expect(err).toBeInstanceOf(AirlockError);
            expect((err as Error).message).toContain(file);
          }
        },
      ),
      { numRuns: 400, seed: SEED },
    );
  });

  it('answer any config text with a config or problems that each name the file and, where there is one, the line', () => {
    const yamlish = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => stringify(v)),
      fc.constantFrom(
        'server:\n\tport: 1\n',
        'server: {port: 1}\nserver: {port: 2}\n',
        'a: &a [1,2,3,4,5,6,7,8,9]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
        '__proto__:\n  polluted: yes\n',
        'pipelines:\n  __proto__:\n    model: {type: http, url: "http://x"}\n',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a config that names an unset environment variable
        'server: {port: "${NOPE}"}\n',
        '- 1\n- 2\n',
        'server: [1\n',
        '"unterminated\n',
        'server: {body_limit: lots}\n',
      ),
    );
    fc.assert(
      fc.property(yamlish, (text) => {
        tally.inProcess++;
        try {
          parseConfig(text, { file: path.join(dir, 'airlock.yaml'), env: {} });
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          const e = err as ConfigError;
          expect(e.problems.length).toBeGreaterThan(0);
          for (const line of e.message.split('\n')) expect(line).toMatch(/airlock\.yaml(:\d+)?: \S/);
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 1500, seed: SEED },
    );
  });
});

describe('the CLI on hostile files', () => {
  let server: AirlockServer;
  let base: string;

  beforeAll(async () => {
    const config = parseConfig(
      stringify({
        database: `sqlite:${path.join(dir, 'ingest.db')}`,
        server: { port: 0, auth: 'off' },
        logging: { level: 'silent' },
        pipelines: { p: { model: { type: 'http', url: 'http://127.0.0.1:9/never-called' } } },
      }),
      { dir },
    );
    server = await createServer(config, { role: 'api', logger: createLogger('silent') });
    base = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    console.log(`[hostile files] seed ${SEED}: ${JSON.stringify(tally)}`);
  });

  /** Runs the CLI; stderr must carry no stack trace whatever the exit code. */
  const run = async (args: string[]) => {
    tally.spawned++;
    const r = await runAirlock(args, { cwd: dir, env: { AIRLOCK_URL: base } });
    expect(r.stderr, `airlock ${args.join(' ')}`).not.toMatch(STACK_FRAME);
    expect(r.stdout, `airlock ${args.join(' ')}`).not.toMatch(STACK_FRAME);
    return r;
  };

  /** Runs the cases three at a time (each spawns a CLI process). */
  const inParallel = async <T>(cases: T[], each: (c: T) => Promise<void>) => {
    for (let i = 0; i < cases.length; i += 3) await Promise.all(cases.slice(i, i + 3).map(each));
  };

  it('config check: exit 2 naming the file, the line and the problem', async () => {
    const cases: [string, string | Buffer, RegExp][] = [
      ['tabs.yaml', 'server:\n\tport: 1\n', /tabs\.yaml:2: not valid YAML: Tabs are not allowed/],
      ['dup.yaml', 'server: {port: 1}\nserver: {port: 2}\n', /dup\.yaml:2: not valid YAML: Map keys must be unique/],
      [
        'bomb.yaml',
        'a: &a [1,2,3,4,5,6,7,8,9]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n',
        /bomb\.yaml: not valid YAML: Excessive alias count/,
      ],
      ['proto.yaml', '__proto__:\n  polluted: yes\n', /proto\.yaml:2: __proto__: is not a known setting here/],
      ['empty.yaml', '', /empty\.yaml: the file is empty/],
      ['garbage.yaml', Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x0a, 0x3a, 0x3a, 0x5b]), /garbage\.yaml(:\d+)?: /],
      ['truncated.yaml', 'server: {port: 80\n', /truncated\.yaml:\d+: not valid YAML/],
    ];
    await inParallel(cases, async ([name, content, expected]) => {
      const file = write(name, content);
      const r = await run(['config', 'check', file]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(expected);
    });
  });

  it('calibrate and contract check: exit 2 for a file that cannot be read, naming the file and where', async () => {
    const contract = write('ok.schema.json', JSON.stringify({ type: 'object', properties: { a: { type: 'integer' } } }));
    const predictions: [string, string | Buffer, RegExp][] = [
      [
        'trunc.jsonl',
        '{"label":"a","probs":{"a":0.9,"b":0.1}}\n{"label":\n',
        /trunc\.jsonl has 1 unusable row\(s\):\n {2}row 2: not valid JSON: [a-z ]+ at column \d+/,
      ],
      ['bytes.jsonl', Buffer.from([0x7b, 0xff, 0x7d, 0x0a]), /bytes\.jsonl has 1 unusable row\(s\):\n {2}row 1: not valid UTF-8/],
      ['trunc.json', '[\n{"label":"a",\n', /trunc\.json is not valid JSON: [a-z ]+ at line 3, column \d+/],
      ['fake.jsonl.gz', Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]), /fake\.jsonl\.gz is not a valid gzip file/],
    ];
    await inParallel(predictions, async ([name, content, expected]) => {
      const r = await run(['calibrate', write(name, content)]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(expected);
    });
    const contracts: [string, string | Buffer, RegExp][] = [
      ['trunc.schema.json', '{"type":"object",\n', /trunc\.schema\.json is not valid JSON: [a-z ]+ at line 2, column \d+/],
      ['array.schema.json', '[]', /array\.schema\.json is not a JSON Schema \(expected an object\)/],
      ['bad.schema.json', '{"type":"nonsense"}', /bad\.schema\.json: not a valid JSON Schema/],
      ['binary.schema.json', Buffer.from([0x00, 0x01, 0xff, 0x80]), /binary\.schema\.json is not valid (JSON|UTF-8)/],
    ];
    const data = write('data.jsonl', '{"a":1}\n');
    await inParallel(contracts, async ([name, content, expected]) => {
      const r = await run(['contract', 'check', write(name, content), data]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(expected);
    });
    // Damaged data: each bad row listed by number, exit 1 (the check found problems), no row lost from the count.
    const r = await run(['contract', 'check', '--json', contract, write('mixed.csv', 'a,b\n1,2\n3\n"x"y,4\n5,6\n"open,7\n')]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.rows).toBe(5);
    expect(out.violations.filter((v: { kind: string }) => v.kind === 'unparseable').map((v: { row: number }) => v.row)).toEqual([3, 6]);
    const gz = await run(['contract', 'check', contract, write('fake.csv.gz', Buffer.from([0x1f, 0x8b, 8, 0, 9]))]);
    expect(gz.code).toBe(2);
    expect(gz.stderr).toMatch(/fake\.csv\.gz is not a valid gzip file/);
  });

  it('audit: reports each broken row by file and line, and refuses what it cannot read with exit 2', async () => {
    const broken = write('broken.jsonl', Buffer.concat([Buffer.from('{"a":1}\n{"a":\n{"a":"'), Buffer.from([0xff]), Buffer.from('"}\n')]));
    const r = await run(['audit', broken]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/broken\.jsonl:2: not valid JSON: [a-z ]+ at column \d+/);
    expect((await run(['audit', broken, '--fail-on', 'unparseable'])).code).toBe(1);
    await inParallel(
      [
        ['empty.jsonl', '', /empty\.jsonl holds no rows/],
        ['utf16.csv', Buffer.from([0xff, 0xfe, 0x61, 0x00]), /utf16\.csv is UTF-16/],
        [
          'fake.csv.gz',
          Buffer.from([0x1f, 0x8b, 8, 0, 1]),
          /fake\.csv\.gz (starts like gzip but cannot be decompressed|is not a valid gzip file)/,
        ],
      ] as [string, string | Buffer, RegExp][],
      async ([name, content, expected]) => {
        const a = await run(['audit', write(name, content)]);
        expect(a.code, `${name}: ${a.stderr}`).toBe(2);
        expect(a.stderr).toMatch(expected);
      },
    );
  });

  it('ingest: sends the good rows, refuses each bad one by line, and never sends a row it altered', async () => {
    const file = write(
      'mixed.jsonl',
      Buffer.concat([
        Buffer.from('{"id":"ok-1","text":"a"}\n{"id":"ok-2",\n'),
        Buffer.from('{"id":"bad-utf8","text":"'),
        Buffer.from([0xc0, 0xaf]),
        Buffer.from('"}\n\uFEFF\n{"id":"ok-3","__proto__":{"x":1}}\n[1]\n'),
      ]),
    );
    const r = await run(['ingest', file, '-p', 'p', '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.accepted).toBe(2);
    expect(out.refused.map((x: { line: number }) => x.line)).toEqual([2, 3, 6]);
    expect(out.refused[0].reason).toMatch(/not valid JSON: [a-z ]+ at column \d+/);
    expect(out.refused[1].reason).toMatch(/not valid UTF-8/);
    expect(out.refused[2].reason).toMatch(/not a JSON object/);
    expect((await fetch(`${base}/v1/pipelines/p/records/bad-utf8`)).status).toBe(404);
    const stored = (await (await fetch(`${base}/v1/pipelines/p/records/ok-3`)).json()) as { record: object };
    expect(Object.hasOwn(stored.record, '__proto__')).toBe(true);

    const csv = await run(['ingest', write('ragged.csv', 'id,text\nc-1,a\nc-2\n"c-3,b\n'), '-p', 'p', '--json']);
    expect(csv.code).toBe(1);
    const c = JSON.parse(csv.stdout);
    expect(c.accepted).toBe(1);
    expect(c.refused.map((x: { line: number; reason: string }) => `${x.line}: ${x.reason}`)).toEqual([
      '3: CSV: expected 2 fields (as the header), got 1',
      '4: CSV: a quoted field opened on line 4 is never closed',
    ]);
    await inParallel(
      [
        ['fake.jsonl.gz', Buffer.from([0x1f, 0x8b, 8, 0, 7]), /fake\.jsonl\.gz is not a valid gzip file/],
        ['trunc.json', '[{"id":1},', /trunc\.json is not valid JSON: [a-z ]+ at line 1, column \d+/],
        ['nothing.txt', 'x', /cannot tell the format of .*nothing\.txt/],
      ] as [string, string | Buffer, RegExp][],
      async ([name, content, expected]) => {
        const x = await run(['ingest', write(name, content), '-p', 'p']);
        expect(x.code, `${name}: ${x.stderr}`).toBe(2);
        expect(x.stderr).toMatch(expected);
      },
    );
  });
});
