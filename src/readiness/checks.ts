/**
 * The production-readiness checklist (pure: facts in, report out). One section per boundary Airlock hardens, plus
 * monitoring, in the spirit of Google's ML Test Score (Breck et al., "The ML Test Score: A Rubric for ML Production
 * Readiness and Technical Debt Reduction", IEEE Big Data 2017):
 *
 * - a check scores 0 when it fails, ½ when it was done once by hand, 1 when Airlock does it automatically and
 *   repeatedly (the rubric's three levels, §V);
 * - a section's score is the sum of its checks' points, and the final score is the minimum over the sections (§V:
 *   "the final ML Test Score is computed by taking the minimum of the scores aggregated for each of the sections").
 *
 * Evidence counts only when the hashes it was stamped with (docs/design.md: config, contract, model, calibrator) match the
 * ones in force now; otherwise its check is `stale`, with the command that makes it again.
 */
import { DEFAULT_MIN_SCORE, READINESS_SECTIONS, type ReadinessCheckId, type ReadinessSection } from '../config/readiness-ids.js';
import { pipelineCaseTypes } from '../review/case-types.js';
import { queueMetrics } from '../review/queue-stats.js';
import { humanDuration } from '../review/runbook.js';
import { checkRunbook } from '../review/runbook-check.js';
import { artefactOf, type Draft, day, EVIDENCE_DEPENDS_ON, evidenceCheck, findEvidence, HASH_NAMES, short } from './evidence.js';
import {
  type EvidenceItem,
  type ReadinessCheck,
  type ReadinessFacts,
  type ReadinessReport,
  type ReadinessSectionReport,
  SECTION_TITLES,
} from './report.js';

const DAY_MS = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
const pct = (x: number) => `${+(x * 100).toFixed(1)}%`;
const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const fmt = (x: number, digits = 4) => String(+x.toFixed(digits));

/** Records per second of a rate (`20/s`, `700/min`). */
const perSecond = (r: { count: number; intervalMs: number }) => (r.count / r.intervalMs) * 1000;

// ---------------------------------------------------------------------------------------------- the checks

type CheckFn = (facts: ReadinessFacts) => Draft;

const P = (facts: ReadinessFacts) => facts.pipeline;
const settings = (facts: ReadinessFacts) => facts.pipelineConfig.readiness;

function reportField<T>(e: EvidenceItem, get: (r: Record<string, unknown>) => T): T | undefined {
  const r = e.report;
  if (r === null || typeof r !== 'object') return undefined;
  try {
    return get(r as Record<string, unknown>);
  } catch {
    return undefined;
  }
}

const auditCheck: CheckFn = (facts) => {
  const s = settings(facts);
  const previous = facts.evidence.find((e) => e.kind === 'audit');
  const sample = (previous && reportField(previous, (r) => (r.source as { file?: string }).file)) || 'PRODUCTION_SAMPLE.jsonl';
  const command = `airlock audit ${sample} --pipeline ${P(facts)}`;
  return evidenceCheck(facts, 'audit', s.maxAgeMs, 'audit', command, (e) => {
    const issues = reportField(e, (r) => r.issues as { kind: string; field?: string | null; count: number }[]) ?? [];
    const rows = num(e.summary.rows) ?? 0;
    const untriaged = issues.filter((i) => !(s.triaged[i.kind] || (i.field && s.triaged[`${i.kind}:${i.field}`])));
    const figure = `${rows} rows of ${String(e.summary.source ?? 'a sample')}, ${issues.length} issue${issues.length === 1 ? '' : 's'} (${issues.length - untriaged.length} triaged)`;
    const problems = untriaged.map((i) => `not triaged: ${i.kind}${i.field ? ` in ${i.field}` : ''} (${i.count} rows)`);
    const first = untriaged[0];
    return {
      problems,
      figure,
      fix: first
        ? `look at the rows (airlock audit ${sample} --pipeline ${P(facts)}), fix the data or the contract, then record the decision: pipelines.${P(facts)}.readiness.triaged."${first.kind}${first.field ? `:${first.field}` : ''}": "what was decided"`
        : undefined,
    };
  });
};

const STRUCTURAL = ['unknown_field', 'type_mismatch'] as const;

