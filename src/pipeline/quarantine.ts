import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { canonicalJson, type Violation } from '../contract/gate.js';
import { AirlockError } from '../errors.js';
import { type Actor, checkRecordCaseAct } from '../review/case-authority.js';
import type { Runtime } from '../runtime/context.js';
import { resolveCase } from '../store/cases.js';
import { eventDetail, recordBody, violations, violationView } from '../store/codecs.js';
import { openHalt } from '../store/contracts.js';
import { appendEvents, eventsOf } from '../store/events.js';
import { lockRecord } from '../store/records.js';
import type { RecordRow, Tables } from '../store/tables.js';
import { activeContract, policyFor } from './gate.js';

export interface QuarantinedRecord {
  pipeline: string;
  id: string;
  case_id: number | null;
  received_at: string;
  contract_version: number | null;
  violations: { kind: string; path: string; field: string; message: string }[];
  edited: boolean;
}

export interface QuarantineFilter {
  pipeline?: string;
  kind?: string;
  field?: string;
  limit?: number;
}

function view(r: RecordRow, caseId: number | null): QuarantinedRecord {
  return {
    pipeline: r.pipeline,
    id: r.id,
    case_id: caseId,
    received_at: new Date(Number(r.created_at)).toISOString(),
    contract_version: r.contract_version,
    violations: violations.decodeOrNull(r.violations) ?? [],
    edited: r.original_body !== null,
  };
}

