import { type Kysely, sql } from 'kysely';
import { alertOf } from '../alerts/catalog.js';
import type { GatePolicy } from '../config/sections/gate.js';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import { evolveContract } from '../contract/evolve.js';
import { type Contract, compileContract, type Violation, type ViolationKind } from '../contract/gate.js';
import { newCase } from '../review/cases.js';
import type { Runtime } from '../runtime/context.js';
import type { NewReviewCase } from '../store/cases.js';
import { contractSchema, recordBody, violationView } from '../store/codecs.js';
import { contractVersions, insertActiveContractVersion, insertHalt, recordSighting } from '../store/contracts.js';
import type { NewEvent } from '../store/events.js';
import type { RecordStatus, Tables } from '../store/tables.js';

/** The contract in force for a pipeline: compiled, with its version number. */
export interface ActiveContract {
  contract: Contract;
  version: number;
}

const compiled = new Map<string, Contract>();

function compileCached(hash: string, schemaText: string): Contract {
  let c = compiled.get(hash);
  if (!c) {
    c = compileContract(contractSchema.decode(schemaText));
    compiled.set(hash, c);
  }
  return c;
}

/**
 * Makes sure the config file's contract is a version of the pipeline: the first time a contract is seen it becomes
 * the active version; a contract already known (e.g. the config's version 1 after a person accepted version 2)
 * changes nothing. Safe to call from several processes at once.
 */
export async function registerConfigContract(db: Kysely<Tables>, pipeline: PipelineConfig, now: number): Promise<void> {
  const c = pipeline.contract;
  if (!c) return;
  for (let attempt = 0; attempt < 3; attempt++) {
    const versions = await contractVersions(db, pipeline.name);
    if (versions.some((v) => v.hash === c.hash)) return;
    try {
      await db.transaction().execute((trx) =>
        insertActiveContractVersion(trx, {
          pipeline: pipeline.name,
          hash: c.hash,
          schema: contractSchema.encode(c.schema),
          source: 'config',
          now,
          by: null,
          note: `from ${c.source}`,
        }),
      );
      return;
    } catch (err) {
      // Another process registered a version at the same moment: look again.
      if (attempt === 2) throw err;
    }
  }
}

/**
 * What the gate needs per batch, in one query: the contract version in force (its schema fetched only when this
 * process has not compiled it yet) and whether the pipeline is halted.
 */
async function gateState(trx: Kysely<Tables>, pipeline: PipelineConfig): Promise<{ active: ActiveContract | null; halted: boolean }> {
  if (!pipeline.contract) return { active: null, halted: false };
  const res = await sql<{ version: number | null; hash: string | null; halted: number | boolean }>`
    select
      (select version from contract_versions where pipeline = ${pipeline.name} and status = 'active' order by version desc limit 1) as version,
      (select hash from contract_versions where pipeline = ${pipeline.name} and status = 'active' order by version desc limit 1) as hash,
      (case when exists (select 1 from halts where pipeline = ${pipeline.name} and status = 'open') then 1 else 0 end) as halted`.execute(
    trx,
  );
  const row = res.rows[0];
  const halted = Number(row?.halted ?? 0) === 1;
  if (!row || row.hash === null || row.version === null) return { active: { contract: pipeline.contract, version: 0 }, halted };
  if (row.hash === pipeline.contract.hash) return { active: { contract: pipeline.contract, version: Number(row.version) }, halted };
  let c = compiled.get(row.hash);
  if (!c) {
    const v = await trx
      .selectFrom('contract_versions')
      .select('schema')
      .where('pipeline', '=', pipeline.name)
      .where('hash', '=', row.hash)
      .executeTakeFirstOrThrow();
    c = compileCached(row.hash, v.schema);
  }
  return { active: { contract: c, version: Number(row.version) }, halted };
}

/** The active contract of a pipeline, or null when it has none. */
export async function activeContract(db: Kysely<Tables>, pipeline: PipelineConfig): Promise<ActiveContract | null> {
  return (await gateState(db, pipeline)).active;
}

const POLICY_RANK: Record<GatePolicy, number> = { accept: 0, quarantine: 1, halt: 2 };

/** The strongest policy among a record's violations (halt > quarantine > accept). */
export function policyFor(pipeline: PipelineConfig, violations: Violation[]): GatePolicy {
  let p: GatePolicy = 'accept';
  for (const v of violations) {
    let q = pipeline.gate.policies[v.kind];
    // Text that is not JSON cannot be scored: `accept` means quarantine for it.
    if (v.kind === 'unparseable' && q === 'accept') q = 'quarantine';
    if (POLICY_RANK[q] > POLICY_RANK[p]) p = q;
  }
  return p;
}