const contractCheck: CheckFn = (facts) => {
  const p = facts.pipelineConfig;
  if (!p.contract) {
    return {
      status: 'fail',
      evidence: `pipelines.${P(facts)} has no contract: records are not checked at the ingestion boundary`,
      fix: `airlock contract infer PRODUCTION_SAMPLE.jsonl > contract.schema.json, review it, then set pipelines.${P(facts)}.contract: ./contract.schema.json`,
    };
  }
  const notHalting = STRUCTURAL.filter((k) => p.gate.policies[k] !== 'halt');
  const source = p.contract.source === 'inline' ? 'inline in the config' : (p.contract.source.split(/[\\/]/).pop() ?? p.contract.source);
  const halting = Object.entries(p.gate.policies)
    .filter(([, v]) => v === 'halt')
    .map(([k]) => k);
  const figure = `contract ${source} (${short(p.contract.hash)}); halts on ${halting.join(', ') || 'nothing'} after ${p.gate.haltAfter.records} records within ${humanDuration(p.gate.haltAfter.withinMs)}`;
  if (notHalting.length > 0) {
    return {
      status: 'fail',
      evidence: `${figure}; a structural change (${notHalting.join(', ')}) does not halt the pipeline`,
      fix: `set ${notHalting.map((k) => `pipelines.${P(facts)}.gate.policies.${k}: halt`).join(' and ')}`,
    };
  }
  const inForce = facts.contractInForce;
  const accepted =
    inForce && inForce.hash !== p.contract.hash
      ? `; in force: version ${inForce.version} (${inForce.source}${inForce.createdBy ? ` by ${inForce.createdBy}` : ''}, ${day(inForce.createdAt)}), not the config's file — copy it into the file (airlock contract versions --pipeline ${P(facts)})`
      : inForce
        ? `; version ${inForce.version} in force`
        : '';
  // The gate checks every record and halts by itself: automatic and repeated.
  return { status: 'pass', points: 1, evidence: `${figure}${accepted}; checked on every record` };
};

function calibrationCommand(facts: ReadinessFacts): string {
  const previous = facts.evidence.find((e) => e.kind === 'calibration');
  const source = (previous && typeof previous.summary.source === 'string' && previous.summary.source) || 'LABELLED_PREDICTIONS.jsonl';
  return `airlock calibrate ${source} --pipeline ${P(facts)} --apply`;
}

const calibrationCheck: CheckFn = (facts) => {
  const s = settings(facts);
  const d = calibrationEvidence(facts);
  if (d.status !== 'pass' || (d.points ?? 0) >= 1) return d;
  // Refitted on schedule from reviewers' verdicts (routing.refit): calibration is automatic and repeated.
  const refit = findEvidence(facts, 'refit', s.maxAgeMs);
  if (refit.state === 'current' && refit.item.summary.outcome === 'ok') {
    return { ...d, points: 1, evidence: `${d.evidence}; refitted on schedule (refit #${refit.item.id} of ${day(refit.item.createdAt)})` };
  }
  return d;
};

function calibrationEvidence(facts: ReadinessFacts): Draft {
  const s = settings(facts);
  return evidenceCheck(facts, 'calibration', s.maxAgeMs, 'calibration', calibrationCommand(facts), (e) => {
    const rows = num(e.summary.rows) ?? 0;
    const raw = num(e.summary.ece);
    const calibrated = num(e.summary.calibrated_ece);
    // ECE: top-label expected calibration error, 15 equal-width bins (Guo et al. 2017, eq. 3), as airlock calibrate reports it.
    const ece = calibrated ?? raw;
    const problems: string[] = [];
    if (rows < s.minLabelled) problems.push(`${rows} labelled records, fewer than the ${s.minLabelled} required`);
    if (ece === null) problems.push('the report has no ECE');
    else if (ece > s.maxEce) problems.push(`ECE ${fmt(ece)} is above the bound ${s.maxEce}`);
    const figure = `${rows} labelled records, ECE ${raw === null ? '?' : fmt(raw)}${calibrated === null ? '' : ` → ${fmt(calibrated)} calibrated (${String(e.summary.method ?? 'calibrator')})`}`;
    return {
      problems,
      figure,
      fix:
        rows < s.minLabelled
          ? `label at least ${s.minLabelled} records, then ${calibrationCommand(facts)}`
          : `${calibrationCommand(facts).replace(' --apply', ' --method isotonic --apply')} (a calibrator that fits better), or more labelled records`,
    };
  });
}