/** A LIKE pattern that finds `"key":value` in a violations column (its codec writes compact JSON, keys in order). */
function violationPattern(key: 'kind' | 'field', value: string): string {
  return `%${`"${key}":${JSON.stringify(value)}`.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Quarantined records, oldest first, filtered by pipeline and by violation kind or field — in SQL, a page at a time:
 * the bodies are never read, and only `limit` rows leave the database (`total` is counted there).
 */
export async function listQuarantine(rt: Runtime, f: QuarantineFilter = {}): Promise<{ records: QuarantinedRecord[]; total: number }> {
  if (f.pipeline && !rt.config.pipelines[f.pipeline]) throw new AirlockError('NOT_FOUND', `pipeline "${f.pipeline}" is not in the config`);
  const db = rt.store.db;
  let base = db.selectFrom('records').where('records.status', '=', 'quarantined');
  if (f.pipeline) base = base.where('records.pipeline', '=', f.pipeline);
  if (f.kind) base = base.where(sql`records.violations`, 'like', sql`${violationPattern('kind', f.kind)} escape '\\'`);
  if (f.field) base = base.where(sql`records.violations`, 'like', sql`${violationPattern('field', f.field)} escape '\\'`);
  const total = Number((await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst())?.n ?? 0);
  const rows = await base
    .leftJoin('review_cases as c', (j) =>
      j
        .onRef('c.pipeline', '=', 'records.pipeline')
        .onRef('c.record_id', '=', 'records.id')
        .on('c.type', '=', 'quarantine')
        .on('c.status', '=', 'open'),
    )
    .select([
      'records.pipeline',
      'records.id',
      'records.created_at',
      'records.contract_version',
      'records.violations',
      sql<number>`case when records.original_body is null then 0 else 1 end`.as('edited'),
      'c.id as case_id',
    ])
    .orderBy('records.seq')
    .limit(f.limit ?? 100)
    .execute();
  return {
    records: rows.map((r) => ({
      pipeline: r.pipeline,
      id: r.id,
      case_id: r.case_id === null ? null : Number(r.case_id),
      received_at: new Date(Number(r.created_at)).toISOString(),
      contract_version: r.contract_version,
      violations: violations.decodeOrNull(r.violations) ?? [],
      edited: Number(r.edited) === 1,
    })),
    total,
  };
}

export interface QuarantineDetail extends QuarantinedRecord {
  status: string;
  body: unknown;
  original_body: unknown;
  events: { at: string; kind: string; detail: unknown }[];
}

/** One quarantined (or formerly quarantined) record with its body, violations and audit trail. */
export async function showQuarantined(rt: Runtime, pipeline: string, id: string): Promise<QuarantineDetail> {
  const r = await rt.store.db.selectFrom('records').selectAll().where('pipeline', '=', pipeline).where('id', '=', id).executeTakeFirst();
  if (!r) throw new AirlockError('NOT_FOUND', `record ${id} does not exist in pipeline ${pipeline}`);
  const c = await openQuarantineCase(rt.store.db, pipeline, id);
  return {
    ...view(r, c),
    status: r.status,
    body: recordBody.decode(r.body),
    original_body: recordBody.decodeOrNull(r.original_body),
    events: (await eventsOf(rt.store.db, pipeline, id)).map((e) => ({
      at: new Date(Number(e.at)).toISOString(),
      kind: e.kind,
      detail: eventDetail.decode(e.detail),
    })),
  };
}

async function openQuarantineCase(db: Kysely<Tables>, pipeline: string, id: string): Promise<number | null> {
  const c = await db
    .selectFrom('review_cases')
    .select('id')
    .where('pipeline', '=', pipeline)
    .where('record_id', '=', id)
    .where('type', '=', 'quarantine')
    .where('status', '=', 'open')
    .executeTakeFirst();
  return c ? Number(c.id) : null;
}

export interface ReleaseResult {
  pipeline: string;
  id: string;
  /** `received` (on its way to scoring), `halted` (its pipeline is halted) or `quarantined` (still breaks the contract). */
  status: 'received' | 'halted' | 'quarantined';
  released: boolean;
  violations: { kind: string; path: string; field: string; message: string }[];
}

/**
 * Releases a quarantined record: it is checked again against the contract now in force (with the edited body when
 * one is given) and goes on to scoring only if it passes; otherwise it stays quarantined, unchanged, and the answer
 * lists what is still wrong. An edit keeps the body as received beside the new one.
 */
export async function releaseQuarantined(
  rt: Runtime,
  pipelineName: string,
  id: string,
  opts: { actor: Actor; body?: unknown; note?: string; action?: 'approve' | 'relabel' },
): Promise<ReleaseResult> {
  const pipeline = rt.config.pipelines[pipelineName];
  if (!pipeline) throw new AirlockError('NOT_FOUND', `pipeline "${pipelineName}" is not in the config`);
  if (opts.body !== undefined && (opts.body === null || typeof opts.body !== 'object' || Array.isArray(opts.body))) {
    throw new AirlockError('BAD_REQUEST', 'the edited record must be a JSON object');
  }
  const now = rt.clock.now();
  const { kind } = rt.store;
  const result = await rt.store.db.transaction().execute(async (trx) => {
    const r = await lockRecord(trx, kind, pipelineName, id);
    if (!r) throw new AirlockError('NOT_FOUND', `record ${id} does not exist in pipeline ${pipelineName}`);
    if (r.status !== 'quarantined') throw new AirlockError('CONFLICT', `record ${id} is ${r.status}, not quarantined`);
    const edited = opts.body !== undefined;
    const body = (edited ? opts.body : recordBody.decode(r.body)) as Record<string, unknown>;
    if (edited && Object.hasOwn(body, 'id') && String(body.id) !== id) {
      throw new AirlockError('BAD_REQUEST', `the edited record's "id" must stay ${JSON.stringify(id)}`);
    }
    // Releasing is approving the quarantine case, whichever door it comes through; limits hold on the record as
    // stored and as it will be delivered.
    await checkRecordCaseAct(
      trx,
      rt.config,
      opts.actor,
      { pipeline: pipelineName, recordId: id, type: 'quarantine' },
      opts.action ?? 'approve',
      { before: recordBody.tryDecode(r.body) ?? {}, after: edited ? body : undefined },
      now,
    );
    const active = await activeContract(trx, pipeline);
    const found: Violation[] =
      body === null || typeof body !== 'object' || Array.isArray(body)
        ? [{ kind: 'unparseable', path: '/', field: '', message: 'is not a JSON object: edit it into one to release it', keyword: 'parse' }]
        : active
          ? active.contract.validate(body)
          : [];
    const views = found.map(violationView);
    if (policyFor(pipeline, found) !== 'accept') {
      return { pipeline: pipelineName, id, status: 'quarantined' as const, released: false, violations: views };
    }
    const halted = (await openHalt(trx, pipelineName, kind)) !== undefined;
    const status = halted ? ('halted' as const) : ('received' as const);
    await trx
      .updateTable('records')
      .set({
        status,
        body: edited ? recordBody.encode(body) : r.body,
        original_body: edited ? (r.original_body ?? r.body) : r.original_body,
        violations: views.length > 0 ? violations.encode(views) : null,
        contract_hash: active?.contract.hash ?? null,
        contract_version: active ? active.version || null : null,
        available_at: now,
        updated_at: now,
      })
      .where('pipeline', '=', pipelineName)
      .where('id', '=', id)
      .execute();
    const caseId = await openQuarantineCase(trx, pipelineName, id);
    if (caseId !== null)
      await resolveCase(trx, caseId, { label: edited ? 'edited_and_released' : 'released', by: opts.actor.name, note: opts.note }, now);
    await appendEvents(
      trx,
      [
        {
          pipeline: pipelineName,
          recordId: id,
          at: now,
          kind: 'released',
          detail: {
            by: opts.actor.name,
            edited,
            ...(edited ? { body_hash_before: hashOf(r.body), changed_fields: changedFields(recordBody.decode(r.body), body) } : {}),
            note: opts.note ?? null,
            contract_version: active ? active.version || null : null,
          },
        },
      ],
      kind,
    );
    return { pipeline: pipelineName, id, status, released: true, violations: views };
  });
  if (result.released) rt.wake();
  return result;
}