export interface GateInput {
  id: string;
  body: unknown;
  /** Set when the item was not JSON: why (it is gated as one `unparseable` violation). */
  unparseable?: string;
}

/** The violation of an item that could not be parsed: the whole record, kind `unparseable`. */
function unparseableViolation(reason: string): Violation {
  return { kind: 'unparseable', path: '/', field: '', message: reason, keyword: 'parse' };
}

export interface GateVerdict {
  id: string;
  status: Extract<RecordStatus, 'received' | 'quarantined' | 'halted'>;
  violations: Violation[];
  contractHash: string | null;
  contractVersion: number | null;
}

export interface GateResult {
  verdicts: GateVerdict[];
  events: NewEvent[];
  cases: NewReviewCase[];
  /** Set when these records halted the pipeline: the alert to raise once the transaction commits. */
  halted?: {
    haltId: number;
    kind: ViolationKind;
    field: string;
    records: number;
    exampleIds: string[];
    contractVersion: number | null;
    /** The changed field's value in the example records (for sinks with include_values only). */
    examples: { record_id: string; value: unknown }[];
    /** What accepting the change would change in the contract, from the example records. */
    proposed: string[];
  };
}

/**
 * Runs records through a pipeline's contract gate inside the caller's transaction. A record that keeps the
 * contract (or breaks it only where the policy is `accept`) is received; one that breaks it is quarantined, and
 * never scored; a structural change seen in `halt_after.records` records within the window halts the pipeline.
 * While the pipeline is halted every record waits as `halted`, whatever its shape, so that processing can resume
 * in arrival order once a person has decided.
 */