const thresholdCheck: CheckFn = (facts) => {
  const s = settings(facts);
  const p = P(facts);
  const active = facts.routing.find((v) => v.status === 'active');
  const latest = findEvidence(facts, 'calibration', s.maxAgeMs);
  if (!active) {
    const proposed = [...facts.routing].reverse().find((v) => v.status === 'proposed');
    return {
      status: 'fail',
      evidence: `no routing version is in force: decisions use routing.auto_accept_at ${facts.pipelineConfig.routing.autoAcceptAt} on raw confidence, without a guarantee${proposed ? `; version ${proposed.version} is proposed` : ''}`,
      fix: proposed ? `airlock thresholds approve --pipeline ${p} --version ${proposed.version}` : calibrationCommand(facts),
    };
  }
  const t = active.threshold;
  const figure =
    `routing version ${active.version} in force since ${day(active.activatedAt ?? active.createdAt)}: threshold ${num(t.value) ?? '?'}, ` +
    `coverage ${num(t.coverage) === null ? '?' : pct(t.coverage as number)}, error ≤ ${num(t.error_upper_bound) === null ? '?' : pct(t.error_upper_bound as number)} ` +
    `with probability ${num(t.delta) === null ? '?' : fmt(1 - (t.delta as number))} (${String(t.method ?? 'ltt')})`;
  // The calibration the version in force was fitted on: made with another model, contract or config, its guarantee
  // says nothing about what runs now.
  const source = facts.evidence.find((e) => e.id === active.evidenceId && (e.kind === 'calibration' || e.kind === 'refit'));
  const changed = source ? EVIDENCE_DEPENDS_ON[source.kind].filter((k) => source.hashes[k] !== facts.current[k]) : [];
  if (source && changed.length > 0) {
    return {
      status: 'stale',
      evidence: `${figure}; fitted on ${source.kind} #${source.id} of ${day(source.createdAt)}, made with another version of ${changed.map((k) => HASH_NAMES[k]).join(', ')}`,
      fix: calibrationCommand(facts),
      artefact: source,
    };
  }
  // A calibration newer than the version in force (a refit may have replaced an older one since): it should have
  // made the next version; say why it did not.
  if (latest.state === 'current' && latest.item.createdAt > (active.activatedAt ?? active.createdAt)) {
    const e = latest.item;
    if (e.summary.feasible === false) {
      const reason = reportField(e, (r) => (r.threshold as { reason?: string }).reason);
      return {
        status: 'fail',
        evidence: `${figure}; but the latest calibration #${e.id} of ${day(e.createdAt)} found no threshold that carries its guarantee${reason ? ` (${reason})` : ''}`,
        fix: `more labelled records or a lower --target-accuracy, then ${calibrationCommand(facts)}`,
        artefact: e,
      };
    }
    const made = facts.routing.find((v) => v.evidenceId === e.id);
    if (made && made.status === 'proposed') {
      return {
        status: 'fail',
        evidence: `${figure}; the latest calibration #${e.id} of ${day(e.createdAt)} proposed version ${made.version}, not yet approved`,
        fix: `airlock thresholds approve --pipeline ${p} --version ${made.version}`,
        artefact: e,
      };
    }
  }
  // The router applies it to every record (automatic); the calibration behind it is counted by confidence.calibration.
  return { status: 'pass', points: 1, evidence: `${figure}; applied to every decision` };
};

const probeCheck: CheckFn = (facts) => {
  const s = settings(facts);
  const previous = facts.evidence.find((e) => e.kind === 'probe');
  const sample = (previous && reportField(previous, (r) => (r.sample as { file?: string }).file)) || 'PRODUCTION_SAMPLE.jsonl';
  const command = `airlock probe --pipeline ${P(facts)} --sample ${sample}`;
  return evidenceCheck(facts, 'probe', s.maxAgeMs, 'probe', command, (e) => {
    const findings = (e.summary.findings ?? {}) as Record<string, number>;
    const crashes = num(findings.crashes) ?? 0;
    const garbage = num(findings.confident_garbage) ?? 0;
    const problems: string[] = [];
    if (crashes > 0) problems.push(`the model crashed on ${crashes} case${crashes === 1 ? '' : 's'}`);
    if (garbage > 0)
      problems.push(`${garbage} garbage case${garbage === 1 ? ' was' : 's were'} answered at or above the auto-accept threshold`);
    const figure = `${num(e.summary.cases) ?? '?'} cases at threshold ${num(e.summary.threshold) ?? '?'}: ${crashes} crashes, ${garbage} confident on garbage, ${num(findings.errors) ?? 0} errors, ${num(findings.timeouts) ?? 0} timeouts`;
    return {
      problems,
      figure,
      fix:
        crashes > 0
          ? `make the model answer every input (the crashing cases are listed by: ${command}), then run it again`
          : `calibrate so garbage falls below the threshold (${calibrationCommand(facts)}), then ${command}`,
    };
  });
};

