import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { evolveContract } from '../contract/evolve.js';
import { compileContract } from '../contract/gate.js';
import { AirlockError } from '../errors.js';
import { type Actor, checkCaseAct, checkRecordCaseAct } from '../review/case-authority.js';
import { newCase } from '../review/cases.js';
import type { Runtime } from '../runtime/context.js';
import { insertCases, resolveCase } from '../store/cases.js';
import {
  caseReasonOf,
  contractSchema,
  type HaltDetail,
  type HaltResolution,
  haltDetail,
  haltResolution,
  recordBody,
  violations,
} from '../store/codecs.js';
import { contractVersions, haltsOf, insertActiveContractVersion, openHalt, resolveHalt } from '../store/contracts.js';
import { appendEvents } from '../store/events.js';
import type { HaltRow, RecordRow, Tables } from '../store/tables.js';
import { activeContract, alertHalt, gateRecords } from './gate.js';

export interface HaltView {
  id: number;
  pipeline: string;
  status: HaltRow['status'];
  change: { kind: string; field: string };
  contract_version: number | null;
  opened_at: string;
  detail: HaltDetail;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution: HaltResolution | null;
}

export function haltView(h: HaltRow): HaltView {
  return {
    id: Number(h.id),
    pipeline: h.pipeline,
    status: h.status,
    change: { kind: h.kind, field: h.field },
    contract_version: h.contract_version,
    opened_at: new Date(Number(h.opened_at)).toISOString(),
    detail: haltDetail.decode(h.detail),
    resolved_at: h.resolved_at === null ? null : new Date(Number(h.resolved_at)).toISOString(),
    resolved_by: h.resolved_by,
    resolution: haltResolution.decodeOrNull(h.resolution),
  };
}

function pipelineOf(rt: Runtime, name: string) {
  const p = rt.config.pipelines[name];
  if (!p) throw new AirlockError('NOT_FOUND', `pipeline "${name}" is not in the config`);
  return p;
}

/** Records of a pipeline in `halted` or `quarantined` that showed the halt's change (kind and field). */
async function recordsShowingChange(db: Kysely<Tables>, halt: HaltRow, statuses: ('halted' | 'quarantined')[]): Promise<RecordRow[]> {
  const rows = await db
    .selectFrom('records')
    .selectAll()
    .where('pipeline', '=', halt.pipeline)
    .where('status', 'in', statuses)
    .where('violations', 'is not', null)
    .orderBy('seq')
    .execute();
  return rows.filter((r) => violations.decode(r.violations as string).some((v) => v.kind === halt.kind && v.field === halt.field));
}

export interface HaltStatus {
  pipeline: string;
  halted: boolean;
  halt: HaltView | null;
  /** Records waiting for the decision (status `halted`), and those quarantined earlier with the same change. */
  backlog: number;
  quarantined_with_change: number;
  /** What accepting would change in the contract (computed from the records that showed the change). */
  proposed: { changes: string[]; still_rejected: number; schema: object } | null;
  contract: { version: number; hash: string } | null;
  history: HaltView[];
}

/** The pipeline's halt, if any: the change, the backlog, and the contract accepting it would make. */
export async function haltStatus(rt: Runtime, pipelineName: string): Promise<HaltStatus> {
  const pipeline = pipelineOf(rt, pipelineName);
  const db = rt.store.db;
  const halt = await openHalt(db, pipelineName, rt.store.kind);
  const active = await activeContract(db, pipeline);
  const history = (await haltsOf(db, pipelineName, 20)).map(haltView);
  const backlog = Number(
    (
      await db
        .selectFrom('records')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('pipeline', '=', pipelineName)
        .where('status', '=', 'halted')
        .executeTakeFirst()
    )?.n ?? 0,
  );
  let proposed: HaltStatus['proposed'] = null;
  let quarantinedWithChange = 0;
  if (halt && active) {
    const showing = await recordsShowingChange(db, halt, ['halted', 'quarantined']);
    quarantinedWithChange = showing.filter((r) => r.status === 'quarantined').length;
    const evo = evolveContract(active.contract.schema, showing.map(bodyOf));
    proposed = { changes: [...new Set(evo.changes)], still_rejected: evo.stillRejected, schema: evo.schema };
  }
  return {
    pipeline: pipelineName,
    halted: halt !== undefined,
    halt: halt ? haltView(halt) : null,
    backlog,
    quarantined_with_change: quarantinedWithChange,
    proposed,
    contract: active ? { version: active.version, hash: active.contract.hash } : null,
    history,
  };
}

