import { Type } from '@sinclair/typebox';
import type { ViolationKind as ContractViolationKind } from '../contract/gate.js';
import { discardQuarantined, listQuarantine, releaseQuarantined, showQuarantined } from '../pipeline/quarantine.js';
import { redactionFor, redactPaths } from '../pipeline/redaction.js';
import type { Runtime } from '../runtime/context.js';
import { DECIDERS, PEOPLE, read, write } from './access.js';
import { ok, problems } from './answers.js';
import { type Api, knownPipeline, PipelineParam, type Same } from './api.js';
import { callerOf } from './auth.js';
import { ViolationKind } from './schemas/common.js';
import { Discarded, QuarantineDetail, QuarantineList, ReleaseResult } from './schemas/quarantine.js';

/** The violation kinds of the API's schemas are the contract's: this fails to compile when one list changes alone. */
export const VIOLATION_KINDS_MATCH: Same<ViolationKind, ContractViolationKind> = true;

const Params = Type.Object({ pipeline: PipelineParam, id: Type.String({ description: "The record's id." }) });
const by = Type.Optional(Type.String({ description: 'With server.auth: off, who acts (else the signed-in user).' }));

/** Quarantined records: the list (oldest first), one with its trail, release (edited or not) and discard. */
export function registerQuarantineRoutes(app: Api, rt: Runtime): void {
  app.get(
    '/v1/quarantine',
    {
      schema: {
        operationId: 'listQuarantine',
        summary: 'Quarantined records with their violations, oldest first',
        tags: ['quarantine'],
        querystring: Type.Object({
          pipeline: Type.Optional(Type.String()),
          kind: Type.Optional(ViolationKind),
          field: Type.Optional(Type.String()),
          limit: Type.Optional(Type.Integer({ default: 100, description: 'At most 1000.' })),
        }),
        response: { 200: ok(QuarantineList, 'The records and how many there are in all.'), ...problems({ 404: 'Unknown pipeline.' }) },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const q = req.query;
      const limit = Math.min(1000, Math.max(1, q.limit || 100));
      return listQuarantine(rt, { pipeline: q.pipeline, kind: q.kind, field: q.field, limit });
    },
  );

  app.get(
    '/v1/pipelines/:pipeline/quarantine/:id',
    {
      schema: {
        operationId: 'getQuarantinedRecord',
        summary: 'One quarantined record: body, violations, original body, trail',
        tags: ['quarantine'],
        params: Params,
        response: { 200: ok(QuarantineDetail, 'The record.'), ...problems({ 404: 'Unknown pipeline, or no such record.' }) },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const shown = await showQuarantined(rt, knownPipeline(rt, req.params.pipeline), req.params.id);
      // The viewer role sees the pipeline's `redact:` paths as "[redacted]".
      const paths = redactionFor(rt.config, req.principal?.role, shown.pipeline);
      return paths ? { ...shown, body: redactPaths(shown.body, paths), original_body: redactPaths(shown.original_body, paths) } : shown;
    },
  );

  app.post(
    '/v1/pipelines/:pipeline/quarantine/:id/release',
    {
      schema: {
        operationId: 'releaseQuarantinedRecord',
        summary: 'Re-check the record (or its edited body) against the contract in force and release it if it passes',
        tags: ['quarantine'],
        params: Params,
        body: Type.Object({
          by,
          note: Type.Optional(Type.String()),
          record: Type.Optional(Type.Unknown({ description: 'The edited record (a JSON object); its id must stay.' })),
        }),
        response: {
          200: ok(ReleaseResult, 'Released: on its way to scoring (or waiting, when its pipeline is halted).'),
          422: ok(ReleaseResult, 'It still breaks the contract; it stays quarantined, unchanged, and the answer lists the violations.'),
          ...problems({ 404: 'Unknown pipeline, or no such record.', 409: 'The record is not quarantined.' }),
        },
      },
      config: { access: write(DECIDERS), review: { case: 'quarantined_record', act: 'approve', edits: true } },
    },
    async (req, reply) => {
      const body = req.body;
      const out = await releaseQuarantined(rt, knownPipeline(rt, req.params.pipeline), req.params.id, {
        actor: callerOf(req, body.by),
        note: body.note,
        body: body.record,
      });
      if (!out.released) reply.code(422);
      return out;
    },
  );

  app.post(
    '/v1/pipelines/:pipeline/quarantine/:id/discard',
    {
      schema: {
        operationId: 'discardQuarantinedRecord',
        summary: 'Discard the record with a reason (terminal; the record and its trail are kept)',
        tags: ['quarantine'],
        params: Params,
        body: Type.Object({ by, reason: Type.Optional(Type.String({ description: 'Required: why it is thrown away.' })) }),
        response: {
          200: ok(Discarded, 'Discarded.'),
          ...problems({ 404: 'Unknown pipeline, or no such record.', 409: 'The record is not quarantined.' }),
        },
      },
      config: { access: write(DECIDERS), review: { case: 'quarantined_record', act: 'reject' } },
    },
    async (req) =>
      discardQuarantined(rt, knownPipeline(rt, req.params.pipeline), req.params.id, {
        actor: callerOf(req, req.body.by),
        reason: req.body.reason ?? '',
      }),
  );
}
