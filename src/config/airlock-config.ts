/**
 * The whole of `airlock.yaml`: its sections joined into one schema (each section's settings, defaults and doc strings
 * are in sections/), and `AirlockConfig`, the file resolved into what the rest of Airlock uses.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { ResolveContext } from './problems.js';
import { type AlertSinkConfig, alertsSettings, resolveAlertSink } from './sections/alerts.js';
import { databaseSetting, resolveDatabase } from './sections/database.js';
import { defaultBlock, withDefault } from './sections/kinds.js';
import { type LoggingConfig, loggingSettings, resolveLogging } from './sections/logging.js';
import { type PipelineConfig, pipelinesSettings, resolvePipeline } from './sections/pipeline.js';
import { resolveServer, type ServerConfig, serverSettings } from './sections/server.js';
import { resolveTeam, type TeamConfig, teamsSettings } from './sections/teams.js';
import { resolveWorker, type WorkerConfig, workerSettings } from './sections/worker.js';

export const configSettings = Type.Object(
  {
    database: databaseSetting,
    server: defaultBlock(serverSettings),
    worker: defaultBlock(workerSettings),
    logging: defaultBlock(loggingSettings),
    alerts: alertsSettings,
    // No default: when the file has no `teams:`, case types may name owners that are not checked against it.
    teams: Type.Optional(teamsSettings),
    pipelines: withDefault(pipelinesSettings, {}),
  },
  {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://airlock.dev/schema/airlock.yaml.json',
    title: 'airlock.yaml',
    additionalProperties: false,
  },
);

/** The file after validation, defaults filled in. */
export type ConfigSettings = Static<typeof configSettings>;

/** The config file, resolved: durations in ms, rates parsed, paths absolute, defaults filled. */
export interface AirlockConfig {
  /** Absolute path of the file this came from, if any. */
  file?: string;
  /** Directory that relative paths in the config are resolved against. */
  dir: string;
  /** sha256 of the config file's text, before ${ENV} expansion (so secrets never enter a hash). */
  hash: string;
  /** `sqlite:/absolute/path.db`, `sqlite::memory:` or a postgres URL. */
  database: string;
  server: ServerConfig;
  worker: WorkerConfig;
  logging: LoggingConfig;
  alerts: AlertSinkConfig[];
  /** Teams that own review work (`teams:`), by name. */
  teams: Record<string, TeamConfig>;
  pipelines: Record<string, PipelineConfig>;
}

/** Resolves validated settings section by section; problems of meaning go to `ctx.report`. */
export function resolveAirlockConfig(s: ConfigSettings, ctx: ResolveContext): Omit<AirlockConfig, 'hash' | 'file'> {
  const teams = Object.fromEntries(Object.entries(s.teams ?? {}).map(([name, t]) => [name, resolveTeam(name, t)]));
  const teamNames = s.teams === undefined ? undefined : Object.keys(s.teams);
  const pipelines = Object.fromEntries(Object.entries(s.pipelines).map(([name, p]) => [name, resolvePipeline(name, p, teamNames, ctx)]));
  // A business-hours SLA counts in its owner team's hours: the case type gets the team it counts in.
  for (const p of Object.values(pipelines)) {
    for (const ct of Object.values(p.review.caseTypes)) {
      if (ct.slaHours === 'business' && ct.owner && Object.hasOwn(teams, ct.owner)) ct.calendarTeam = teams[ct.owner];
    }
  }
  return {
    dir: ctx.dir,
    database: resolveDatabase(s.database, ctx.dir),
    server: resolveServer(s.server, ctx),
    worker: resolveWorker(s.worker),
    logging: resolveLogging(s.logging),
    alerts: s.alerts.map(resolveAlertSink),
    teams,
    pipelines,
  };
}
