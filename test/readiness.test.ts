import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { loadConfig } from '../src/config/load.js';
import { parseRate } from '../src/config/units.js';
import { startVendorSimulator, type VendorSimulator } from '../src/delivery/simulator.js';
import { createLogger } from '../src/runtime/logger.js';
import { createServer } from '../src/server/app.js';
import { type RunResult, runAirlock } from './support/cli.js';
import { type Backend, backends, createTestDatabase, type TestDatabase } from './support/databases.js';
import { ensureBuilt } from './support/serve.js';
import { type Receiver, startReceiver } from './support/servers.js';

/**
 * `airlock readiness` over evidence made by actually running the commands that make it (audit, calibrate, probe,
 * reference, loadtest against a running server and a vendor simulator, the test alert) on a real database: a pipeline
 * with every check satisfied, then each check broken in turn — the report names exactly the broken one.
 */

const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

// A model that is sure only of well-formed tickets ("billing ticket 12") and says 0.55 to anything else.
const MODEL = `export function predict(record) {
  const text = record && typeof record.text === 'string' ? record.text : '';
  const m = /^(billing|bug) ticket \\d{1,6}$/.exec(text);
  return m ? { label: m[1], confidence: 0.97 } : { label: 'billing', confidence: 0.55 };
}
`;
// The same model, except that it crashes on very long text (the probe's huge_string case finds it).
const CRASHY_MODEL = MODEL.replace('const m =', "if (text.length > 100000) throw new Error('out of memory');\n  const m =");

const CONTRACT = {
  type: 'object',
  required: ['id', 'text', 'channel'],
  additionalProperties: false,
  properties: { id: { type: 'string' }, text: { type: 'string' }, channel: { enum: ['email', 'chat'] } },
};

const sampleRecords = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `t${i}`,
    // One ticket with stray whitespace: an audit issue (triaged in the config) that the model is unsure of.
    text: i === 3 ? ` billing ticket ${i} ` : `${i % 2 ? 'billing' : 'bug'} ticket ${i}`,
    channel: i % 3 ? 'email' : 'chat',
  }));
