/** What the readiness checks look at (the facts) and what they answer (the report), for the checks and their readers. */

import type { ReadinessCheckId, ReadinessSection } from '../config/readiness-ids.js';
import type { AlertSinkConfig } from '../config/sections/alerts.js';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import type { TeamConfig } from '../config/sections/teams.js';
import type { QueueCase } from '../review/queue-stats.js';
import type { StoredThreshold } from '../store/codecs.js';

/** pass; fail; manual: a person must confirm it (readiness.confirmed); stale: its evidence was made with something else. */
export type CheckStatus = 'pass' | 'fail' | 'manual' | 'stale';

export interface Hashes {
  config: string | null;
  contract: string | null;
  model: string | null;
  calibrator: string | null;
}

/** One stored report (the `evidence` table). */
export interface EvidenceItem {
  id: number;
  kind: string;
  createdAt: number;
  hashes: Hashes;
  summary: Record<string, unknown>;
  report: unknown;
}

export interface RoutingVersionFact {
  version: number;
  status: string;
  evidenceId: number | null;
  /** The routing version's threshold as stored (empty when it cannot be read). */
  threshold: Partial<StoredThreshold>;
  createdAt: number;
  activatedAt: number | null;
}

/** What the checks look at, gathered from the config and the database (src/readiness/facts.ts). */
export interface ReadinessFacts {
  pipeline: string;
  now: number;
  pipelineConfig: PipelineConfig;
  teams: Record<string, TeamConfig>;
  alerts: AlertSinkConfig[];
  /** The hashes a report made now would be stamped with: the config's, its contract's, the model's, the active calibrator's. */
  current: Hashes;
  /** Stored reports of this pipeline, newest first. */
  evidence: EvidenceItem[];
  routing: RoutingVersionFact[];
  /** Review cases created since go-live (empty before it). */
  cases: QueueCase[];
  /** Predictions stored within the evidence age limit, and how many of them name the model version. */
  predictions: { since: number; total: number; withModelVersion: number };
  /** The contract version the gate checks records against (contract_versions), when the pipeline has run. */
  contractInForce?: { version: number; hash: string; source: string; createdBy: string | null; createdAt: number };
  /** The drift reference profile, when the database has one; `supported: false` when this build cannot store one. */
  driftReference: { supported: boolean; createdAt?: number; fields?: string[]; rows?: number; source?: string };
}

export interface ReadinessCheck {
  id: ReadinessCheckId;
  title: string;
  status: CheckStatus;
  /** 0, ½ (done once by hand) or 1 (automatic and repeated). */
  points: number;
  blocking: boolean;
  /** What the check looked at: the artefact, its date, the figure. */
  evidence: string;
  /** How to fix a failure, with the exact command; null when it passes. */
  fix: string | null;
  /** The stored report cited, if any. */
  artefact: { kind: string; id: number; created_at: string } | null;
}

export interface ReadinessSectionReport {
  name: ReadinessSection;
  title: string;
  score: number;
  checks: ReadinessCheck[];
}

export interface ReadinessReport {
  pipeline: string;
  generated_at: string;
  /** Minimum over the sections of their summed points (ML Test Score). */
  score: number;
  min_score: number | null;
  /** Ids of blocking checks that failed or are stale. */
  blocking_failed: ReadinessCheckId[];
  /** The gate: score ≥ min_score and no blocking check failed. */
  passed: boolean;
  /** Which gate applied: the default (refuses unless the essential checks pass), or the one the config names. */
  gate: { default: boolean; why: string };
  sections: ReadinessSectionReport[];
}

export const SECTION_TITLES: Record<ReadinessSection, string> = {
  data: 'Data: production data and its contract',
  confidence: 'Confidence: calibration, threshold, probing',
  integrations: 'Integrations under load',
  review: 'Human review',
  change: 'Change management',
  monitoring: 'Monitoring and infrastructure',
};
