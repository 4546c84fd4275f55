import { Type } from '@sinclair/typebox';
import { acceptHalt, contractVersionViews, haltStatus, rejectHalt } from '../pipeline/halts.js';
import type { Runtime } from '../runtime/context.js';
import { LEADS, PEOPLE, read, write } from './access.js';
import { ok, problems } from './answers.js';
import { type Api, knownPipeline, PipelineParam } from './api.js';
import { callerOf } from './auth.js';
import { ContractHistory, HaltOutcome, HaltStatus } from './schemas/contracts.js';

const Params = Type.Object({ pipeline: PipelineParam });

/** Who decides and why; with auth off, `by` names the person (else the signed-in user is recorded). */
const DecisionFields = {
  by: Type.Optional(Type.String({ description: 'With server.auth: off, who decides (else the signed-in user).' })),
  note: Type.Optional(Type.String()),
};

/** A pipeline's contract versions and its schema-change halt: see it, accept the change, or reject it. */
export function registerContractRoutes(app: Api, rt: Runtime): void {
  app.get(
    '/v1/pipelines/:pipeline/contract',
    {
      schema: {
        operationId: 'listContractVersions',
        summary: 'Contract versions of a pipeline (schema, source, who accepted it, which is active)',
        tags: ['contracts'],
        params: Params,
        response: { 200: ok(ContractHistory, 'The versions, newest first.'), ...problems({ 404: 'Unknown pipeline.' }) },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const name = knownPipeline(rt, req.params.pipeline);
      return { pipeline: name, versions: await contractVersionViews(rt, name) };
    },
  );

  app.get(
    '/v1/pipelines/:pipeline/halt',
    {
      schema: {
        operationId: 'getHalt',
        summary: 'The schema-change halt, if any: the change, the backlog, the proposed contract, the history',
        tags: ['contracts'],
        params: Params,
        response: { 200: ok(HaltStatus, "The pipeline's halt status."), ...problems({ 404: 'Unknown pipeline.' }) },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => haltStatus(rt, knownPipeline(rt, req.params.pipeline)),
  );

  app.post(
    '/v1/pipelines/:pipeline/halt/accept',
    {
      schema: {
        operationId: 'acceptHalt',
        summary: 'Accept the change as a new contract version; the backlog resumes in arrival order',
        tags: ['contracts'],
        params: Params,
        body: Type.Object({
          ...DecisionFields,
          contract: Type.Optional(
            Type.Object(
              {},
              {
                additionalProperties: true,
                description: 'A JSON Schema to accept instead of the derived one.',
                'x-expected': 'a JSON Schema object',
              },
            ),
          ),
        }),
        response: {
          200: ok(HaltOutcome, 'The decision, the new version and the counts.'),
          ...problems({ 404: 'Unknown pipeline.', 409: 'The pipeline is not halted (or has no contract).' }),
        },
      },
      config: { access: write(LEADS), review: { case: 'halt', act: 'approve' } },
    },
    async (req) => {
      const body = req.body;
      return acceptHalt(rt, knownPipeline(rt, req.params.pipeline), {
        actor: callerOf(req, body.by),
        note: body.note,
        schema: body.contract,
      });
    },
  );

  app.post(
    '/v1/pipelines/:pipeline/halt/reject',
    {
      schema: {
        operationId: 'rejectHalt',
        summary: 'Reject the change: its records are quarantined, the rest of the backlog resumes',
        tags: ['contracts'],
        params: Params,
        body: Type.Object(DecisionFields),
        response: {
          200: ok(HaltOutcome, 'The decision and the counts.'),
          ...problems({ 404: 'Unknown pipeline.', 409: 'The pipeline is not halted.' }),
        },
      },
      config: { access: write(LEADS), review: { case: 'halt', act: 'reject' } },
    },
    async (req) => rejectHalt(rt, knownPipeline(rt, req.params.pipeline), { actor: callerOf(req, req.body.by), note: req.body.note }),
  );
}