/** Throws a quarantined record away, with a person's reason; the record and its trail stay for the audit. */
export async function discardQuarantined(
  rt: Runtime,
  pipelineName: string,
  id: string,
  opts: { actor: Actor; reason: string },
): Promise<{ pipeline: string; id: string; status: 'discarded' }> {
  if (!rt.config.pipelines[pipelineName]) throw new AirlockError('NOT_FOUND', `pipeline "${pipelineName}" is not in the config`);
  if (typeof opts.reason !== 'string' || opts.reason.trim() === '')
    throw new AirlockError('BAD_REQUEST', 'discarding a record needs a "reason"');
  const now = rt.clock.now();
  const { kind } = rt.store;
  await rt.store.db.transaction().execute(async (trx) => {
    const r = await lockRecord(trx, kind, pipelineName, id);
    if (!r) throw new AirlockError('NOT_FOUND', `record ${id} does not exist in pipeline ${pipelineName}`);
    if (r.status !== 'quarantined') throw new AirlockError('CONFLICT', `record ${id} is ${r.status}, not quarantined`);
    await checkRecordCaseAct(
      trx,
      rt.config,
      opts.actor,
      { pipeline: pipelineName, recordId: id, type: 'quarantine' },
      'reject',
      { before: recordBody.tryDecode(r.body) ?? {} },
      now,
    );
    await trx
      .updateTable('records')
      .set({ status: 'discarded', updated_at: now })
      .where('pipeline', '=', pipelineName)
      .where('id', '=', id)
      .execute();
    const caseId = await openQuarantineCase(trx, pipelineName, id);
    if (caseId !== null) await resolveCase(trx, caseId, { label: 'discarded', by: opts.actor.name, note: opts.reason }, now);
    await appendEvents(
      trx,
      [{ pipeline: pipelineName, recordId: id, at: now, kind: 'discarded', detail: { by: opts.actor.name, reason: opts.reason } }],
      kind,
    );
  });
  return { pipeline: pipelineName, id, status: 'discarded' };
}

function hashOf(text: string): string {
  return createHash('sha256')
    .update(canonicalJson(recordBody.decode(text)))
    .digest('hex');
}

/** Top-level field names whose values differ (names only: the trail never holds record values). */
function changedFields(before: unknown, after: Record<string, unknown>): string[] {
  if (before === null || typeof before !== 'object' || Array.isArray(before)) return Object.keys(after).sort();
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const b = before as Record<string, unknown>;
  return [...keys].filter((k) => canonicalJson(b[k]) !== canonicalJson(after[k])).sort();
}