function bodyOf(r: RecordRow): unknown {
  return recordBody.decode(r.body);
}

export interface HaltDecision {
  /** Who decides: authorized on the halt's schema_halt case (a lead's call by default). */
  actor: Actor;
  note?: string;
  /** Accept: the new contract a person wrote, instead of the one Airlock derives from the records. */
  schema?: object;
}

export interface HaltOutcome {
  pipeline: string;
  halt: number;
  decision: 'accepted' | 'rejected';
  /** The contract version now active (accept only). */
  version?: number;
  changes?: string[];
  /** Quarantined records released into the backlog because they showed the accepted change. */
  released: number;
  /** Halted records quarantined because they showed the rejected change. */
  quarantined: number;
  /** Records that left `halted` when processing resumed (re-checked against the contract now in force). */
  resumed: number;
}

/**
 * Accepts the change that halted a pipeline as a new contract version. The records that showed it — the backlog
 * and the ones quarantined before the halt — are checked again in arrival order and scored; nothing is dropped.
 */
export async function acceptHalt(rt: Runtime, pipelineName: string, d: HaltDecision): Promise<HaltOutcome> {
  const pipeline = pipelineOf(rt, pipelineName);
  if (!pipeline.contract) throw new AirlockError('CONFLICT', `pipeline ${pipelineName} has no contract`);
  const now = rt.clock.now();
  const out = await rt.store.db.transaction().execute(async (trx) => {
    const halt = await openHalt(trx, pipelineName, rt.store.kind, true);
    if (!halt) throw new AirlockError('CONFLICT', `pipeline ${pipelineName} is not halted`);
    await checkHaltAct(trx, rt, halt, d.actor, 'approve', now);
    const active = await activeContract(trx, pipeline);
    if (!active) throw new AirlockError('CONFLICT', `pipeline ${pipelineName} has no contract`);
    const showing = await recordsShowingChange(trx, halt, ['halted', 'quarantined']);
    let schema: object;
    let changes: string[];
    if (d.schema) {
      try {
        compileContract(d.schema);
      } catch (err) {
        throw new AirlockError('BAD_REQUEST', `the contract to accept is ${(err as Error).message}`);
      }
      schema = d.schema;
      changes = ['contract replaced by the one given'];
    } else {
      const evo = evolveContract(active.contract.schema, showing.map(bodyOf));
      schema = evo.schema;
      changes = [...new Set(evo.changes)];
    }
    const hash = compileContract(schema).hash;
    let version = active.version;
    if (hash !== active.contract.hash) {
      const known = (await contractVersions(trx, pipelineName)).find((v) => v.hash === hash);
      version = await insertActiveContractVersion(trx, {
        pipeline: pipelineName,
        hash,
        schema: contractSchema.encodeCanonical(schema),
        source: 'accepted',
        now,
        by: d.actor.name,
        note: d.note ?? (known ? `same as version ${known.version}` : `accepted halt #${halt.id}: ${halt.kind} on ${halt.field}`),
      });
    }
    const released = showing.filter((r) => r.status === 'quarantined');
    await releaseForRegate(trx, rt, released, now, { by: d.actor.name, note: `change accepted (halt #${halt.id})` });
    await resolveHaltCases(trx, pipelineName, halt, { label: 'accepted', by: d.actor.name, note: d.note }, now);
    const resolution = { version, changes, released: released.length, note: d.note ?? null };
    if (!(await resolveHalt(trx, Number(halt.id), 'accepted', d.actor.name, resolution, now))) {
      throw new AirlockError('CONFLICT', `halt #${halt.id} of ${pipelineName} was decided by someone else`);
    }
    await appendEvents(
      trx,
      [
        {
          pipeline: pipelineName,
          recordId: '',
          at: now,
          kind: 'contract_accepted',
          detail: { halt: Number(halt.id), version, changes, by: d.actor.name },
        },
      ],
      rt.store.kind,
    );
    return { halt: Number(halt.id), version, changes, released: released.length };
  });
  const resumed = await resumeAll(rt, pipelineName);
  rt.wake();
  return { pipeline: pipelineName, decision: 'accepted', quarantined: 0, resumed, ...out };
}

