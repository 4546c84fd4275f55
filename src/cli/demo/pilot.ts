/** The demo's pilot phase, before launch: the data, the contract, the model, its audit, calibration, probe and drift reference. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { AirlockError } from '../../errors.js';
import { type DemoRun, example, pct, readJsonl, writeJsonl } from './workspace.js';

/** The corpus as records: how many mails each side has, and the pilot's records (with their labels). */
export interface DemoCorpus {
  /** The folder of pilot.jsonl, pilot-records.jsonl (no labels), production.jsonl and truth.jsonl. */
  data: string;
  parsed: { pilot: number; production: number };
  pilot: Record<string, unknown>[];
}

/** 1. The SpamAssassin mail parsed into records: the earlier collection is the pilot, the later one production. */
export async function readCorpus(run: DemoRun): Promise<DemoCorpus> {
  run.say(`Airlock demo — inbox triage on the SpamAssassin public corpus${run.fast ? ' (fast)' : ''}\nworkspace: ${run.ws}\n`);
  run.say('1. Data: raw mail parsed into records; the pilot is the earlier collection, production the later one');
  const data = run.file('data');
  const parsed = await new Promise<{ pilot: number; production: number }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(example, 'mail-to-records.mjs'), data, ...(run.perGroup ? ['--per-group', String(run.perGroup)] : [])],
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
  run.phase(
    'data',
    `${parsed.pilot} pilot mails (easy-ham-1, spam-1), ${parsed.production} production mails (easy-ham-2, spam-2, hard-ham-1)`,
  );
  return { data, parsed, pilot };
}

/** 2. The contract inferred from the pilot, then tuned by hand (contract.json). */
export async function inferContract(run: DemoRun): Promise<void> {
  run.say('2. Contract inferred from the pilot');
  // Tuned by hand, as a team would: mail headers may be missing in later mail (null sender, date or message id), so
  // every field but the id, subject and text may be null. Field names stay closed: a renamed field halts.
  const schema = await run.airlockJson(['contract', 'infer', 'data/pilot-records.jsonl', '--enum-max', '0', '--quiet']);
  const nullable: string[] = [];
  for (const [name, prop] of Object.entries((schema.properties ?? {}) as Record<string, { type?: string | string[] }>)) {
    if (['id', 'subject', 'text'].includes(name) || prop.type === undefined) continue;
    const types = Array.isArray(prop.type) ? prop.type : [prop.type];
    if (!types.includes('null')) {
      prop.type = [...types, 'null'];
      nullable.push(name);
    }
  }
  writeFileSync(run.file('contract.json'), `${JSON.stringify(schema, null, 2)}\n`);
  run.phase(
    'contract',
    `${Object.keys(schema.properties ?? {}).length} fields, ${(schema.required ?? []).length} required, closed to unknown fields; made nullable by hand: ${nullable.join(', ')} — contract.json`,
  );
}

/** 3. The baseline classifier trained on 70% of the pilot; the other 30% are its calibration set. */
export async function trainModel(run: DemoRun): Promise<void> {
  run.say('3. Baseline classifier (naive Bayes over word n-grams) trained on 70% of the pilot');
  const train = await run.airlockJson([
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
  ]);
  run.phase(
    'training',
    `held-out accuracy ${pct(train.accuracy)}, mean confidence ${pct(train.mean_confidence)}, ECE ${Number(train.ece).toFixed(3)}${train.mean_confidence > train.accuracy ? ' — overconfident, as naive Bayes is known to be' : ''}`,
  );
}

/** 4. The production sample audited against the pilot (audit.html, stored as evidence). */
export async function auditProduction(run: DemoRun): Promise<void> {
  run.say('4. Audit: the production sample against the pilot (stored as evidence)');
  const audit = await run.airlockJson(
    ['audit', 'data/production.jsonl', '--baseline', 'data/pilot-records.jsonl', '--pipeline', 'inbox', '--json', '--html', 'audit.html'],
    { allowExit: [1] },
  );
  const changes = (audit.comparison?.changes ?? []) as { field?: string; kind?: string; severity?: string }[];
  run.phase(
    'audit',
    `${audit.rows?.total} rows, ${(audit.issues ?? []).length} issues, ${changes.length} changes from the pilot (${changes
      .slice(0, 4)
      .map((c) => `${c.field} ${c.kind}`)
      .join('; ')}) — audit.html`,
  );
}

/** 5. Calibration on the held-out split, and the auto-accept threshold with its guarantee, approved by the lead. */
export async function calibrateThreshold(run: DemoRun): Promise<void> {
  run.say('5. Calibration on the held-out pilot split, and the auto-accept threshold with its guarantee');
  const cal = await run.airlockJson(
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
  );
  run.phase(
    'calibration',
    `ECE ${Number(cal.calibrated?.raw_on_evaluation?.ece ?? cal.ece).toFixed(3)} raw → ${Number(cal.calibrated?.ece ?? Number.NaN).toFixed(3)} isotonic on held-out rows — calibration.html`,
  );
  const t = cal.threshold;
  if (cal.stored?.version)
    await run.airlock(['thresholds', 'approve', '--pipeline', 'inbox', '--version', String(cal.stored.version), '--by', 'lead']);
  run.phase(
    'threshold',
    t.feasible
      ? `auto-accept at calibrated confidence ≥ ${Number(t.value).toFixed(3)}: coverage ${pct(t.coverage)}, error ≤ ${pct(t.error_upper_bound, 2)} with probability ≥ 95%`
      : `no threshold carries the guarantee with ${cal.rows} labels (${t.reason}); routing.auto_accept_at applies`,
  );
}

/** 6. The probe: edge cases and garbage made from the pilot, sent through the model. */
export async function probeModel(run: DemoRun): Promise<void> {
  run.say('6. Probe: edge cases and garbage through the model');
  const probe = await run.airlockJson(
    ['probe', '--pipeline', 'inbox', '--sample', 'data/pilot.jsonl', '--cases', run.fast ? '60' : '200', '--json'],
    { allowExit: [1] },
  );
  run.phase(
    'probe',
    `${probe.cases?.total} cases: ${probe.findings?.crashes ?? 0} crashes, ${probe.findings?.errors ?? 0} errors, ${probe.findings?.confident_garbage ?? 0} confident answers on garbage${
      probe.passed ? '' : ` — over the limits: ${(probe.over_limits ?? []).join(', ')} (naive Bayes is sure of itself on noise)`
    }`,
  );
}

/** 7. The pilot loaded as the drift reference that production windows are compared with. */
export async function loadDriftReference(run: DemoRun, corpus: DemoCorpus): Promise<void> {
  run.say('7. Drift reference: the pilot, as production windows will be compared with it');
  const reference = await run
    .airlock(['reference', '--pipeline', 'inbox', 'data/pilot-records.jsonl', '--json'], { allowExit: [1, 2] })
    .catch((err: Error) => ({ code: 2, stdout: '', error: err.message }));
  run.phase(
    'reference',
    reference.code === 0
      ? `${corpus.pilot.length} pilot records loaded as the drift reference of inbox`
      : 'no drift reference (airlock reference failed)',
  );
}
