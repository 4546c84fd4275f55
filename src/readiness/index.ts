/** Production readiness: the report over a pipeline's evidence (CLI, API) and the test alert it cites. */
import type { Logger } from 'pino';
import { LogSink, WebhookSink } from '../alerts/alerts.js';
import { alertOf } from '../alerts/catalog.js';
import type { AirlockConfig } from '../config/airlock-config.js';
import { AirlockError } from '../errors.js';
import { evidenceHashes } from '../pipeline/routing-versions.js';
import type { Store } from '../store/db.js';
import { insertEvidence } from '../store/routing.js';
import { evaluateReadiness } from './checks.js';
import { gatherReadinessFacts } from './facts.js';
import type { ReadinessReport } from './report.js';

export { READINESS_CHECK_IDS, READINESS_SECTIONS } from '../config/readiness-ids.js';
export { evaluateReadiness } from './checks.js';
export { readinessHtml, readinessText } from './render.js';
export type { CheckStatus, ReadinessCheck, ReadinessReport, ReadinessSectionReport } from './report.js';

/** The readiness report of one pipeline as of `now`. */
export async function readinessReport(
  store: Store,
  config: AirlockConfig,
  pipeline: string,
  options: { now: number; minScore?: number | null },
): Promise<ReadinessReport> {
  const facts = await gatherReadinessFacts(store, config, pipeline, options.now);
  return evaluateReadiness(facts, { minScore: options.minScore });
}

export interface TestAlertResult {
  evidence_id: number;
  sinks: { sink: string; type: 'webhook' | 'log'; delivered: boolean; error: string | null }[];
}

/**
 * Sends one test alert through every configured sink (not de-duplicated: each run sends) and stores the outcome as
 * evidence (kind `alert_test`), which the `change.alerts` check cites. It carries no record data.
 */
export async function sendTestAlert(
  store: Store,
  config: AirlockConfig,
  pipeline: string,
  logger: Logger,
  now: number,
): Promise<TestAlertResult> {
  const p = config.pipelines[pipeline];
  if (!p) throw new AirlockError('NOT_FOUND', `pipeline "${pipeline}" is not in the config`);
  if (config.alerts.length === 0)
    throw new AirlockError('USAGE', 'the config lists no alert sink (alerts:): there is nowhere to send a test alert');
  const alert = { ...alertOf('readiness_test', { pipeline }), count: 1, firstRaisedAt: now };
  const sinks = await Promise.all(
    config.alerts.map(async (c) => {
      const sink = c.type === 'webhook' ? new WebhookSink(c) : new LogSink(logger);
      try {
        await sink.send(alert);
        return { sink: sink.name, type: c.type, delivered: true, error: null };
      } catch (err) {
        return { sink: sink.name, type: c.type, delivered: false, error: (err as Error).message };
      }
    }),
  );
  const evidenceId = await insertEvidence(store.db, {
    kind: 'alert_test',
    pipeline,
    now,
    hashes: evidenceHashes(config, p, null),
    summary: { sinks, delivered: sinks.filter((s) => s.delivered).length },
    report: { sinks, alert: { key: alert.key, title: alert.title, text: alert.text } },
  });
  return { evidence_id: evidenceId, sinks };
}