const loadtestCheck: CheckFn = (facts) => {
  const s = settings(facts);
  const peak = facts.pipelineConfig.launch.expectedPeak;
  if (!peak) {
    return {
      status: 'fail',
      evidence: `pipelines.${P(facts)}.launch.expected_peak is not set: nothing to size the load test against`,
      fix: `set pipelines.${P(facts)}.launch.expected_peak (e.g. 20/s), then run the load test at ${s.peakFactor}× it`,
    };
  }
  const need = perSecond(peak) * s.peakFactor;
  const command = `airlock loadtest --pipeline ${P(facts)} --rate ${+need.toFixed(3)}/s --duration 60s --threshold lost==0 duplicates==0`;
  return evidenceCheck(facts, 'loadtest', s.maxAgeMs, 'load test', command, (e) => {
    const offered = num(reportField(e, (r) => (r.offered as { rate_per_second?: number }).rate_per_second)) ?? 0;
    const lost = num(e.summary.lost);
    const duplicates = num(e.summary.duplicates);
    const problems: string[] = [];
    // A small tolerance: 2 × 10/s is 20.000000000000004/s in floating point.
    if (offered + 1e-9 < need)
      problems.push(`offered ${offered}/s, below ${s.peakFactor}× the expected peak of ${peak.text} (${+need.toFixed(3)}/s)`);
    if (lost !== 0) problems.push(`${lost ?? '?'} records lost`);
    if (duplicates !== 0) problems.push(`${duplicates ?? '?'} duplicate effects`);
    if (e.summary.passed !== true) problems.push('it did not pass (a threshold failed or the backlog did not drain)');
    const figure = `${offered}/s offered (expected peak ${peak.text}), achieved ${num(e.summary.achieved_rate) ?? '?'}/s, p99 ${num(e.summary.p99) ?? '?'}s, ${lost ?? '?'} lost, ${duplicates ?? '?'} duplicates, ${num(e.summary.dead_letters) ?? 0} dead letters`;
    return { problems, figure };
  });
};

const destinationsCheck: CheckFn = (facts) => {
  const p = facts.pipelineConfig;
  const dests = Object.values(p.destinations);
  if (dests.length === 0) return { status: 'pass', points: 1, evidence: 'the pipeline has no destinations: nothing to deliver' };
  const deadLetter = p.review.caseTypes.dead_letter;
  const owner = deadLetter?.owner;
  const ownerOk = owner !== undefined && facts.teams[owner] !== undefined && facts.teams[owner].members.length > 0;
  const problems: string[] = [];
  const parts: string[] = [];
  for (const d of dests) {
    const limit = d.rateLimit ? `${d.rateLimit.text}${d.preset ? ` (${d.preset.vendor} ${d.preset.plan})` : ''}` : null;
    if (!limit) problems.push(`${d.name} has no rate limit (found by AIMD probing only, after 429s)`);
    if (d.retry.maxAttempts < 2) problems.push(`${d.name} retries nothing (retry.max_attempts ${d.retry.maxAttempts})`);
    parts.push(
      `${d.name}: ${limit ?? 'no rate limit'}, retry ${d.retry.maxAttempts} attempts, backoff ${humanDuration(d.retry.baseMs)}–${humanDuration(d.retry.capMs)} for up to ${humanDuration(d.retry.maxAgeMs)}`,
    );
  }
  if (!ownerOk) {
    problems.push(
      owner === undefined
        ? 'dead letters have no owner (review.case_types.dead_letter.owner)'
        : `the dead-letter owner team "${owner}" does not exist or has no members`,
    );
  }
  const evidence = `${parts.join('; ')}; dead letters owned by ${ownerOk ? `team ${owner}` : 'nobody'}`;
  if (problems.length === 0) return { status: 'pass', points: 1, evidence };
  const noLimit = dests.find((d) => !d.rateLimit);
  return {
    status: 'fail',
    evidence: `${evidence}; ${problems.join('; ')}`,
    fix: noLimit
      ? `set pipelines.${P(facts)}.destinations.${noLimit.name}.rate_limit to the vendor's documented limit (e.g. 10/s)`
      : !ownerOk
        ? `set pipelines.${P(facts)}.review.case_types.dead_letter.owner to a team (${Object.keys(facts.teams).join(', ') || 'add a teams: block'})`
        : `set pipelines.${P(facts)}.destinations.<name>.retry.max_attempts (default 25)`,
  };
};

