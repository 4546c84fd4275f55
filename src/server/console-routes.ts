import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import { REVIEW_ACTIONS } from '../config/sections/review.js';
import { AirlockError } from '../errors.js';
import { authorityMatrix, mayAct } from '../review/authority.js';
import { caseTypeOf } from '../review/cases.js';
import type { Runtime } from '../runtime/context.js';
import { getCase } from '../store/cases.js';
import type { Principal } from './auth.js';

function positiveInt(raw: string, what: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new AirlockError('NOT_FOUND', `${what} ${raw} does not exist`);
  return n;
}

/**
 * Reads the console needs that the other routes do not answer: a caller's authority on a case (with its limits and
 * why an action is refused), the calibration evidence behind a routing version (the reliability diagram), and
 * deliveries and 429s per minute per destination.
 */
export function registerConsoleRoutes(app: FastifyInstance, rt: Runtime): void {
  const db = rt.store.db;

  app.get('/v1/review/cases/:id/authority', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const c = await getCase(db, positiveInt(req.params.id, 'review case'));
    if (!c) throw new AirlockError('NOT_FOUND', `review case ${req.params.id} does not exist`);
    const role = (req.principal as Principal).role;
    const ct = caseTypeOf(rt.config.pipelines[c.pipeline], c.type);
    const record = await db
      .selectFrom('records')
      .select('body')
      .where('pipeline', '=', c.pipeline)
      .where('id', '=', c.record_id)
      .executeTakeFirst();
    const body = record ? JSON.parse(record.body) : {};
    const row = authorityMatrix(ct).find((r) => r.role === role);
    const refused: Record<string, string> = {};
    for (const a of REVIEW_ACTIONS) {
      const m = mayAct(role, ct, a, body);
      if (!m.allowed) refused[a] = m.reason;
    }
    return { case_id: Number(c.id), type: c.type, role, actions: row?.actions ?? {}, refused };
  });

  app.get(
    '/v1/pipelines/:pipeline/thresholds/:version/evidence',
    async (req: FastifyRequest<{ Params: { pipeline: string; version: string } }>) => {
      const { pipeline } = req.params;
      if (!rt.config.pipelines[pipeline]) throw new AirlockError('NOT_FOUND', `pipeline "${pipeline}" is not in the config`);
      const version = positiveInt(req.params.version, 'routing version');
      const v = await db
        .selectFrom('routing_versions')
        .select('evidence_id')
        .where('pipeline', '=', pipeline)
        .where('version', '=', version)
        .executeTakeFirst();
      if (!v) throw new AirlockError('NOT_FOUND', `pipeline ${pipeline} has no routing version ${version}`);
      if (v.evidence_id === null) throw new AirlockError('NOT_FOUND', `routing version ${version} of ${pipeline} cites no evidence`);
      const e = await db.selectFrom('evidence').selectAll().where('id', '=', Number(v.evidence_id)).executeTakeFirst();
      if (!e) throw new AirlockError('NOT_FOUND', `evidence ${v.evidence_id} does not exist`);
      return {
        pipeline,
        version,
        evidence: {
          id: Number(e.id),
          kind: e.kind,
          created_at: new Date(Number(e.created_at)).toISOString(),
          hashes: { config: e.config_hash, contract: e.contract_hash, model: e.model_hash, calibrator: e.calibrator_hash },
          summary: JSON.parse(e.summary),
          report: JSON.parse(e.report),
        },
      };
    },
  );

  app.get('/v1/destinations/activity', async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>) => {
    const minutes = Math.min(24 * 60, Math.max(1, Math.floor(Number(req.query.minutes ?? 30)) || 30));
    const now = rt.clock.now();
    const first = Math.floor(now / 60_000) - minutes + 1;
    const from = first * 60_000;
    const minute = sql<number>`(updated_at / 60000)`;
    const delivered = await db
      .selectFrom('deliveries')
      .select(['pipeline', 'destination', minute.as('minute'), (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', '=', 'delivered')
      .where('updated_at', '>=', from)
      .groupBy(['pipeline', 'destination', minute])
      .execute();
    // A 429 answer is logged as a scheduled retry whose detail carries the status.
    const at = sql<number>`(at / 60000)`;
    const throttled = await db
      .selectFrom('events')
      .select(['pipeline', sql<string>`detail`.as('detail'), at.as('minute')])
      .where('kind', '=', 'delivery_retry_scheduled')
      .where('at', '>=', from)
      .where('detail', 'like', '%"status":429%')
      .execute();
    const out = [];
    for (const p of Object.values(rt.config.pipelines)) {
      for (const dest of Object.keys(p.destinations)) {
        const buckets = Array.from({ length: minutes }, (_, i) => ({
          at: new Date((first + i) * 60_000).toISOString(),
          delivered: 0,
          throttled: 0,
        }));
        for (const d of delivered) {
          if (d.pipeline !== p.name || d.destination !== dest) continue;
          const b = buckets[Math.floor(Number(d.minute)) - first];
          if (b) b.delivered += Number(d.n);
        }
        for (const t of throttled) {
          if (t.pipeline !== p.name || (JSON.parse(t.detail) as { destination?: string }).destination !== dest) continue;
          const b = buckets[Math.floor(Number(t.minute)) - first];
          if (b) b.throttled += 1;
        }
        out.push({ pipeline: p.name, destination: dest, buckets });
      }
    }
    return { minutes, from: new Date(from).toISOString(), destinations: out };
  });
}
