/**
 * The evidence a check cites: the newest stored report of a kind made with the config, contract, model and calibrator
 * in force (otherwise `stale`, naming what changed), no older than the age limit, and how often it was made.
 */
import { humanDuration } from '../review/runbook.js';
import type { CheckStatus, EvidenceItem, Hashes, ReadinessFacts } from './report.js';

/** Which of the stamped hashes a kind of report depends on (a report is stale when one of them changed). */
export const EVIDENCE_DEPENDS_ON: Record<string, (keyof Hashes)[]> = {
  // A profile of the data, judged against the contract in force.
  audit: ['config', 'contract'],
  // The model's raw confidence on labelled records; the calibrator is what it produces, not what it depends on.
  calibration: ['config', 'contract', 'model'],
  // A scheduled refit (routing.refit): the same inputs as a calibration, on reviewers' verdicts.
  refit: ['config', 'contract', 'model'],
  // The model's answers judged at the effective threshold, which the calibrator sets.
  probe: ['config', 'contract', 'model', 'calibrator'],
  loadtest: ['config', 'contract'],
  alert_test: ['config'],
  review_report: [],
};

const iso = (ms: number) => new Date(ms).toISOString();
/** The day of a moment, `2026-11-02`. */
export const day = (ms: number) => iso(ms).slice(0, 10);
/** A hash for people: its first ten characters. */
export const short = (h: string | null) => (h === null ? 'none' : h.length > 10 ? `${h.slice(0, 10)}…` : h);

/** What a kind of report looks like now: none, stale, too old, or current (with the current ones). */
export type Found =
  | { state: 'missing' }
  | { state: 'stale'; item: EvidenceItem; changed: (keyof Hashes)[] }
  | { state: 'old'; item: EvidenceItem }
  | { state: 'current'; item: EvidenceItem; matching: EvidenceItem[] };

/**
 * The newest report of a kind whose hashes match the ones in force; `stale` (naming what changed) when every one was
 * made with something else, `old` when the newest matching one is older than the age limit.
 */
export function findEvidence(facts: ReadinessFacts, kind: string, maxAgeMs: number): Found {
  const rows = facts.evidence.filter((e) => e.kind === kind);
  if (rows.length === 0) return { state: 'missing' };
  const depends = EVIDENCE_DEPENDS_ON[kind] ?? ['config', 'contract', 'model', 'calibrator'];
  const changedOf = (e: EvidenceItem) => depends.filter((h) => e.hashes[h] !== facts.current[h]);
  const matching = rows.filter((e) => changedOf(e).length === 0);
  if (matching.length === 0) return { state: 'stale', item: rows[0], changed: changedOf(rows[0]) };
  const item = matching[0];
  if (facts.now - item.createdAt > maxAgeMs) return { state: 'old', item };
  return { state: 'current', item, matching: matching.filter((e) => facts.now - e.createdAt <= maxAgeMs) };
}

/** The stamped hashes for people. */
export const HASH_NAMES: Record<keyof Hashes, string> = {
  config: 'the config file',
  contract: 'the contract',
  model: 'the model',
  calibrator: 'the calibrator in force',
};

function staleText(facts: ReadinessFacts, f: Extract<Found, { state: 'stale' }>, what: string): string {
  const changes = f.changed.map((h) => `${HASH_NAMES[h]} (${short(f.item.hashes[h])} then, ${short(facts.current[h])} now)`);
  return `${what} #${f.item.id} of ${day(f.item.createdAt)} was made with another version of ${changes.join(', ')}`;
}

/** The report a check cites, as the report shows it. */
export const artefactOf = (e: EvidenceItem) => ({ kind: e.kind, id: e.id, created_at: iso(e.createdAt) });

/** A check's verdict before the report scores it. */
export interface Draft {
  status: CheckStatus;
  points?: number;
  evidence: string;
  fix?: string | null;
  artefact?: EvidenceItem | null;
}

/** Points of a passing evidence check: 1 when the report was made at least twice with the hashes in force, else ½. */
const repeatedPoints = (passing: number) => (passing >= 2 ? 1 : 0.5);
const repeatedText = (passing: number) =>
  passing >= 2 ? `; made ${passing} times with what is in force (automatic, repeated)` : '; made once (by hand)';

/**
 * The common frame of an evidence check: missing → fail, stale → stale, too old → fail, else `judge` the report
 * (its problems, or none); points by repetition among the matching reports that also pass.
 */
export function evidenceCheck(
  facts: ReadinessFacts,
  kind: string,
  maxAgeMs: number,
  label: string,
  command: string,
  judge: (e: EvidenceItem) => { problems: string[]; figure: string; fix?: string },
): Draft {
  const f = findEvidence(facts, kind, maxAgeMs);
  if (f.state === 'missing') return { status: 'fail', evidence: `no ${label} stored for ${facts.pipeline}`, fix: command };
  if (f.state === 'stale') return { status: 'stale', evidence: staleText(facts, f, label), fix: command, artefact: f.item };
  if (f.state === 'old') {
    return {
      status: 'fail',
      evidence: `the newest ${label} (#${f.item.id}) is of ${day(f.item.createdAt)}, older than ${humanDuration(maxAgeMs)}`,
      fix: command,
      artefact: f.item,
    };
  }
  const verdict = judge(f.item);
  const head = `${label} #${f.item.id} of ${day(f.item.createdAt)}: ${verdict.figure}`;
  if (verdict.problems.length > 0) {
    return { status: 'fail', evidence: `${head}; ${verdict.problems.join('; ')}`, fix: verdict.fix ?? command, artefact: f.item };
  }
  const passing = f.matching.filter((e) => judge(e).problems.length === 0).length;
  return { status: 'pass', points: repeatedPoints(passing), evidence: head + repeatedText(passing), artefact: f.item };
}