const caseTypesCheck: CheckFn = (facts) => {
  const p = facts.pipelineConfig;
  const types = pipelineCaseTypes(p);
  const problems: { type: string; missing: string[] }[] = [];
  const parts: string[] = [];
  for (const t of types) {
    const c = t.config;
    const missing: string[] = [];
    if (!c.configured) missing.push('configuration');
    else {
      if (!c.owner) missing.push('owner');
      if (!c.backup) missing.push('backup');
      if (c.slaMs === undefined) missing.push('sla');
      if (!c.escalation || c.escalation.levels.length === 0) missing.push('escalation');
      // Authority: some role must be able to decide a case (approve, relabel or reject).
      const deciding = (['reviewer', 'lead', 'admin'] as const).filter((r) =>
        c.actions[r].some((a) => ['approve', 'relabel', 'reject'].includes(a)),
      );
      if (deciding.length === 0) missing.push('authority (no role may decide)');
    }
    if (missing.length) problems.push({ type: t.name, missing });
    else
      parts.push(
        `${t.name} (${c.owner}/${c.backup}, SLA ${humanDuration(c.slaMs as number)}, ${c.escalation?.levels.length} escalation levels)`,
      );
  }
  if (problems.length === 0)
    return {
      status: 'pass',
      points: 1,
      evidence: `${types.length} case types, each with owner/backup, SLA, escalation and authority: ${parts.join(', ')}`,
    };
  const first = problems[0];
  return {
    status: 'fail',
    evidence: problems.map((x) => `${x.type} has no ${x.missing.join(', ')}`).join('; '),
    fix: `set ${first.missing
      .map(
        (m) =>
          `pipelines.${P(facts)}.review.case_types.${first.type}.${m === 'configuration' ? '{owner, backup, sla, escalation}' : m.split(' ')[0]}`,
      )
      .join(', ')}`,
  };
};

const runbookCheck: CheckFn = (facts) => {
  const active = facts.routing.find((v) => v.status === 'active');
  const coverage = num(active?.threshold.coverage);
  const check = checkRunbook(
    { teams: facts.teams, pipelines: { [facts.pipeline]: facts.pipelineConfig } },
    { coverage: coverage === null ? {} : { [facts.pipeline]: coverage } },
  );
  const where = (f: { case_type: string | null; team?: string }) => (f.case_type ? `${f.case_type}: ` : f.team ? `team ${f.team}: ` : '');
  const warnings = check.warnings.length ? `; warnings: ${check.warnings.map((w) => w.message).join('; ')}` : '';
  if (check.ok) {
    return {
      status: 'pass',
      points: 1,
      evidence: `airlock runbook --check passes now (${pipelineCaseTypes(facts.pipelineConfig).length} case types${coverage === null ? '' : `, staffing checked at ${pct(coverage)} auto-accepted`})${warnings}`,
    };
  }
  return {
    status: 'fail',
    evidence: `airlock runbook --check finds ${check.findings.length} problem${check.findings.length === 1 ? '' : 's'}: ${check.findings.map((f) => `${where(f)}${f.problem}`).join('; ')}`,
    fix: `${check.findings[0].fix} (then: airlock runbook --check --from-database)`,
  };
};

const slaCheck: CheckFn = (facts) => {
  const s = settings(facts);
  const goLive = facts.pipelineConfig.launch.goLive;
  const start = goLive ? Date.parse(`${goLive}T00:00:00Z`) : Number.NaN;
  if (!goLive || !(facts.now >= start)) {
    return {
      status: 'manual',
      points: 0,
      evidence: goLive
        ? `not launched yet (go-live ${goLive}): SLA attainment is measured from then on`
        : `pipelines.${P(facts)}.launch.go_live is not set: SLA attainment is measured after launch`,
      fix: goLive ? null : `set pipelines.${P(facts)}.launch.go_live: YYYY-MM-DD`,
    };
  }
  // SLA attainment: resolved cases whose resolution met the (pause-adjusted) deadline / resolved cases with an SLA
  // (src/review/queue-stats.ts queueMetrics); breached: open cases past their deadline now.
  const m = queueMetrics(facts.cases, [], { from: start, now: facts.now });
  const met = m.by_type.reduce((a, t) => a + t.sla_attainment.met, 0);
  const n = m.by_type.reduce((a, t) => a + t.sla_attainment.n, 0);
  const breached = m.by_type.reduce((a, t) => a + t.breached_open, 0);
  const share = n > 0 ? met / n : null;
  const figure = `since go-live ${goLive}: ${n} cases resolved with an SLA, ${met} in time${share === null ? '' : ` (${pct(share)})`}, ${breached} open past their SLA`;
  const problems: string[] = [];
  if (share !== null && share < s.minSlaAttainment) problems.push(`attainment ${pct(share)} is below ${pct(s.minSlaAttainment)}`);
  if (breached > 0) {
    const types = m.by_type.filter((t) => t.breached_open > 0).map((t) => `${t.type} ${t.breached_open}`);
    problems.push(`open cases past their SLA: ${types.join(', ')}`);
  }
  if (problems.length === 0) return { status: 'pass', points: 1, evidence: figure };
  return {
    status: 'fail',
    evidence: `${figure}; ${problems.join('; ')}`,
    fix: 'work the overdue cases first (airlock runbook shows who owns them; the console\'s "next case" gives the most urgent), and compare the team\'s capacity with the review volume: airlock runbook --check --from-database',
  };
};

