import { Type } from '@sinclair/typebox';
import { AirlockError } from '../errors.js';
import type { Airlock } from '../pipeline/airlock.js';
import { activateVersion, routingHistory } from '../pipeline/routing-versions.js';
import { evidenceReport, evidenceSummary } from '../store/codecs.js';
import { LEADS, PEOPLE, read, write } from './access.js';
import { ok, problems } from './answers.js';
import { type Api, knownPipeline, PipelineParam, positiveId } from './api.js';
import { actorOf } from './auth.js';
import { RoutingVersion, ThresholdEvidence, Thresholds } from './schemas/routing.js';

const VersionParams = Type.Object({
  pipeline: PipelineParam,
  version: Type.String({ description: 'A routing version (a positive whole number).' }),
});

/** Routing versions (calibrator + threshold) of a pipeline: the one in effect, approving one, the evidence behind one. */
export function registerThresholdRoutes(app: Api, airlock: Airlock): void {
  const rt = airlock.runtime;
  const db = rt.store.db;

  app.get(
    '/v1/pipelines/:pipeline/thresholds',
    {
      schema: {
        operationId: 'listRoutingVersions',
        summary: 'Routing versions (calibrator + threshold) and the one in effect',
        tags: ['routing'],
        params: Type.Object({ pipeline: PipelineParam }),
        response: { 200: ok(Thresholds, 'The versions and the threshold in effect.'), ...problems({ 404: 'Unknown pipeline.' }) },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const pipeline = knownPipeline(rt, req.params.pipeline);
      const versions = await routingHistory(rt.store, pipeline);
      const active = versions.find((v) => v.status === 'active');
      const effective: Thresholds['effective'] = active
        ? { source: 'version', version: active.version, threshold: active.threshold.value as number, calibrator: active.calibrator }
        : { source: 'config', threshold: rt.config.pipelines[pipeline].routing.autoAcceptAt, calibrator: null };
      return { pipeline, effective, versions };
    },
  );

  app.post(
    '/v1/pipelines/:pipeline/thresholds/:version/approve',
    {
      schema: {
        operationId: 'approveRoutingVersion',
        summary: 'Activate a routing version (approve a proposal, or roll back)',
        tags: ['routing'],
        params: VersionParams,
        body: Type.Object({ by: Type.Optional(Type.String({ description: 'With server.auth: off, who approves.' })) }),
        response: {
          200: ok(RoutingVersion, 'The version now active.'),
          ...problems({ 404: 'Unknown pipeline, or no such version.', 409: 'The version is already active (or may not be activated).' }),
        },
      },
      config: { access: write(LEADS), review: null },
    },
    async (req) => {
      const pipeline = knownPipeline(rt, req.params.pipeline);
      const version = Number(req.params.version);
      if (!Number.isInteger(version) || version < 1) throw new AirlockError('NOT_FOUND', `no routing version ${req.params.version}`);
      const v = await activateVersion(rt.store, pipeline, version, actorOf(req, req.body.by), rt.clock.now());
      airlock.workers.policies.invalidate();
      return v;
    },
  );

  app.get(
    '/v1/pipelines/:pipeline/thresholds/:version/evidence',
    {
      schema: {
        operationId: 'getRoutingVersionEvidence',
        summary: 'The calibration evidence a routing version was made from: summary, hashes and the whole report (reliability bins)',
        tags: ['routing'],
        params: VersionParams,
        response: {
          200: ok(ThresholdEvidence, 'The evidence.'),
          ...problems({ 404: 'Unknown pipeline or version, or the version cites no evidence.' }),
        },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const pipeline = knownPipeline(rt, req.params.pipeline);
      const version = positiveId(req.params.version, 'routing version');
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
          summary: evidenceSummary.decode(e.summary),
          report: evidenceReport.decode(e.report) as ThresholdEvidence['evidence']['report'],
        },
      };
    },
  );
}