/**
 * Rejects the change: the records that showed it are quarantined (a person releases, edits or discards them), the
 * change no longer halts this contract version, and the rest of the backlog resumes in arrival order.
 */
export async function rejectHalt(rt: Runtime, pipelineName: string, d: HaltDecision): Promise<HaltOutcome> {
  const pipeline = pipelineOf(rt, pipelineName);
  const now = rt.clock.now();
  const out = await rt.store.db.transaction().execute(async (trx) => {
    const halt = await openHalt(trx, pipelineName, rt.store.kind, true);
    if (!halt) throw new AirlockError('CONFLICT', `pipeline ${pipelineName} is not halted`);
    await checkHaltAct(trx, rt, halt, d.actor, 'reject', now);
    const showing = await recordsShowingChange(trx, halt, ['halted']);
    for (const r of showing) {
      await trx
        .updateTable('records')
        .set({ status: 'quarantined', updated_at: now })
        .where('pipeline', '=', pipelineName)
        .where('id', '=', r.id)
        .where('status', '=', 'halted')
        .execute();
    }
    await insertCases(
      trx,
      showing.map((r) =>
        newCase(pipeline, r.id, 'quarantine', { rejected_change: { kind: halt.kind, field: halt.field, halt: Number(halt.id) } }, now),
      ),
    );
    await appendEvents(
      trx,
      showing.map((r) => ({
        pipeline: pipelineName,
        recordId: r.id,
        at: now,
        kind: 'quarantined',
        detail: { reason: 'change rejected', halt: Number(halt.id), change: { kind: halt.kind, field: halt.field }, by: d.actor.name },
      })),
      rt.store.kind,
    );
    await resolveHaltCases(trx, pipelineName, halt, { label: 'rejected', by: d.actor.name, note: d.note }, now);
    if (!(await resolveHalt(trx, Number(halt.id), 'rejected', d.actor.name, { quarantined: showing.length, note: d.note ?? null }, now))) {
      throw new AirlockError('CONFLICT', `halt #${halt.id} of ${pipelineName} was decided by someone else`);
    }
    return { halt: Number(halt.id), quarantined: showing.length };
  });
  const resumed = await resumeAll(rt, pipelineName);
  rt.wake();
  return { pipeline: pipelineName, decision: 'rejected', released: 0, resumed, ...out };
}

/** Moves quarantined records back to `halted`, so the backlog re-check takes them in arrival order. */
async function releaseForRegate(
  trx: Kysely<Tables>,
  rt: Runtime,
  records: RecordRow[],
  now: number,
  who: { by: string | null; note: string },
) {
  for (const r of records) {
    await trx
      .updateTable('records')
      .set({ status: 'halted', updated_at: now })
      .where('pipeline', '=', r.pipeline)
      .where('id', '=', r.id)
      .where('status', '=', 'quarantined')
      .execute();
    const open = await trx
      .selectFrom('review_cases')
      .select('id')
      .where('pipeline', '=', r.pipeline)
      .where('record_id', '=', r.id)
      .where('type', '=', 'quarantine')
      .where('status', '=', 'open')
      .execute();
    for (const c of open) await resolveCase(trx, Number(c.id), { label: 'released', by: who.by ?? undefined, note: who.note }, now);
  }
  await appendEvents(
    trx,
    records.map((r) => ({ pipeline: r.pipeline, recordId: r.id, at: now, kind: 'released', detail: { by: who.by, reason: who.note } })),
    rt.store.kind,
  );
}