/** Every field the contract names, as dotted paths (nested object properties included). */
export function contractFields(schema: unknown, prefix = ''): string[] {
  const out: string[] = [];
  const props = (schema as { properties?: Record<string, unknown> } | null)?.properties;
  if (!props || typeof props !== 'object') return out;
  for (const [name, sub] of Object.entries(props)) {
    const path = prefix ? `${prefix}.${name}` : name;
    out.push(path);
    out.push(...contractFields(sub, path));
  }
  return out;
}

const driftReferenceCheck: CheckFn = (facts) => {
  const ref = facts.driftReference;
  const p = P(facts);
  const command = `airlock reference PRODUCTION_SAMPLE.jsonl --pipeline ${p}`;
  if (!ref.supported) {
    return {
      status: 'fail',
      evidence: 'this database stores no drift reference (no reference table): drift cannot be measured',
      fix: `upgrade Airlock, then ${command}`,
    };
  }
  if (ref.createdAt === undefined) return { status: 'fail', evidence: `no drift reference stored for ${p}`, fix: command };
  const fields = new Set(ref.fields ?? []);
  const wanted = facts.pipelineConfig.contract ? contractFields(facts.pipelineConfig.contract.schema).filter((f) => f !== 'id') : [];
  // A nested field counts as covered when the reference summarises it or its parent object as a whole.
  const covered = (f: string) => fields.has(f) || f.split('.').some((_, i, parts) => fields.has(parts.slice(0, i + 1).join('.')));
  const leaves = wanted.filter((f) => !wanted.some((g) => g.startsWith(`${f}.`)));
  const missing = leaves.filter((f) => !covered(f));
  const figure = `reference of ${day(ref.createdAt)}${ref.source ? ` from ${ref.source}` : ''}: ${ref.rows ?? '?'} rows, ${fields.size} fields${facts.pipelineConfig.contract ? `, ${leaves.length - missing.length} of the contract's ${leaves.length}` : ' (no contract to compare with)'}`;
  if (missing.length > 0) {
    return {
      status: 'fail',
      evidence: `${figure}; not covered: ${missing.join(', ')}`,
      fix: `${command} (a sample in which every contract field appears)`,
    };
  }
  return { status: 'pass', points: 1, evidence: `${figure}; every window is compared with it` };
};

// biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${ENV} syntax, shown to the user
const SLACK_SINK = '{ type: webhook, url: "${SLACK_WEBHOOK_URL}", format: slack }';

const alertsCheck: CheckFn = (facts) => {
  const s = settings(facts);
  const sinks = facts.alerts;
  const p = P(facts);
  if (sinks.length === 0) {
    return {
      status: 'fail',
      evidence: 'alerts: lists no sink: a halt or a breach would reach nobody',
      fix: `add alerts: [${SLACK_SINK}] to the config`,
    };
  }
  const webhooks = sinks.filter((x) => x.type === 'webhook');
  if (webhooks.length === 0) {
    return {
      status: 'fail',
      evidence: 'alerts go to the log only: nobody is told of a halt or a breach',
      fix: `add a webhook sink to alerts: (e.g. ${SLACK_SINK})`,
    };
  }
  const command = `airlock readiness --pipeline ${p} --test-alert`;
  return evidenceCheck(facts, 'alert_test', s.maxAgeMs, 'test alert', command, (e) => {
    const results = (e.summary.sinks ?? []) as { sink: string; delivered: boolean; error?: string | null }[];
    const failed = results.filter((r) => !r.delivered);
    const problems = failed.map((r) => `${r.sink} failed: ${r.error ?? 'not delivered'}`);
    if (results.length === 0) problems.push('it reached no sink');
    return {
      problems,
      figure: `sent to ${results.length} sink${results.length === 1 ? '' : 's'}, ${results.length - failed.length} delivered`,
    };
  });
};