const jsonl = (rows: unknown[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

/** Labelled predictions: `high` rows at 0.97 (97% right), `low` at 0.55 (55% right): calibrated by construction. */
function predictions(high: number, low: number, highConfidence = 0.97): string {
  const rows: unknown[] = [];
  const rightHigh = Math.round(high * 0.97);
  const rightLow = Math.round(low * 0.55);
  for (let i = 0; i < high; i++) rows.push({ label: i < rightHigh ? 'billing' : 'bug', predicted: 'billing', confidence: highConfidence });
  for (let i = 0; i < low; i++) rows.push({ label: i < rightLow ? 'bug' : 'billing', predicted: 'bug', confidence: 0.55 });
  // Interleave so any split sees both levels.
  const out: unknown[] = [];
  for (let i = 0; i < rows.length; i++) out.push(rows[(i * 7919) % rows.length]);
  return jsonl(out);
}

/**
 * Runs `airlock ARGS` in `cwd`, in this process, through the CLI's own entry point (the program bin/airlock runs),
 * capturing its output and exit code.
 */
let inProcess = Promise.resolve();
async function runInProcess(args: string[], cwd: string): Promise<RunResult> {
  // One at a time: stdout and the exit code are process-wide.
  const previous = inProcess;
  let release = () => {};
  inProcess = new Promise<void>((r) => (release = r));
  await previous;
  const out: string[] = [];
  const err: string[] = [];
  const write = { out: process.stdout.write, err: process.stderr.write };
  const exitCode = process.exitCode;
  const directory = process.cwd();
  process.stdout.write = ((chunk: string | Uint8Array) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => err.push(String(chunk)) > 0) as typeof process.stderr.write;
  process.exitCode = undefined;
  process.chdir(cwd);
  try {
    await main(['node', 'airlock', ...args]);
    return { code: Number(process.exitCode ?? 0), stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    process.exitCode = exitCode;
    process.chdir(directory);
    release();
  }
}

interface Variant {
  /** Changes to the good config (each one is the only change). */
  model?: 'crashy';
  haltOnUnknownField?: boolean;
  minLabelled?: number;
  rateLimit?: boolean;
  lowConfidenceBackup?: boolean;
  supportCapacity?: number;
  thirtyDayReview?: boolean;
  modelVersion?: boolean;
  metricsConfirmed?: boolean;
}

const CASE_TYPES = ['low_confidence', 'model_failure', 'quarantine', 'schema_halt', 'dead_letter'];

function configText(o: { database: string; simulator: string; alerts: string; goLive: string; review: string }, v: Variant): string {
  const caseTypes = CASE_TYPES.map((t) => {
    const backup = t === 'low_confidence' && v.lowConfidenceBackup === false ? '' : ', backup: leads';
    return `        ${t}: { owner: support${backup}, sla: 4h, escalation: { levels: [{ after: 2h, notify: [owner] }, { after: 3h, notify: [backup] }] } }`;
  });
  const lcEscalation = v.lowConfidenceBackup === false ? caseTypes[0].replace(', { after: 3h, notify: [backup] }', '') : caseTypes[0];
  return `database: "${o.database}"
server: { auth: off }
worker: { poll_interval: 20ms }
logging: { level: warn }
alerts:
  - { type: log }
  - { type: webhook, url: "${o.alerts}", format: json }
teams:
  support: { members: [ana, ben, cy], capacity: ${v.supportCapacity ?? 1000} }
  leads: { members: [dee, eli], capacity: 1000 }
pipelines:
  tickets:
    contract: ./contract.schema.json
    model: { type: module, path: ./${v.model === 'crashy' ? 'crashy-model' : 'model'}.mjs${v.modelVersion === false ? '' : ', version: "triage-2026-11"'} }
    routing: { auto_accept_at: 0.9 }
${v.haltOnUnknownField === false ? '    gate: { policies: { unknown_field: quarantine } }\n' : ''}    launch: { go_live: ${o.goLive}, expected_peak: 2/s }
    readiness:
      blocking: [integrations.loadtest, data.contract]
      min_labelled: ${v.minLabelled ?? 1000}
      max_ece: 0.05
${v.thirtyDayReview === false ? '' : `      thirty_day_review: ${o.review}\n`}      triaged: { leading_trailing_whitespace: "producer trims text from v2; the model is unsure of these, which is right" }
${v.metricsConfirmed === false ? '' : `      confirmed: { monitoring.metrics: "Prometheus job airlock-prod scrapes every 15s since 2026-11-20 <b>ops</b>" }\n`}    review:
      case_types:
${[lcEscalation, ...caseTypes.slice(1)].join('\n')}
    destinations:
      helpdesk: { type: webhook, url: "${o.simulator}/tickets"${v.rateLimit === false ? '' : ', rate_limit: 100/s'} }
`;
}

interface Pipeline {
  dir: string;
  file: string;
  database: TestDatabase;
  sim: VendorSimulator;
  run(args: string[]): Promise<RunResult>;
  spawn(args: string[], timeoutMs?: number): Promise<RunResult>;
  readiness(extra?: string[]): Promise<{ code: number | null; report: ReadinessJson; stderr: string }>;
  loadtest(rate: string): Promise<RunResult>;
  close(): Promise<void>;
}

interface ReadinessJson {
  score: number;
  passed: boolean;
  blocking_failed: string[];
  sections: {
    name: string;
    score: number;
    checks: { id: string; status: string; points: number; evidence: string; fix: string | null }[];
  }[];
}

const checksOf = (r: ReadinessJson) => r.sections.flatMap((s) => s.checks);
const notPassing = (r: ReadinessJson) =>
  checksOf(r)
    .filter((c) => c.status !== 'pass')
    .map((c) => c.id);
type Check = ReadinessJson['sections'][number]['checks'][number];
const check = (r: ReadinessJson, id: string) => checksOf(r).find((c) => c.id === id) as Check;
const explain = (r: ReadinessJson) =>
  checksOf(r)
    .filter((c) => c.status !== 'pass')
    .map((c) => `${c.id} ${c.status}: ${c.evidence}`)
    .join('\n');

async function makePipeline(backend: Backend, alerts: Receiver, variant: Variant): Promise<Pipeline> {
  const database = await createTestDatabase(backend);
  const sim = await startVendorSimulator({ preset: 'generic', limit: parseRate('200/s') });
  const dir = mkdtempSync(path.join(tmpdir(), 'airlock-readiness-'));
  const file = path.join(dir, 'airlock.yaml');
  const now = Date.now();
  writeFileSync(path.join(dir, 'model.mjs'), MODEL);
  writeFileSync(path.join(dir, 'crashy-model.mjs'), CRASHY_MODEL);
  writeFileSync(path.join(dir, 'contract.schema.json'), JSON.stringify(CONTRACT));
  writeFileSync(path.join(dir, 'sample.jsonl'), jsonl(sampleRecords(40)));
  // The load test sends the first records of the sample, the unsure one (index 3) among them: one low_confidence case per run.
  writeFileSync(path.join(dir, 'predictions.jsonl'), predictions(1600, 400));
  writeFileSync(
    file,
    configText(
      { database: database.url, simulator: sim.url, alerts: `${alerts.url}`, goLive: day(now - 10 * DAY), review: day(now + 20 * DAY) },
      variant,
    ),
  );
  // The commands run in this process (the same commander program as bin/airlock, without a node start-up per
  // command); `spawn` runs the built binary where its exit code and output are the point.
  const run = (args: string[]) => runInProcess([...args, '--config', file], dir);
  const spawn = (args: string[], timeoutMs = 60_000) => runAirlock([...args, '--config', file], { cwd: dir, timeoutMs });
  const server = await createServer(loadConfig(file), { logger: createLogger('warn') });
  const url = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
  return {
    dir,
    file,
    database,
    sim,
    run,
    spawn,
    async readiness(extra = []) {
      const r = await run(['readiness', '--json', ...extra]);
      if (r.code !== 0 && r.code !== 1) throw new Error(`readiness exited ${r.code}: ${r.stderr}`);
      return { code: r.code, report: JSON.parse(r.stdout) as ReadinessJson, stderr: r.stderr };
    },
    loadtest: (rate: string) =>
      run([
        'loadtest',
        '--pipeline',
        'tickets',
        '--url',
        url,
        '--rate',
        rate,
        '--duration',
        '2s',
        '--sample',
        'sample.jsonl',
        '--simulator',
        sim.url,
        '--drain-timeout',
        '30s',
        '--threshold',
        'lost==0',
        'duplicates==0',
        '--json',
      ]),
    async close() {
      await server.close();
      await sim.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Makes every piece of evidence the checklist cites, by running the commands; `calibrations` runs of calibrate. */
async function makeEvidence(p: Pipeline, options: { calibrations: number; probeExit?: number }): Promise<void> {
  const ok = (r: RunResult, what: string, code = 0) => expect(r.code, `${what}: ${r.stderr}${r.stdout.slice(0, 2000)}`).toBe(code);
  ok(await p.run(['audit', 'sample.jsonl', '--pipeline', 'tickets', '--json']), 'audit');
  ok(await p.run(['reference', 'sample.jsonl', '--pipeline', 'tickets', '--json']), 'reference');
  for (let i = 0; i < options.calibrations; i++) {
    ok(
      await p.run(['calibrate', 'predictions.jsonl', '--pipeline', 'tickets', '--apply', '--target-accuracy', '0.9', '--json']),
      'calibrate',
    );
  }
  ok(
    await p.run(['probe', '--pipeline', 'tickets', '--sample', 'sample.jsonl', '--cases', '40', '--hard-cases', '0', '--json']),
    'probe',
    options.probeExit ?? 0,
  );
  ok(await p.loadtest('4/s'), 'loadtest');
}

function expectOnly(r: ReadinessJson, id: string, status = 'fail') {
  expect(notPassing(r), explain(r)).toEqual([id]);
  expect(check(r, id).status).toBe(status);
}

describe.sequential('airlock readiness', () => {
  let alerts: Receiver;
  beforeAll(async () => {
    ensureBuilt();
    alerts = await startReceiver();
  });
  afterAll(async () => {
    await alerts?.close();
  });

  for (const backend of backends) {
    it(`every check satisfied, then each evidence broken in turn (${backend})`, { timeout: 300_000 }, async () => {
      const started = Date.now();
      const p = await makePipeline(backend, alerts, {});
      try {
        // One calibration only: everything passes except the rollback (nothing kept to roll back to).
        await makeEvidence(p, { calibrations: 1 });
        const sent = await p.run(['readiness', '--test-alert', '--json']);
        // Not blocking and no minimum score: the gate passes with a lower score.
        expect(sent.code, sent.stderr).toBe(0);
        const first = JSON.parse(sent.stdout) as ReadinessJson & { test_alert: { sinks: { delivered: boolean }[] } };
        expect(first.test_alert.sinks.map((s) => s.delivered)).toEqual([true, true]);
        expect(alerts.requests.some((x) => (x.body as unknown as { key: string }).key === 'readiness_test:tickets')).toBe(true);
        expectOnly(first, 'monitoring.rollback');
        expect(check(first, 'monitoring.rollback').fix).toMatch(/airlock calibrate predictions\.jsonl --pipeline tickets/);
        expect(first.score).toBe(1.5);

        // A second calibration: every check passes.
        expect((await p.run(['calibrate', 'predictions.jsonl', '--pipeline', 'tickets', '--apply', '--target-accuracy', '0.9'])).code).toBe(
          0,
        );
        const html = path.join(p.dir, 'readiness.html');
        const good = await p.readiness(['--html', html]);
        expect(notPassing(good.report), explain(good.report)).toEqual([]);
        expect(good.code).toBe(0);
        // ML Test Score: ½ per check made once by hand, 1 when automatic and repeated; the score is the lowest section.
        const points = Object.fromEntries(checksOf(good.report).map((c) => [c.id, c.points]));
        expect(points).toMatchObject({
          'data.audit': 0.5,
          'data.contract': 1,
          'confidence.calibration': 1,
          'confidence.probe': 0.5,
          'integrations.loadtest': 0.5,
          'change.alerts': 0.5,
          'change.thirty_day_review': 0.5,
          'monitoring.metrics': 0.5,
          'review.sla': 1,
        });
        expect(good.report.sections.map((s) => [s.name, s.score])).toEqual([
          ['data', 1.5],
          ['confidence', 2.5],
          ['integrations', 1.5],
          ['review', 3],
          ['change', 2],
          ['monitoring', 2.5],
        ]);
        expect(good.report.score).toBe(1.5);
        expect(check(good.report, 'integrations.loadtest').evidence).toMatch(
          /^load test #\d+ of \d{4}-\d\d-\d\d: 4\/s offered \(expected peak 2\/s\).*0 lost, 0 duplicates/,
        );
        expect(check(good.report, 'confidence.calibration').evidence).toMatch(/2000 labelled records, ECE 0(\.\d+)? →/);
        // The gate: the score against --min-score.
        expect((await p.spawn(['readiness', '--min-score', '2'])).code).toBe(1);
        expect((await p.spawn(['readiness', '--min-score', '1.5'])).code).toBe(0);
        // The HTML page stands alone and escapes what it shows.
        const page = readFileSync(html, 'utf8');
        expect(page).toContain('&lt;b&gt;ops&lt;/b&gt;');
        expect(page).not.toContain('<b>ops</b>');
        expect(page).not.toMatch(/<script|<link|src="http/);
        // The terminal page.
        const text = await p.spawn(['readiness']);
        expect(text.stdout).toMatch(/✓ data\.audit/);
        expect(text.stdout).toMatch(/Gate: PASSED/);

        // Review SLA: judged 5 hours later, the unsure ticket's low_confidence case (SLA 4h) is overdue.
        const later = await p.readiness(['--at', new Date(Date.now() + 5 * 3_600_000).toISOString()]);
        expectOnly(later.report, 'review.sla');
        expect(check(later.report, 'review.sla').evidence).toMatch(/open cases past their SLA: low_confidence \d+/);

        // Audit: a newer sample with an issue nobody triaged.
        writeFileSync(
          path.join(p.dir, 'html-sample.jsonl'),
          jsonl([...sampleRecords(20), { id: 'x1', text: '<b>billing</b> ticket 1', channel: 'email' }]),
        );
        expect((await p.run(['audit', 'html-sample.jsonl', '--pipeline', 'tickets'])).code).toBe(0);
        let r = (await p.readiness()).report;
        expectOnly(r, 'data.audit');
        expect(check(r, 'data.audit').evidence).toMatch(/not triaged: html in text/);
        expect(check(r, 'data.audit').fix).toMatch(/readiness\.triaged\."html:text"/);
        expect((await p.run(['audit', 'sample.jsonl', '--pipeline', 'tickets'])).code).toBe(0);

        // Threshold: the latest calibration found no threshold with its guarantee (target 99.99%).
        const infeasible = await p.run(['calibrate', 'predictions.jsonl', '--pipeline', 'tickets', '--target-accuracy', '0.9999']);
        expect(infeasible.code, infeasible.stderr).toBe(1);
        r = (await p.readiness()).report;
        expectOnly(r, 'confidence.threshold');
        expect(check(r, 'confidence.threshold').evidence).toMatch(/found no threshold that carries its guarantee/);
        expect((await p.run(['calibrate', 'predictions.jsonl', '--pipeline', 'tickets', '--apply', '--target-accuracy', '0.9'])).code).toBe(
          0,
        );

        // Stale: a new calibrator (other data) is in force; the probe was judged at the old one's threshold.
        writeFileSync(path.join(p.dir, 'predictions-2.jsonl'), predictions(1600, 400, 0.96));
        expect(
          (await p.run(['calibrate', 'predictions-2.jsonl', '--pipeline', 'tickets', '--apply', '--target-accuracy', '0.9'])).code,
        ).toBe(0);
        r = (await p.readiness()).report;
        expectOnly(r, 'confidence.probe', 'stale');
        expect(check(r, 'confidence.probe').evidence).toMatch(/made with another version of the calibrator in force/);
        expect(check(r, 'confidence.probe').fix).toBe('airlock probe --pipeline tickets --sample sample.jsonl');
        expect(
          (await p.run(['probe', '--pipeline', 'tickets', '--sample', 'sample.jsonl', '--cases', '40', '--hard-cases', '0'])).code,
        ).toBe(0);

        // Drift reference: a newer reference made from records without the contract's channel field.
        writeFileSync(path.join(p.dir, 'no-channel.jsonl'), jsonl(sampleRecords(20).map(({ channel: _, ...rest }) => rest)));
        expect((await p.run(['reference', 'no-channel.jsonl', '--pipeline', 'tickets'])).code).toBe(0);
        r = (await p.readiness()).report;
        expectOnly(r, 'change.drift_reference');
        expect(check(r, 'change.drift_reference').evidence).toMatch(/not covered: channel/);
        expect((await p.run(['reference', 'sample.jsonl', '--pipeline', 'tickets'])).code).toBe(0);

        // Alerts: the webhook sink answers 500 to the test alert.
        alerts.mode.status = 500;
        const failedAlert = await p.run(['readiness', '--test-alert', '--json']);
        alerts.mode.status = undefined;
        r = JSON.parse(failedAlert.stdout);
        expectOnly(r, 'change.alerts');
        expect(check(r, 'change.alerts').evidence).toMatch(/failed: alert webhook answered 500/);
        expect((await p.run(['readiness', '--test-alert'])).code).toBe(0);

        // Load test at the expected peak, not twice it: a blocking check, so the gate fails whatever the score.
        expect((await p.loadtest('2/s')).code).toBe(0);
        const low = await p.readiness();
        expectOnly(low.report, 'integrations.loadtest');
        expect(check(low.report, 'integrations.loadtest').evidence).toMatch(/offered 2\/s, below 2× the expected peak of 2\/s/);
        expect(check(low.report, 'integrations.loadtest').fix).toBe(
          'airlock loadtest --pipeline tickets --rate 4/s --duration 60s --threshold lost==0 duplicates==0',
        );
        expect(low.report.blocking_failed).toEqual(['integrations.loadtest']);
        expect(low.code).toBe(1);

        // The API answers the same report as --json.
        const cli = low.report;
        const server = await createServer(loadConfig(p.file), { logger: createLogger('warn') });
        try {
          const res = await server.app.inject({ method: 'GET', url: '/v1/pipelines/tickets/readiness' });
          expect(res.statusCode).toBe(200);
          const api = res.json() as ReadinessJson;
          const shape = (x: ReadinessJson) =>
            x.sections.map((s) => [s.name, s.score, s.checks.map((c) => [c.id, c.status, c.points, c.fix])]);
          expect(shape(api)).toEqual(shape(cli));
          expect(api.score).toBe(cli.score);
          const doc = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json();
          expect(doc.paths['/v1/pipelines/{pipeline}/readiness'].get.summary).toMatch(/production-readiness report/);
          const badScore = await server.app.inject({ method: 'GET', url: '/v1/pipelines/tickets/readiness?min_score=lots' });
          expect(badScore.statusCode).toBe(400);
          expect(badScore.json().detail).toBe('min_score must be a number of points, 0 or more, got "lots"');
          const missing = await server.app.inject({ method: 'GET', url: '/v1/pipelines/nope/readiness' });
          expect(missing.statusCode).toBe(404);
          expect(missing.headers['content-type']).toMatch(/application\/problem\+json/);
        } finally {
          await server.close();
        }
        console.info(
          `[readiness ${backend}] good pipeline and 8 broken evidence variants in ${((Date.now() - started) / 1000).toFixed(1)}s`,
        );
      } finally {
        await p.close();
      }
    });
  }

  // Config changes make every stored report stale (the config hash is part of each), so each broken config gets its
  // own pipeline with all of its evidence made again.
  const CONFIG_BREAKS: { id: string; status?: string; variant: Variant; probeExit?: number; evidence: RegExp; fix?: RegExp }[] = [
    {
      id: 'data.contract',
      variant: { haltOnUnknownField: false },
      evidence: /a structural change \(unknown_field\) does not halt/,
      fix: /gate\.policies\.unknown_field: halt/,
    },
    { id: 'confidence.calibration', variant: { minLabelled: 5000 }, evidence: /2000 labelled records, fewer than the 5000 required/ },
    { id: 'confidence.probe', variant: { model: 'crashy' }, probeExit: 1, evidence: /the model crashed on \d+ case/ },
    {
      id: 'integrations.destinations',
      variant: { rateLimit: false },
      evidence: /helpdesk has no rate limit/,
      fix: /destinations\.helpdesk\.rate_limit/,
    },
    { id: 'review.case_types', variant: { lowConfidenceBackup: false }, evidence: /^low_confidence has no backup$/ },
    { id: 'review.runbook', variant: { supportCapacity: 1 }, evidence: /staffing cannot keep up/ },
    {
      id: 'change.thirty_day_review',
      variant: { thirtyDayReview: false },
      evidence: /no 30-day review is scheduled/,
      fix: /readiness\.thirty_day_review: \d{4}-/,
    },
    { id: 'monitoring.model_version', variant: { modelVersion: false }, evidence: /predictions since .* do not record the model version/ },
    { id: 'monitoring.metrics', status: 'manual', variant: { metricsConfirmed: false }, evidence: /only a person can confirm/ },
  ];
  describe.concurrent('each config break', () => {
    for (const [backend, b] of backends.flatMap((x) => CONFIG_BREAKS.map((b) => [x, b] as const))) {
      it(`names exactly ${b.id} (${backend})`, { timeout: 300_000 }, async () => {
        const p = await makePipeline(backend, alerts, b.variant);
        try {
          await makeEvidence(p, { calibrations: 2, probeExit: b.probeExit });
          const { report, code } = await p.readiness(['--test-alert']);
          expectOnly(report, b.id, b.status ?? 'fail');
          expect(check(report, b.id).evidence).toMatch(b.evidence);
          if (b.fix) expect(check(report, b.id).fix).toMatch(b.fix);
          // data.contract is blocking in this config; the others only lower the score.
          expect(code).toBe(b.id === 'data.contract' ? 1 : 0);
        } finally {
          await p.close();
        }
      });
    }
  });

  it('explains usage mistakes in one sentence', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'airlock-readiness-usage-'));
    try {
      writeFileSync(
        path.join(dir, 'airlock.yaml'),
        'pipelines:\n  a: { model: { type: http, url: "http://127.0.0.1:9/x" } }\n  b: { model: { type: http, url: "http://127.0.0.1:9/x" } }\n',
      );
      const several = await runAirlock(['readiness'], { cwd: dir });
      expect(several.code).toBe(2);
      expect(several.stderr).toBe('airlock: the config has 2 pipelines (a, b): say which with --pipeline\n');
      const score = await runAirlock(['readiness', '--pipeline', 'a', '--min-score', 'high'], { cwd: dir });
      expect(score.code).toBe(2);
      expect(score.stderr).toMatch(/--min-score high: expected a number/);
      writeFileSync(
        path.join(dir, 'airlock.yaml'),
        'pipelines:\n  a:\n    model: { type: http, url: "http://127.0.0.1:9/x" }\n    readiness: { blocking: [data.audti] }\n',
      );
      const bad = await runAirlock(['readiness'], { cwd: dir });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/pipelines\.a\.readiness\.blocking\.0: expected all or a check id/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
