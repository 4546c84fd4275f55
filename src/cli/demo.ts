import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { createToken } from '../accounts/tokens.js';
import { addUser } from '../accounts/users.js';
import { loadConfig } from '../config/load.js';
import { startVendorSimulator } from '../delivery/simulator.js';
import { AirlockError } from '../errors.js';
import { createLogger } from '../runtime/logger.js';
import { type AirlockServer, createServer } from '../server/app.js';
import { action } from './output.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const example = path.join(repoRoot, 'examples', 'inbox-triage');
const bin = path.join(repoRoot, 'bin', 'airlock');

interface DemoOptions {
  fast?: boolean;
  workspace?: string;
  port?: string;
  rate?: string;
  perGroup?: string;
}

interface Phase {
  name: string;
  figure: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `airlock ARGS` in the workspace, prints the command (so it can be re-run by hand) and returns stdout. */
function airlock(
  cwd: string,
  args: string[],
  options: { allowExit?: number[]; redact?: string } = {},
): Promise<{ code: number; stdout: string }> {
  const shown = args.map((a) => (a === options.redact ? '$AIRLOCK_TOKEN' : /\s/.test(a) ? JSON.stringify(a) : a));
  process.stdout.write(`  $ airlock ${shown.join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ok = [0, ...(options.allowExit ?? [])];
      if (code !== null && ok.includes(code)) resolve({ code, stdout });
      else reject(new AirlockError('INTERNAL', `airlock ${args[0]} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`));
    });
  });
}

// biome-ignore lint/suspicious/noExplicitAny: another command's --json output, read field by field with fallbacks
const jsonOf = (text: string) => JSON.parse(text) as Record<string, unknown> & { [k: string]: any };
const pct = (v: number, digits = 1) => `${(v * 100).toFixed(digits)}%`;

function readJsonl(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

function writeJsonl(file: string, rows: unknown[]): void {
  writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
}

/** The demo pipeline's config: the baseline model, the inferred contract, Zendesk (simulated) as the destination. */
function demoConfig(vendorUrl: string, port: number, goLive: string): string {
  const thirtyDays = new Date(Date.parse(goLive) + 30 * 86_400_000).toISOString().slice(0, 10);
  return `# The inbox-triage demo (written by airlock demo; re-run any printed command from this folder).
database: sqlite:./airlock.db
server: { host: 127.0.0.1, port: ${port} }
logging: { level: warn }
alerts:
  - { type: log }
teams:
  triage: { members: [reviewer, sim-reviewer] }
  leads: { members: [lead] }
pipelines:
  inbox:
    contract: ./contract.json
    gate:
      # New charsets and content types are expected in later mail: they show in the audit and drift, they do not stop
      # the pipeline. A renamed or missing field does.
      policies: { new_enum_value: accept, format_mismatch: accept, out_of_range: accept }
    model: { type: baseline, path: ./model.json, text_fields: [subject, text], version: nb-pilot }
    routing:
      auto_accept_at: 0.95
      audit_rate: 0.05
    launch: { go_live: ${goLive}, expected_peak: 5/s }
    readiness: { thirty_day_review: ${thirtyDays} }
    # Message ids and dates are unique per mail: their tokens drift by construction, so drift leaves them out.
    drift: { exclude: [message_id, date] }
    review:
      case_types:
        low_confidence:
          { owner: triage, backup: leads, sla: 4h, escalation: { levels: [{ after: 4h, notify: [backup] }] } }
        audit_sample:
          { owner: triage, backup: leads, sla: 1d, escalation: { levels: [{ after: 1d, notify: [backup] }] } }
        quarantine:
          { owner: leads, backup: triage, sla: 1d, escalation: { levels: [{ after: 1d, notify: [backup] }] } }
        schema_halt:
          { owner: leads, backup: triage, sla: 1h, escalation: { levels: [{ after: 1h, notify: [backup] }] } }
        dead_letter:
          { owner: leads, backup: triage, sla: 4h, escalation: { levels: [{ after: 4h, notify: [backup] }] } }
        model_failure:
          { owner: leads, backup: triage, sla: 1h, escalation: { levels: [{ after: 1h, notify: [backup] }] } }
    destinations:
      zendesk: { type: zendesk, plan: enterprise, url: "${vendorUrl}/api/v2/tickets.json", concurrency: 8 }
`;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run Airlock on real mail (the SpamAssassin corpus), pilot to production: audit, contract, training, calibration, threshold, probe, load test, then serving with drift, a schema change, review and delivery',
    )
    .option('--fast', 'a smaller slice that finishes on its own and checks its own accounting (for tests and CI)')
    .option('--workspace <dir>', 'where the demo writes its data, config and database', path.join(example, '.demo'))
    .option('--port <n>', 'the console and API port', '8080')
    .option('--rate <n>', 'production records per second', undefined)
    .option('--per-group <n>', 'mails taken from each corpus folder (default: all; 120 with --fast)')
    .action(action(async (opts: DemoOptions) => runDemo(opts)));
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const fast = Boolean(opts.fast);
  const ws = path.resolve(opts.workspace ?? path.join(example, '.demo'));
  const port = Number(opts.port ?? 8080);
  const rate = Number(opts.rate ?? (fast ? 40 : 8));
  const perGroup = opts.perGroup ? Number(opts.perGroup) : fast ? 120 : undefined;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new AirlockError('USAGE', `--port must be a port number, got "${opts.port}"`);
  if (!(rate > 0)) throw new AirlockError('USAGE', `--rate must be a positive number, got "${opts.rate}"`);
  if (perGroup !== undefined && !(Number.isInteger(perGroup) && perGroup > 0))
    throw new AirlockError('USAGE', `--per-group must be a positive whole number, got "${opts.perGroup}"`);
  mkdirSync(ws, { recursive: true });
  for (const f of ['airlock.db', 'airlock.db-wal', 'airlock.db-shm']) if (existsSync(path.join(ws, f))) writeFileSync(path.join(ws, f), '');
  const phases: Phase[] = [];
  const say = (text: string) => process.stdout.write(`${text}\n`);
  const phase = (name: string, figure: string) => {
    phases.push({ name, figure });
    say(`  → ${figure}\n`);
  };

  // ---------------------------------------------------------------- data
  say(`Airlock demo — inbox triage on the SpamAssassin public corpus${fast ? ' (fast)' : ''}\nworkspace: ${ws}\n`);
  say('1. Data: raw mail parsed into records; the pilot is the earlier collection, production the later one');
  const data = path.join(ws, 'data');
  const parsed = await new Promise<{ pilot: number; production: number }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(example, 'mail-to-records.mjs'), data, ...(perGroup ? ['--per-group', String(perGroup)] : [])],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new AirlockError('INTERNAL', `reading the corpus failed (${code})`)),
    );
  });
  const pilot = readJsonl(path.join(data, 'pilot.jsonl'));
  writeJsonl(
    path.join(data, 'pilot-records.jsonl'),
    pilot.map(({ label: _l, ...r }) => r),
  );
  phase('data', `${parsed.pilot} pilot mails (easy-ham-1, spam-1), ${parsed.production} production mails (easy-ham-2, spam-2, hard-ham-1)`);

  // ---------------------------------------------------------------- pilot phase
  say('2. Contract inferred from the pilot');
  const contract = await airlock(ws, ['contract', 'infer', 'data/pilot-records.jsonl', '--enum-max', '0', '--quiet']);
  // Tuned by hand, as a team would: mail headers may be missing in later mail (null sender, date or message id), so
  // every field but the id, subject and text may be null. Field names stay closed: a renamed field halts.
  const schema = jsonOf(contract.stdout);
  const nullable: string[] = [];
  for (const [name, prop] of Object.entries((schema.properties ?? {}) as Record<string, { type?: string | string[] }>)) {
    if (['id', 'subject', 'text'].includes(name) || prop.type === undefined) continue;
    const types = Array.isArray(prop.type) ? prop.type : [prop.type];
    if (!types.includes('null')) {
      prop.type = [...types, 'null'];
      nullable.push(name);
    }
  }
  writeFileSync(path.join(ws, 'contract.json'), `${JSON.stringify(schema, null, 2)}\n`);
  phase(
    'contract',
    `${Object.keys(schema.properties ?? {}).length} fields, ${(schema.required ?? []).length} required, closed to unknown fields; made nullable by hand: ${nullable.join(', ')} — contract.json`,
  );

  say('3. Baseline classifier (naive Bayes over word n-grams) trained on 70% of the pilot');
  const train = jsonOf(
    (
      await airlock(ws, [
        'train',
        'data/pilot.jsonl',
        '--text',
        'subject,text',
        '--label',
        'label',
        '--out',
        'model.json',
        '--holdout',
        '0.3',
        '--predictions',
        'calibration.jsonl',
        '--json',
      ])
    ).stdout,
  );
  phase(
    'training',
    `held-out accuracy ${pct(train.accuracy)}, mean confidence ${pct(train.mean_confidence)}, ECE ${Number(train.ece).toFixed(3)}${train.mean_confidence > train.accuracy ? ' — overconfident, as naive Bayes is known to be' : ''}`,
  );

  const sim = await startVendorSimulator({ preset: 'zendesk-enterprise', port: 0 });
  let server: AirlockServer | undefined;
  let stop = false;
  // Ctrl-C during production stops the stream and closes the server cleanly (before it, the pilot steps just end).
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  try {
    const goLive = new Date().toISOString().slice(0, 10);
    writeFileSync(path.join(ws, 'airlock.yaml'), demoConfig(sim.url, port, goLive));

    say('4. Audit: the production sample against the pilot (stored as evidence)');
    const audit = jsonOf(
      (
        await airlock(
          ws,
          [
            'audit',
            'data/production.jsonl',
            '--baseline',
            'data/pilot-records.jsonl',
            '--pipeline',
            'inbox',
            '--json',
            '--html',
            'audit.html',
          ],
          {
            allowExit: [1],
          },
        )
      ).stdout,
    );
    const changes = (audit.comparison?.changes ?? []) as { field?: string; kind?: string; severity?: string }[];
    phase(
      'audit',
      `${audit.rows?.total} rows, ${(audit.issues ?? []).length} issues, ${changes.length} changes from the pilot (${changes
        .slice(0, 4)
        .map((c) => `${c.field} ${c.kind}`)
        .join('; ')}) — audit.html`,
    );

    say('5. Calibration on the held-out pilot split, and the auto-accept threshold with its guarantee');
    const cal = jsonOf(
      (
        await airlock(
          ws,
          [
            'calibrate',
            'calibration.jsonl',
            '--method',
            'isotonic',
            '--target-accuracy',
            '0.99',
            '--delta',
            '0.05',
            '--pipeline',
            'inbox',
            '--json',
            '--html',
            'calibration.html',
          ],
          { allowExit: [1] },
        )
      ).stdout,
    );
    phase(
      'calibration',
      `ECE ${Number(cal.calibrated?.raw_on_evaluation?.ece ?? cal.ece).toFixed(3)} raw → ${Number(cal.calibrated?.ece ?? Number.NaN).toFixed(3)} isotonic on held-out rows — calibration.html`,
    );
    const t = cal.threshold;
    if (cal.stored?.version)
      await airlock(ws, ['thresholds', 'approve', '--pipeline', 'inbox', '--version', String(cal.stored.version), '--by', 'lead']);
    phase(
      'threshold',
      t.feasible
        ? `auto-accept at calibrated confidence ≥ ${Number(t.value).toFixed(3)}: coverage ${pct(t.coverage)}, error ≤ ${pct(t.error_upper_bound, 2)} with probability ≥ 95%`
        : `no threshold carries the guarantee with ${cal.rows} labels (${t.reason}); routing.auto_accept_at applies`,
    );

    say('6. Probe: edge cases and garbage through the model');
    const probe = jsonOf(
      (
        await airlock(ws, ['probe', '--pipeline', 'inbox', '--sample', 'data/pilot.jsonl', '--cases', fast ? '60' : '200', '--json'], {
          allowExit: [1],
        })
      ).stdout,
    );
    phase(
      'probe',
      `${probe.cases?.total} cases: ${probe.findings?.crashes ?? 0} crashes, ${probe.findings?.errors ?? 0} errors, ${probe.findings?.confident_garbage ?? 0} confident answers on garbage${
        probe.passed ? '' : ` — over the limits: ${(probe.over_limits ?? []).join(', ')} (naive Bayes is sure of itself on noise)`
      }`,
    );

    say('7. Drift reference: the pilot, as production windows will be compared with it');
    const reference = await airlock(ws, ['reference', '--pipeline', 'inbox', 'data/pilot-records.jsonl', '--json'], {
      allowExit: [1, 2],
    }).catch((err: Error) => ({ code: 2, stdout: '', error: err.message }));
    phase(
      'reference',
      reference.code === 0
        ? `${pilot.length} pilot records loaded as the drift reference of inbox`
        : 'no drift reference (airlock reference failed)',
    );

    // ---------------------------------------------------------------- production phase
    const config = loadConfig(path.join(ws, 'airlock.yaml'));
    // Server logs (alerts included) go to server.log in the workspace, so the demo's own output stays readable.
    server = await createServer(config, { logger: createLogger('info', createWriteStream(path.join(ws, 'server.log'))) });
    const db = server.airlock.runtime.store.db;
    const now = Date.now();
    await addUser(db, 'lead', 'lead', 'demo-lead-password', now);
    await addUser(db, 'reviewer', 'reviewer', 'demo-reviewer-password', now);
    await addUser(db, 'sim-reviewer', 'reviewer', null, now);
    await addUser(db, 'gateway', 'ingest', null, now);
    const ingestToken = (await createToken(db, 'gateway', 'demo mail gateway', now)).token;
    const simToken = (await createToken(db, 'sim-reviewer', 'demo simulated reviewer', now)).token;
    const leadToken = (await createToken(db, 'lead', 'demo (fast) lead', now)).token;
    const base = (await server.listen({ port, host: '127.0.0.1' })) as string;
    const api = async (token: string, method: string, p: string, body?: unknown) => {
      const res = await fetch(`${base}${p}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };

    say('8. Load test: twice the expected peak through the whole path, against the simulated Zendesk (Enterprise limits)');
    const load = jsonOf(
      (
        await airlock(
          ws,
          [
            'loadtest',
            '--pipeline',
            'inbox',
            '--url',
            base,
            '--token',
            leadToken,
            '--rate',
            '10/s',
            '--duration',
            fast ? '5s' : '30s',
            '--sample',
            'data/pilot-records.jsonl',
            '--simulator',
            sim.url,
            '--threshold',
            'lost==0',
            'duplicates==0',
            '--json',
          ],
          { allowExit: [99], redact: leadToken },
        )
      ).stdout,
    );
    phase(
      'load test',
      `offered 10/s (2 × the expected peak of 5/s), achieved ${load.achieved_rate}/s, p99 arrival → delivered ${load.latency_s?.p99 === null || load.latency_s?.p99 === undefined ? '—' : `${Number(load.latency_s.p99).toFixed(2)} s`}, ${load.throttled ?? load.responses_429 ?? 0} × 429, lost ${load.lost}, duplicate effects ${load.duplicates}`,
    );

    say('9. Readiness: the checklist over the evidence gathered so far');
    const ready = jsonOf(
      (await airlock(ws, ['readiness', '--pipeline', 'inbox', '--json', '--html', 'readiness.html'], { allowExit: [1] })).stdout,
    );
    const failing = (ready.sections ?? []).flatMap((sec: { checks: { id: string; status: string }[] }) =>
      sec.checks.filter((c) => c.status !== 'pass').map((c) => `${c.id} ${c.status}`),
    );
    phase(
      'readiness',
      `score ${ready.score} (the lowest section); not passing: ${failing.slice(0, 6).join(', ') || 'none'} — readiness.html`,
    );

    say(
      `10. Production: ${parsed.production} mails streamed at ${rate}/s to ${base}; mid-stream the upstream renames "subject" to "title"`,
    );
    say(`   console: ${base}/  — sign in as lead / demo-lead-password or reviewer / demo-reviewer-password`);
    const production = readJsonl(path.join(data, 'production.jsonl'));
    const truth = new Map(readJsonl(path.join(data, 'truth.jsonl')).map((r) => [r.id as string, r.label as string]));
    const productionIds = new Set(production.map((r) => r.id as string));
    const renameAt = Math.floor(production.length / 2);
    const appliedBefore = sim.stats().effects;
    let simulatedDecisions = 0;
    // The simulated reviewer (clearly marked): works about half of the production cases with the corpus' true labels,
    // after a delay; the other half, and everything else, waits for a person in the console.
    const leftForPeople = new Set<number>();
    const reviewOne = async (): Promise<void> => {
      const next = await api(simToken, 'POST', '/v1/review/next', { pipeline: 'inbox', exclude: [...leftForPeople] });
      const c = next.body?.case;
      if (!c) {
        await sleep(200);
        return;
      }
      const label = truth.get(c.record_id);
      const decidable =
        ['low_confidence', 'audit_sample'].includes(c.type) && label !== undefined && productionIds.has(c.record_id) && c.id % 2 === 0;
      if (!decidable) {
        leftForPeople.add(c.id);
        await api(simToken, 'POST', `/v1/review/cases/${c.id}/release`, {});
        return;
      }
      await sleep(fast ? 20 : 1500);
      await api(simToken, 'POST', `/v1/review/cases/${c.id}/decision`, { label, note: 'simulated reviewer (corpus label)' });
      simulatedDecisions++;
    };
    const reviewer = (async () => {
      while (!stop) await reviewOne().catch(() => sleep(500));
    })();

    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let halted = false;
    let renameAccepted = false;
    const started = Date.now();
    for (let i = 0; i < production.length && !interrupted; ) {
      const batch = production.slice(i, i + Math.max(1, Math.round(rate / 5))).map((r, k) => {
        if (i + k < renameAt) return r;
        const { subject, ...rest } = r;
        return { ...rest, title: subject };
      });
      const res = await api(ingestToken, 'POST', '/v1/pipelines/inbox/records', batch);
      if (res.status >= 300 && res.status !== 207)
        throw new AirlockError('INTERNAL', `ingest answered ${res.status}: ${JSON.stringify(res.body)}`);
      i += batch.length;
      if (!renameAccepted) {
        const h = await api(leadToken, 'GET', '/v1/pipelines/inbox/halt');
        const field = h.body?.halt?.change?.field as string | undefined;
        if (h.body?.halted && !halted) {
          halted = true;
          say(`   halted: ${h.body.halt?.change?.kind} on "${field}" — records wait as halted; accept it in the console (Halt page)`);
          if (field !== 'title' && field !== 'subject') {
            throw new AirlockError('INTERNAL', `the demo halted on "${field}", not on the injected rename: its contract needs tuning`);
          }
        }
        if (h.body?.halted && fast) {
          const a = await api(leadToken, 'POST', '/v1/pipelines/inbox/halt/accept', { by: 'lead', note: 'demo --fast accepts the rename' });
          say(
            `   accepted by lead (demo --fast; in the full demo a person does it in the console): ${a.status === 200 ? 'contract relaxed, backlog resumed in arrival order' : JSON.stringify(a.body)}`,
          );
          renameAccepted = a.status === 200;
        }
      }
      await sleep(Math.max(0, started + (i / rate) * 1000 - Date.now()));
    }
    phase(
      'halt',
      !halted
        ? 'no halt seen'
        : renameAccepted
          ? 'the rename halted the pipeline; records waited and resumed in arrival order after acceptance'
          : 'the rename halted the pipeline; the records after it wait (halted) until a lead accepts the change on the console’s Halt page',
    );

    // Wait until nothing is left for the system (people's work may stay open). While the pipeline stays halted,
    // records received before the halt wait unscored too: they count as waiting, like the halted ones.
    const waitingOnHalt = halted && !renameAccepted;
    const busy = [...(waitingOnHalt ? [] : ['received']), 'scoring', 'decided', ...(fast ? ['halted'] : [])];
    for (let waited = 0; !interrupted; waited += 500) {
      const p = (await api(leadToken, 'GET', '/v1/pipelines')).body as { pipelines?: { name: string; records: Record<string, number> }[] };
      const counts = p.pipelines?.find((x) => x.name === 'inbox')?.records ?? {};
      if (busy.every((s) => !counts[s])) break;
      if (waited > (fast ? 120_000 : 600_000))
        throw new AirlockError('INTERNAL', `records still in flight after ${waited / 1000}s: ${JSON.stringify(counts)}`);
      await sleep(500);
    }
    stop = true;
    await reviewer;
    if (interrupted) {
      say(`\nStopped (Ctrl-C) during production. Nothing is lost: every record is in ${path.join(ws, 'airlock.db')}.`);
      return 130;
    }

    // Where every production mail ended up, read through the API record by record.
    const counts: Record<string, number> = {};
    for (const id of productionIds) {
      const r = await api(leadToken, 'GET', `/v1/pipelines/inbox/records/${encodeURIComponent(id)}`);
      const status = r.status === 200 ? (r.body.status as string) : 'missing';
      counts[status] = (counts[status] ?? 0) + 1;
    }
    const stats = sim.stats();
    const drift = await api(leadToken, 'GET', '/v1/pipelines/inbox/drift');
    if (drift.status === 200) {
      const fields = (drift.body.fields ?? []) as { name: string; drift?: boolean; statistic?: number; test?: string }[];
      phase(
        'drift',
        `${fields.filter((f) => f.drift).length} of ${fields.length} fields drifted: ${
          fields
            .filter((f) => f.drift)
            .slice(0, 4)
            .map((f) => f.name)
            .join(', ') || 'none'
        }`,
      );
    }
    const queue = await api(leadToken, 'GET', '/v1/review/cases?pipeline=inbox&status=open&limit=1000');
    const open = (queue.body.cases ?? []) as { type: string }[];
    phase(
      'review',
      `${simulatedDecisions} cases handled by the simulated reviewer; ${open.length} open cases wait for a person (${[...new Set(open.map((c) => c.type))].join(', ')})`,
    );
    const applied = stats.effects - appliedBefore;
    phase(
      'delivery',
      `${applied} tickets applied at the simulated Zendesk (limit ${stats.limit}), ${stats.throttled_429} answered 429, ${stats.duplicate_effects} duplicate effects`,
    );

    // The accounting, counted from outside Airlock's tables where possible.
    const sent = production.length;
    const accounted =
      applied +
      (counts.dead_lettered ?? 0) +
      (counts.in_review ?? 0) +
      (counts.quarantined ?? 0) +
      (counts.discarded ?? 0) +
      (counts.halted ?? 0) +
      (waitingOnHalt ? (counts.received ?? 0) : 0);
    say(
      `\nSent ${sent} = applied ${applied} + dead letters ${counts.dead_lettered ?? 0} + in review ${counts.in_review ?? 0} + quarantined ${counts.quarantined ?? 0} + discarded ${counts.discarded ?? 0}${counts.halted ? ` + halted ${counts.halted}` : ''}${waitingOnHalt && counts.received ? ` + waiting on the halt ${counts.received}` : ''} → ${accounted === sent ? 'nothing lost' : `MISMATCH (${accounted})`}`,
    );
    say('\nPhases:');
    for (const p of phases) say(`  ${p.name.padEnd(12)} ${p.figure}`);
    if (accounted !== sent || stats.duplicate_effects > 0) return 1;
    if (fast) return 0;
    say(`\nThe console stays up at ${base}/ — Ctrl-C stops the demo.`);
    while (!interrupted) await sleep(200);
    say('\nStopping (Ctrl-C): the server finishes what it holds and closes.');
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    stop = true;
    await server?.close();
    await sim.close();
  }
}