const thirtyDayReviewCheck: CheckFn = (facts) => {
  const s = settings(facts);
  const p = P(facts);
  const goLive = facts.pipelineConfig.launch.goLive;
  if (!goLive) {
    return {
      status: 'fail',
      evidence: `pipelines.${p}.launch.go_live is not set: the 30-day review cannot be scheduled`,
      fix: `set pipelines.${p}.launch.go_live: YYYY-MM-DD and pipelines.${p}.readiness.thirty_day_review: a date about 30 days later`,
    };
  }
  const start = Date.parse(`${goLive}T00:00:00Z`);
  const done = facts.evidence.find((e) => e.kind === 'review_report' && e.createdAt >= start);
  if (done) {
    return {
      status: 'pass',
      points: 1,
      evidence: `review report #${done.id} made on ${day(done.createdAt)} (go-live ${goLive})`,
      artefact: done,
    };
  }
  const suggested = day(start + 30 * DAY_MS);
  const command = `airlock review-report --pipeline ${p} --days 30 --html review.html`;
  if (!s.thirtyDayReview) {
    return {
      status: 'fail',
      evidence: `no 30-day review is scheduled (go-live ${goLive})`,
      fix: `set pipelines.${p}.readiness.thirty_day_review: ${suggested}; on that day: ${command}`,
    };
  }
  const due = Date.parse(`${s.thirtyDayReview}T00:00:00Z`);
  if (due < start) {
    return {
      status: 'fail',
      evidence: `the 30-day review is scheduled for ${s.thirtyDayReview}, before go-live ${goLive}`,
      fix: `set pipelines.${p}.readiness.thirty_day_review: ${suggested}`,
    };
  }
  if (due + DAY_MS <= facts.now) {
    return { status: 'fail', evidence: `the 30-day review was due on ${s.thirtyDayReview} and no review report is stored`, fix: command };
  }
  // Scheduled by a person in the config: done by hand.
  return {
    status: 'pass',
    points: 0.5,
    evidence: `scheduled for ${s.thirtyDayReview} (${Math.round((due - start) / DAY_MS)} days after go-live ${goLive}); then: ${command}`,
  };
};

const modelVersionCheck: CheckFn = (facts) => {
  const m = facts.pipelineConfig.model;
  const { total, withModelVersion, since } = facts.predictions;
  const configured = m.version ? `model.version ${m.version}` : null;
  const missing = total - withModelVersion;
  if (missing > 0) {
    return {
      status: 'fail',
      evidence: `${missing} of ${total} predictions since ${day(since)} do not record the model version`,
      fix: `set pipelines.${P(facts)}.model.version (or have the model answer model_version)`,
    };
  }
  if (total === 0 && !configured) {
    return {
      status: 'fail',
      evidence: `no prediction stored since ${day(since)} and no model.version in the config: nothing says which model decided`,
      fix: `set pipelines.${P(facts)}.model.version`,
    };
  }
  return {
    status: 'pass',
    points: 1,
    evidence: `${withModelVersion} of ${total} predictions since ${day(since)} record the model version${configured ? ` (${configured})` : ''}`,
  };
};

const rollbackCheck: CheckFn = (facts) => {
  const p = P(facts);
  const active = facts.routing.find((v) => v.status === 'active');
  if (!active) {
    return {
      status: 'fail',
      evidence: 'no routing version is in force, so there is nothing to roll back from or to',
      fix: calibrationCommand(facts),
    };
  }
  const earlier = facts.routing.filter((v) => v.version !== active.version && v.status !== 'rejected');
  if (earlier.length === 0) {
    return {
      status: 'fail',
      evidence: `routing version ${active.version} is the only one: a bad threshold could only be replaced by a new calibration`,
      fix: `keep a second known-good version: ${calibrationCommand(facts).replace(' --apply', '')}, then airlock thresholds approve --pipeline ${p}; roll back with airlock thresholds rollback --pipeline ${p} --to N`,
    };
  }
  const to = earlier[earlier.length - 1];
  return {
    status: 'pass',
    points: 1,
    evidence: `version ${active.version} in force; ${earlier.length} other version${earlier.length === 1 ? '' : 's'} kept (airlock thresholds rollback --pipeline ${p} --to ${to.version}; servers pick it up within 5 s)`,
  };
};

const metricsCheck: CheckFn = (facts) => {
  const note = settings(facts).confirmed['monitoring.metrics'];
  if (note) return { status: 'pass', points: 0.5, evidence: `confirmed by hand: ${note}` };
  return {
    status: 'manual',
    points: 0,
    evidence: 'airlock serve exposes Prometheus metrics at /metrics; only a person can confirm they are scraped and alerted on',
    fix: `scrape /metrics of every airlock serve process, then record it: pipelines.${P(facts)}.readiness.confirmed."monitoring.metrics": "Prometheus job …, since …"`,
  };
};

