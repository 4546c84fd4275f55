/**
 * One entry of `pipelines:`: the contract, gate, model, routing, review, drift, readiness, retention, redaction,
 * launch facts and destinations of one stream of records. Each block's settings and resolver are in its own file.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { ResolveContext, SettingPath } from '../problems.js';
import { checkTemplate } from '../template.js';
import { contractSetting, type PipelineContract, resolveContract } from './contract.js';
import { type DestinationConfig, destinationsSettings, resolveDestination } from './destinations.js';
import { type DriftConfig, driftSettings, resolveDrift } from './drift.js';
import { type GateConfig, gateSettings, resolveGate } from './gate.js';
import { defaultBlock, EXPECTED, mapOf } from './kinds.js';
import { type LaunchConfig, launchSettings, resolveLaunch } from './launch.js';
import { type ModelConfig, modelSettings, resolveModel } from './model.js';
import { type ProbeConfig, probeSettings, resolveProbe } from './probe.js';
import { type ReadinessConfig, readinessSettings, resolveReadiness } from './readiness.js';
import { redactSetting } from './redact.js';
import { type RetentionConfig, resolveRetention, retentionSettings } from './retention.js';
import { type ReviewConfig, resolveReview, reviewSettings } from './review.js';
import { type RoutingConfig, resolveRouting, routingSettings } from './routing.js';

const pipelineSettings = Type.Object(
  {
    description: Type.Optional(Type.String({ description: 'What the pipeline is for, for people reading the file.' })),
    contract: Type.Optional(contractSetting),
    gate: defaultBlock(gateSettings),
    probe: defaultBlock(probeSettings),
    model: modelSettings,
    routing: defaultBlock(routingSettings),
    review: defaultBlock(reviewSettings),
    drift: defaultBlock(driftSettings),
    readiness: defaultBlock(readinessSettings),
    retention: Type.Optional(retentionSettings),
    redact: redactSetting,
    launch: defaultBlock(launchSettings),
    destinations: destinationsSettings,
  },
  { additionalProperties: false, description: 'One pipeline: a stream of records from ingest to delivery.' },
);

export const pipelinesSettings = mapOf(pipelineSettings, {
  description: 'One entry per pipeline; the key is its name in URLs.',
  propertyNames: { pattern: '^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$', [EXPECTED]: 'a name of letters, digits, - and _' },
});

type PipelineSettings = Static<typeof pipelineSettings>;

/** One pipeline, resolved. */
export interface PipelineConfig {
  name: string;
  contract?: PipelineContract;
  gate: GateConfig;
  probe: ProbeConfig;
  model: ModelConfig;
  routing: RoutingConfig;
  review: ReviewConfig;
  launch: LaunchConfig;
  /** Drift monitoring (`drift:`). */
  drift: DriftConfig;
  /** Production readiness (`readiness:`). */
  readiness: ReadinessConfig;
  destinations: Record<string, DestinationConfig>;
  /** Retention of record content (`retention:`, src/pipeline/retention.ts); null: content is kept. */
  retention: RetentionConfig | null;
  /** Record field paths the API shows as "[redacted]" to the viewer role (`redact:`). */
  redact: string[];
}

/** Resolves one pipeline; `teams` are the names in `teams:` when the config has that block. */
export function resolvePipeline(name: string, p: PipelineSettings, teams: string[] | undefined, ctx: ResolveContext): PipelineConfig {
  const at: SettingPath = ['pipelines', name];
  const contract = p.contract === undefined ? undefined : resolveContract(p.contract, [...at, 'contract'], ctx);
  const destinations: Record<string, DestinationConfig> = {};
  for (const [d, settings] of Object.entries(p.destinations)) {
    const where = [...at, 'destinations', d];
    destinations[d] = resolveDestination(d, settings, where, ctx);
    for (const t of settings.body === undefined ? [] : checkTemplate(settings.body, contract?.schema)) {
      ctx.report([...where, 'body', ...t.at], t.message);
    }
  }
  return {
    name,
    contract,
    gate: resolveGate(p.gate),
    probe: resolveProbe(p.probe),
    model: resolveModel(p.model, [...at, 'model'], ctx),
    routing: resolveRouting(p.routing),
    review: resolveReview(p.review, [...at, 'review'], teams, ctx),
    launch: resolveLaunch(p.launch),
    drift: resolveDrift(p.drift),
    readiness: resolveReadiness(p.readiness),
    destinations,
    retention: p.retention ? resolveRetention(p.retention, [...at, 'retention'], ctx) : null,
    redact: p.redact,
  };
}