/** Accepting (approve) or rejecting a halt is acting on its schema_halt case, whichever door it comes through. */
async function checkHaltAct(trx: Kysely<Tables>, rt: Runtime, halt: HaltRow, actor: Actor, action: 'approve' | 'reject', now: number) {
  const open = await trx
    .selectFrom('review_cases')
    .selectAll()
    .where('pipeline', '=', halt.pipeline)
    .where('type', '=', 'schema_halt')
    .where('status', '=', 'open')
    .execute();
  const c = open.find((x) => caseReasonOf('schema_halt', x.reason).halt === Number(halt.id));
  if (c) await checkCaseAct(trx, rt.config, actor, c, action, { before: {} }, now);
  else
    await checkRecordCaseAct(
      trx,
      rt.config,
      actor,
      { pipeline: halt.pipeline, recordId: '', type: 'schema_halt' },
      action,
      { before: {} },
      now,
    );
}

async function resolveHaltCases(
  trx: Kysely<Tables>,
  pipeline: string,
  halt: HaltRow,
  verdict: { label: string; by?: string; note?: string },
  now: number,
): Promise<void> {
  const open = await trx
    .selectFrom('review_cases')
    .select(['id', 'reason'])
    .where('pipeline', '=', pipeline)
    .where('type', '=', 'schema_halt')
    .where('status', '=', 'open')
    .execute();
  for (const c of open) {
    if (caseReasonOf('schema_halt', c.reason).halt === Number(halt.id)) await resolveCase(trx, Number(c.id), verdict, now);
  }
}

/**
 * Re-checks up to `limit` records waiting as `halted` once their pipeline has no open halt, in arrival order, against
 * the contract now in force; returns how many left `halted`. Runs after a decision and from every scoring round, so
 * a crash between the decision and the re-check strands nothing.
 */
export async function resumeBacklog(rt: Runtime, pipelineName: string, limit = 500): Promise<number> {
  const pipeline = pipelineOf(rt, pipelineName);
  const { db, kind } = rt.store;
  const now = rt.clock.now();
  let opened: Awaited<ReturnType<typeof gateRecords>>['halted'];
  const moved = await db.transaction().execute(async (trx) => {
    if (await openHalt(trx, pipelineName, kind)) return 0;
    const lock = kind === 'postgres' ? sql`for update skip locked` : sql``;
    const rows = (
      await sql<RecordRow>`select * from records where pipeline = ${pipelineName} and status = 'halted' order by seq limit ${limit} ${lock}`.execute(
        trx,
      )
    ).rows;
    if (rows.length === 0) return 0;
    const gate = await gateRecords(
      trx,
      pipeline,
      rows.map((r) => {
        const body = recordBody.decode(r.body);
        // An unparseable line is stored as its raw text (a JSON string): it stays unparseable.
        return typeof body === 'string' ? { id: r.id, body, unparseable: 'not valid JSON' } : { id: r.id, body };
      }),
      now,
    );
    opened = gate.halted;
    let n = 0;
    for (const [i, v] of gate.verdicts.entries()) {
      if (v.status !== 'halted') n++;
      await trx
        .updateTable('records')
        .set({
          status: v.status,
          violations: v.violations.length > 0 ? violations.encode(v.violations) : null,
          contract_hash: v.contractHash,
          contract_version: v.contractVersion,
          updated_at: now,
        })
        .where('pipeline', '=', pipelineName)
        .where('id', '=', rows[i].id)
        .execute();
    }
    // The re-check's own 'halted' events would repeat what the trail already says; keep the others.
    await appendEvents(
      trx,
      gate.events.filter((e) => e.kind !== 'halted'),
      kind,
    );
    await insertCases(trx, gate.cases);
    return n;
  });
  if (opened) await alertHalt(rt, pipelineName, opened);
  return moved;
}

/** Re-checks the whole halted backlog (in batches) until it is empty or the pipeline halts again. */
export async function resumeAll(rt: Runtime, pipelineName: string): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await resumeBacklog(rt, pipelineName);
    total += n;
    if (n === 0) return total;
  }
}

/** The contract versions of a pipeline as the API and the CLI show them (schema included). */
export async function contractVersionViews(rt: Runtime, pipelineName: string) {
  pipelineOf(rt, pipelineName);
  return (await contractVersions(rt.store.db, pipelineName)).map((v) => ({
    version: v.version,
    status: v.status,
    source: v.source,
    hash: v.hash,
    created_at: new Date(Number(v.created_at)).toISOString(),
    created_by: v.created_by,
    note: v.note,
    schema: contractSchema.decode(v.schema),
  }));
}