const CHECKS: { id: ReadinessCheckId; title: string; run: CheckFn }[] = [
  { id: 'data.audit', title: 'A recent production sample audited, its issues triaged', run: auditCheck },
  { id: 'data.contract', title: 'A contract, halting on structural change', run: contractCheck },
  { id: 'confidence.calibration', title: 'Calibrated on enough recent labelled records, ECE within bound', run: calibrationCheck },
  { id: 'confidence.threshold', title: 'An auto-accept threshold that carries its guarantee, in force', run: thresholdCheck },
  { id: 'confidence.probe', title: 'Probed: no crash, nothing confident on garbage', run: probeCheck },
  { id: 'integrations.loadtest', title: 'Load test at the expected peak × factor: nothing lost, no duplicate effect', run: loadtestCheck },
  { id: 'integrations.destinations', title: 'Every destination: rate limit, retry policy, dead-letter owner', run: destinationsCheck },
  { id: 'review.case_types', title: 'Every case type: owner, backup, SLA, escalation, authority', run: caseTypesCheck },
  { id: 'review.runbook', title: 'The runbook check passes', run: runbookCheck },
  { id: 'review.sla', title: 'Review SLA attainment after launch', run: slaCheck },
  { id: 'change.drift_reference', title: 'A drift reference covering every contract field', run: driftReferenceCheck },
  { id: 'change.alerts', title: 'Alert sinks configured and a test alert delivered', run: alertsCheck },
  { id: 'change.thirty_day_review', title: 'The 30-day review scheduled or done', run: thirtyDayReviewCheck },
  { id: 'monitoring.model_version', title: 'The model version recorded on every decision', run: modelVersionCheck },
  { id: 'monitoring.rollback', title: 'Calibrator and threshold can be rolled back', run: rollbackCheck },
  { id: 'monitoring.metrics', title: 'Metrics scraped', run: metricsCheck },
];

const sectionOf = (id: ReadinessCheckId) => id.slice(0, id.indexOf('.')) as ReadinessSection;

/** Evaluates every check and scores the report (see the module comment). `minScore` null: no minimum. */
export function evaluateReadiness(facts: ReadinessFacts, options: { minScore?: number | null } = {}): ReadinessReport {
  const blocking = new Set(facts.pipelineConfig.readiness.blocking);
  const checks: ReadinessCheck[] = CHECKS.map((c) => {
    let d: Draft;
    try {
      d = c.run(facts);
    } catch (err) {
      d = { status: 'fail', evidence: `the check could not run: ${(err as Error).message}`, fix: null };
    }
    const status = d.status;
    // A manual check that nobody confirmed is not a failure of the gate, but it earns nothing.
    const points = status === 'pass' || status === 'manual' ? (d.points ?? (status === 'pass' ? 1 : 0)) : 0;
    return {
      id: c.id,
      title: c.title,
      status,
      points,
      blocking: blocking.has(c.id),
      evidence: d.evidence,
      fix: status === 'pass' ? null : (d.fix ?? null),
      artefact: d.artefact ? artefactOf(d.artefact) : null,
    };
  });
  const sections: ReadinessSectionReport[] = READINESS_SECTIONS.map((name) => {
    const of = checks.filter((c) => sectionOf(c.id) === name);
    return { name, title: SECTION_TITLES[name], score: of.reduce((a, c) => a + c.points, 0), checks: of };
  });
  const score = Math.min(...sections.map((s) => s.score));
  const settings = facts.pipelineConfig.readiness;
  const minScore = options.minScore ?? settings.minScore ?? null;
  // Under the default gate a blocking (essential) check must pass on its evidence: waiting for a person is not passing.
  // A gate the config names blocks on failed or stale checks, as it always did.
  const notPassing = (c: ReadinessCheck) => c.status === 'fail' || c.status === 'stale' || (settings.defaultGate && c.status !== 'pass');
  const blockingFailed = checks.filter((c) => c.blocking && notPassing(c)).map((c) => c.id);
  return {
    pipeline: facts.pipeline,
    generated_at: iso(facts.now),
    score,
    min_score: minScore,
    blocking_failed: blockingFailed,
    passed: blockingFailed.length === 0 && (minScore === null || score >= minScore),
    gate: settings.defaultGate
      ? {
          default: true,
          why: `the default gate (readiness.blocking and readiness.min_score are not set): the essential checks ${settings.blocking.join(', ')} pass on stored evidence, and every section scores at least ${DEFAULT_MIN_SCORE}`,
        }
      : { default: false, why: 'the gate the config names (readiness.blocking, readiness.min_score)' },
    sections,
  };
}