export async function gateRecords(trx: Kysely<Tables>, pipeline: PipelineConfig, items: GateInput[], now: number): Promise<GateResult> {
  const result: GateResult = { verdicts: [], events: [], cases: [] };
  const state = await gateState(trx, pipeline);
  const active = state.active;
  if (!active) {
    for (const it of items)
      result.verdicts.push({ id: it.id, status: 'received', violations: [], contractHash: null, contractVersion: null });
    return result;
  }
  let halted = state.halted;
  const { contract, version } = active;
  // Changes a person rejected under this contract version quarantine their records without halting again (read only
  // when a record shows a halt-policy change, so the common path costs one query per batch).
  let rejected: Set<string> | undefined;
  const rejectedChanges = async () => {
    rejected ??= new Set(
      (
        await trx
          .selectFrom('halts')
          .select(['kind', 'field'])
          .where('pipeline', '=', pipeline.name)
          .where('status', '=', 'rejected')
          .where('contract_version', version ? '=' : 'is', version || null)
          .execute()
      ).map((h) => `${h.kind}\u0000${h.field}`),
    );
    return rejected;
  };
  const stamp = { contractHash: contract.hash, contractVersion: version || null };
  for (const it of items) {
    const violations = it.unparseable ? [unparseableViolation(it.unparseable)] : contract.validate(it.body);
    if (halted) {
      result.verdicts.push({ id: it.id, status: 'halted', violations, ...stamp });
      result.events.push({
        pipeline: pipeline.name,
        recordId: it.id,
        at: now,
        kind: 'halted',
        detail: { reason: 'pipeline halted', violations: violations.length },
      });
      continue;
    }
    const policy = policyFor(pipeline, violations);
    if (policy === 'accept') {
      result.verdicts.push({ id: it.id, status: 'received', violations, ...stamp });
      if (violations.length > 0) {
        result.events.push({
          pipeline: pipeline.name,
          recordId: it.id,
          at: now,
          kind: 'violations_accepted',
          detail: { violations: violations.map(violationView) },
        });
      }
      continue;
    }
    let haltNow: GateResult['halted'];
    const structural: { kind: ViolationKind; field: string; count: number }[] = [];
    if (policy === 'halt') {
      const seen = new Set<string>();
      for (const v of violations) {
        if (pipeline.gate.policies[v.kind] !== 'halt') continue;
        const key = `${v.kind}\u0000${v.field}`;
        if (seen.has(key) || (await rejectedChanges()).has(key)) continue;
        seen.add(key);
        const s = await recordSighting(trx, {
          pipeline: pipeline.name,
          kind: v.kind,
          field: v.field,
          recordId: it.id,
          now,
          windowMs: pipeline.gate.haltAfter.withinMs,
        });
        structural.push({ kind: v.kind, field: v.field, count: s.count });
        if (!haltNow && s.count >= pipeline.gate.haltAfter.records) {
          const detail = {
            records: s.count,
            window_ms: pipeline.gate.haltAfter.withinMs,
            example_ids: s.recordIds.slice(0, 10),
            violations: summarise(violations),
          };
          const haltId = await insertHalt(trx, {
            pipeline: pipeline.name,
            kind: v.kind,
            field: v.field,
            contractVersion: version || null,
            detail,
            now,
          });
          const bodies = new Map<string, unknown>([[it.id, it.body]]);
          const others = detail.example_ids.filter((id) => id !== it.id);
          if (others.length > 0) {
            const rows = await trx
              .selectFrom('records')
              .select(['id', 'body'])
              .where('pipeline', '=', pipeline.name)
              .where('id', 'in', others)
              .execute();
            for (const r of rows) bodies.set(r.id, recordBody.decode(r.body));
          }
          haltNow = {
            haltId,
            kind: v.kind,
            field: v.field,
            records: s.count,
            exampleIds: detail.example_ids,
            contractVersion: version || null,
            examples: detail.example_ids.map((id) => ({ record_id: id, value: valueAtField(bodies.get(id), v.field) })),
            // The contract diff accepting it would make (field names and kinds only, no values).
            proposed: [...new Set(evolveContract(contract.schema, [...bodies.values()]).changes)],
          };
        }
      }
    }
    if (haltNow) {
      halted = true;
      result.halted = haltNow;
      result.verdicts.push({ id: it.id, status: 'halted', violations, ...stamp });
      result.events.push({
        pipeline: pipeline.name,
        recordId: it.id,
        at: now,
        kind: 'pipeline_halted',
        detail: {
          halt: haltNow.haltId,
          change: { kind: haltNow.kind, field: haltNow.field },
          records: haltNow.records,
          violations: violations.map(violationView),
        },
      });
      result.cases.push(
        newCase(
          pipeline,
          it.id,
          'schema_halt',
          { halt: haltNow.haltId, kind: haltNow.kind, field: haltNow.field, records: haltNow.records },
          now,
        ),
      );
      continue;
    }
    result.verdicts.push({ id: it.id, status: 'quarantined', violations, ...stamp });
    result.events.push({
      pipeline: pipeline.name,
      recordId: it.id,
      at: now,
      kind: 'quarantined',
      detail: { violations: violations.map(violationView), ...(structural.length > 0 ? { structural_change: structural } : {}) },
    });
    result.cases.push(
      newCase(
        pipeline,
        it.id,
        'quarantine',
        {
          violations: violations.length,
          kinds: [...new Set(violations.map((v) => v.kind))],
          ...(structural.length > 0
            ? { structural_change: structural.map((s) => ({ ...s, halt_after: pipeline.gate.haltAfter.records })) }
            : {}),
        },
        now,
      ),
    );
  }
  return result;
}

/** The value at a dotted field path (`a.b`, array steps `[]` take the first item); undefined when absent. */
function valueAtField(body: unknown, field: string): unknown {
  let v: unknown = body;
  for (const part of field.split('.').filter(Boolean)) {
    const arrays = part.match(/\[\]/g)?.length ?? 0;
    const name = part.replace(/\[\]/g, '');
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[name];
    for (let i = 0; i < arrays; i++) v = Array.isArray(v) ? v[0] : undefined;
  }
  return v;
}

function summarise(violations: Violation[]): { kind: ViolationKind; field: string }[] {
  const seen = new Map<string, { kind: ViolationKind; field: string }>();
  for (const v of violations) seen.set(`${v.kind}\u0000${v.field}`, { kind: v.kind, field: v.field });
  return [...seen.values()];
}

/** Raises the halt alert (after the transaction that opened the halt committed). */
export async function alertHalt(rt: Runtime, pipeline: string, h: NonNullable<GateResult['halted']>): Promise<void> {
  await rt.alerts
    .raise(
      alertOf('schema_halt', {
        pipeline,
        haltId: h.haltId,
        kind: h.kind,
        field: h.field,
        records: h.records,
        withinMs: rt.config.pipelines[pipeline].gate.haltAfter.withinMs,
        proposed: h.proposed,
        contractVersion: h.contractVersion,
        exampleIds: h.exampleIds,
        examples: h.examples,
      }),
    )
    .catch((err) => rt.logger.error({ err }, 'could not raise the halt alert'));
  rt.metrics.halts.inc({ pipeline });
}
