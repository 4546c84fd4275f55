import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { DatabaseKind } from './tables.js';

/** Sorts cases without a deadline after every case with one (the largest exact integer in a double). */
export const NO_DEADLINE = 9007199254740991;

/** One set of migrations for both backends; the only difference is how an auto-increment key is spelled. */
function migrations(kind: DatabaseKind): Record<string, Migration> {
  const autoId = (name: string) =>
    kind === 'postgres' ? sql.raw(`${name} bigserial primary key`) : sql.raw(`${name} integer primary key autoincrement`);
  const ms = kind === 'postgres' ? sql.raw('bigint') : sql.raw('integer');
  return {
    '0001_records_events_cases_deliveries': {
      async up(db: Kysely<unknown>) {
        await sql`create table records (
          ${autoId('seq')},
          pipeline text not null,
          id text not null,
          body text not null,
          body_hash text not null,
          status text not null,
          contract_hash text,
          violations text,
          prediction text,
          decision text,
          score_attempts integer not null default 0,
          available_at ${ms} not null,
          lease_owner text,
          lease_until ${ms},
          created_at ${ms} not null,
          updated_at ${ms} not null,
          unique (pipeline, id)
        )`.execute(db);
        await sql`create index records_status_seq on records (status, seq)`.execute(db);
        await sql`create table events (
          ${autoId('seq')},
          pipeline text not null,
          record_id text not null,
          at ${ms} not null,
          kind text not null,
          detail text not null
        )`.execute(db);
        await sql`create index events_record on events (pipeline, record_id, seq)`.execute(db);
        await sql`create table review_cases (
          ${autoId('id')},
          pipeline text not null,
          record_id text not null,
          type text not null,
          owner text,
          status text not null,
          reason text not null,
          sla_due_at ${ms},
          created_at ${ms} not null,
          resolved_at ${ms},
          resolution text
        )`.execute(db);
        await sql`create index review_cases_status on review_cases (status, created_at)`.execute(db);
        await sql`create index review_cases_record on review_cases (pipeline, record_id)`.execute(db);
        await sql`create table deliveries (
          ${autoId('seq')},
          pipeline text not null,
          record_id text not null,
          destination text not null,
          idempotency_key text not null unique,
          status text not null,
          attempts integer not null default 0,
          first_attempt_at ${ms},
          next_attempt_at ${ms} not null,
          lease_owner text,
          lease_until ${ms},
          last_status integer,
          last_error text,
          response text,
          created_at ${ms} not null,
          updated_at ${ms} not null,
          unique (pipeline, record_id, destination)
        )`.execute(db);
        await sql`create index deliveries_due on deliveries (status, pipeline, destination, next_attempt_at)`.execute(db);
        await sql`create table alerts (
          key text primary key,
          first_raised_at ${ms} not null,
          last_raised_at ${ms} not null,
          last_sent_at ${ms},
          count integer not null,
          message text not null
        )`.execute(db);
      },
      async down(db: Kysely<unknown>) {
        for (const t of ['alerts', 'deliveries', 'review_cases', 'events', 'records']) {
          await sql`drop table if exists ${sql.raw(t)}`.execute(db);
        }
      },
    },
    '0002_evidence_and_routing_versions': {
      async up(db: Kysely<unknown>) {
        // Evidence: every report readiness may cite, with its time and the hashes it was made with.
        await sql`create table evidence (
          ${autoId('id')},
          kind text not null,
          pipeline text,
          created_at ${ms} not null,
          config_hash text,
          contract_hash text,
          model_hash text,
          calibrator_hash text,
          summary text not null,
          report text not null
        )`.execute(db);
        await sql`create index evidence_kind on evidence (kind, pipeline, created_at)`.execute(db);
        // Routing versions: a calibrator and an auto-accept threshold per pipeline, every version kept.
        await sql`create table routing_versions (
          ${autoId('id')},
          pipeline text not null,
          version integer not null,
          status text not null,
          calibrator text,
          threshold text not null,
          evidence_id ${ms},
          created_at ${ms} not null,
          created_by text,
          activated_at ${ms},
          activated_by text,
          note text,
          unique (pipeline, version)
        )`.execute(db);
      },
      async down(db: Kysely<unknown>) {
        await sql`drop table if exists routing_versions`.execute(db);
        await sql`drop table if exists evidence`.execute(db);
      },
    },
    '0003_contracts_halts_quarantine': {
      async up(db: Kysely<unknown>) {
        // Contract versions per pipeline: the config's contract, then every change a person accepted.
        await sql`create table contract_versions (
          ${autoId('id')},
          pipeline text not null,
          version integer not null,
          hash text not null,
          schema text not null,
          source text not null,
          status text not null,
          created_at ${ms} not null,
          created_by text,
          note text,
          unique (pipeline, version)
        )`.execute(db);
        // One row per record that showed a structural change (kind, field): the sliding window a halt counts in.
        await sql`create table change_sightings (
          ${autoId('seq')},
          pipeline text not null,
          kind text not null,
          field text not null,
          record_id text not null,
          at ${ms} not null
        )`.execute(db);
        await sql`create index change_sightings_window on change_sightings (pipeline, kind, field, at)`.execute(db);
        // Halts: a pipeline stops scoring while one is open; a person accepts or rejects the change.
        await sql`create table halts (
          ${autoId('id')},
          pipeline text not null,
          status text not null,
          kind text not null,
          field text not null,
          contract_version integer,
          detail text not null,
          opened_at ${ms} not null,
          resolved_at ${ms},
          resolved_by text,
          resolution text
        )`.execute(db);
        await sql`create index halts_open on halts (pipeline, status)`.execute(db);
        await sql`alter table records add column contract_version integer`.execute(db);
        // The body as received, kept when a person edits a quarantined record before releasing it.
        await sql`alter table records add column original_body text`.execute(db);
      },
      async down(db: Kysely<unknown>) {
        for (const t of ['halts', 'change_sightings', 'contract_versions']) await sql`drop table if exists ${sql.raw(t)}`.execute(db);
      },
    },
    '0004_delivery_limits_and_breakers': {
      async up(db: Kysely<unknown>) {
        const real = kind === 'postgres' ? sql.raw('double precision') : sql.raw('real');
        // One row per destination: the token bucket every process leases from (PostgreSQL), and what pacing learned.
        await sql`create table delivery_limits (
          pipeline text not null,
          destination text not null,
          tokens ${real} not null,
          refilled_at ${ms} not null,
          rate_per_second ${real},
          found_per_second ${real},
          found_source text,
          signal text,
          updated_at ${ms} not null,
          primary key (pipeline, destination)
        )`.execute(db);
        // One row per destination: its circuit breaker, shared by every process.
        await sql`create table delivery_breakers (
          pipeline text not null,
          destination text not null,
          state text not null,
          window_start ${ms} not null,
          calls ${real} not null,
          failures ${real} not null,
          prev_calls ${real} not null,
          prev_failures ${real} not null,
          opened_at ${ms},
          open_until ${ms},
          probes integer not null,
          probe_successes integer not null,
          openings integer not null,
          updated_at ${ms} not null,
          primary key (pipeline, destination)
        )`.execute(db);
        await sql`create index deliveries_dead on deliveries (status, pipeline, destination, updated_at)`.execute(db);
        // In-flight deliveries per destination (the concurrency cap shared by all processes counts them).
        await sql`create index deliveries_leased on deliveries (pipeline, destination, lease_until)`.execute(db);
      },
      async down(db: Kysely<unknown>) {
        await sql`drop index if exists deliveries_dead`.execute(db);
        await sql`drop index if exists deliveries_leased`.execute(db);
        for (const t of ['delivery_breakers', 'delivery_limits']) await sql`drop table if exists ${sql.raw(t)}`.execute(db);
      },
    },
    '0005_review_product': {
      async up(db: Kysely<unknown>) {
        // People: local accounts (scrypt password hashes), their sessions and machine tokens (stored hashed).
        await sql`create table users (
          ${autoId('id')},
          name text not null unique,
          role text not null,
          password_hash text,
          created_at ${ms} not null,
          disabled_at ${ms}
        )`.execute(db);
        await sql`create table sessions (
          id_hash text primary key,
          user_id ${ms} not null,
          csrf text not null,
          created_at ${ms} not null,
          expires_at ${ms} not null
        )`.execute(db);
        await sql`create table api_tokens (
          ${autoId('id')},
          user_id ${ms} not null,
          name text not null,
          token_hash text not null unique,
          created_at ${ms} not null,
          last_used_at ${ms},
          revoked_at ${ms}
        )`.execute(db);
        // The queue as a product: priority, the owning team, a lease per claim, SLA clocks, escalation.
        for (const col of [
          sql`priority integer not null default 2`,
          sql`claimed_by text`,
          sql`lease_until ${ms}`,
          sql`first_action_at ${ms}`,
          sql`first_action_due_at ${ms}`,
          sql`waiting_since ${ms}`,
          sql`paused_ms ${ms} not null default 0`,
          sql`breached_at ${ms}`,
          // When the SLA stage next has something to do for the case (a deadline or an escalation step); null: nothing.
          sql`next_check_at ${ms}`,
          sql`reviews_required integer not null default 1`,
          sql`state text not null default 'open'`,
        ]) {
          await sql`alter table review_cases add column ${col}`.execute(db);
        }
        // The queue's order (priority, deadline — none last —, age) over open cases only: "next case" walks it.
        await sql`create index review_cases_next on review_cases (status, priority, (coalesce(sla_due_at, ${sql.raw(String(NO_DEADLINE))})), id)`.execute(
          db,
        );
        await sql`create index review_cases_next_check on review_cases (status, next_check_at)`.execute(db);
        // Each reviewer's action on a case (several when a case needs more than one review).
        await sql`create table case_actions (
          ${autoId('id')},
          case_id ${ms} not null,
          actor text not null,
          role text not null,
          action text not null,
          label text,
          reason text,
          at ${ms} not null
        )`.execute(db);
        await sql`create index case_actions_case on case_actions (case_id, id)`.execute(db);
        // Escalation steps that fired: the unique key makes each (case, repeat, level) fire exactly once, whatever
        // the number of processes.
        await sql`create table case_escalations (
          case_id ${ms} not null,
          repeat integer not null,
          level integer not null,
          fired_at ${ms} not null,
          targets text not null,
          primary key (case_id, repeat, level)
        )`.execute(db);
      },
      async down(db: Kysely<unknown>) {
        for (const t of ['case_escalations', 'case_actions', 'api_tokens', 'sessions', 'users']) {
          await sql`drop table if exists ${sql.raw(t)}`.execute(db);
        }
      },
    },
    '0006_delivery_order_budget': {
      async up(db: Kysely<unknown>) {
        // Ordering per key: the key (from the destination's order_by) and the record's arrival position; a delivery
        // goes out only when no earlier pending delivery of the same key is left (src/delivery/ordering.ts).
        await sql`alter table deliveries add column order_key text`.execute(db);
        await sql`alter table deliveries add column order_seq ${ms}`.execute(db);
        await sql`create index deliveries_order on deliveries (pipeline, destination, order_key, order_seq) where order_key is not null`.execute(
          db,
        );
        // The claim's exact order (due time, then seq) over pending rows only: a claim reads the rows it takes, not every
        // pending row of the destination (rows decided in one transaction share their due time).
        await sql`create index deliveries_pending_due on deliveries (pipeline, destination, next_attempt_at, seq) where status = 'pending'`.execute(
          db,
        );
        // One row per destination: the retry budget's one-second buckets (JSON ring), shared by every process.
        await sql`create table delivery_budgets (
          pipeline text not null,
          destination text not null,
          buckets text not null,
          updated_at ${ms} not null,
          primary key (pipeline, destination)
        )`.execute(db);
        // Quotas counted in fixed windows (HubSpot's daily cap): one row per destination and quota, leased in blocks.
        await sql`create table delivery_quotas (
          pipeline text not null,
          destination text not null,
          quota text not null,
          window_start ${ms} not null,
          used integer not null,
          updated_at ${ms} not null,
          primary key (pipeline, destination, quota)
        )`.execute(db);
      },
      async down(db: Kysely<unknown>) {
        for (const t of ['delivery_quotas', 'delivery_budgets']) await sql`drop table if exists ${sql.raw(t)}`.execute(db);
        await sql`drop index if exists deliveries_order`.execute(db);
        await sql`drop index if exists deliveries_pending_due`.execute(db);
      },
    },
    '0007_drift': {
      async up(db: Kysely<unknown>) {
        // When the drift stage counted the record into its window's summary (null: not yet); set in the same
        // transaction as the summary, so a record is counted once whatever the crashes and processes.
        await sql`alter table records add column drift_at ${ms}`.execute(db);
        await sql`create index records_drift_pending on records (pipeline, drift_at, seq)`.execute(db);
        // Reference profiles: the drift spec (bins from the reference) and the reference's summary, versioned per pipeline.
        await sql`create table drift_references (
          pipeline text not null,
          version integer not null,
          status text not null,
          source text not null,
          spec text not null,
          summary text not null,
          outputs text not null,
          rows integer not null,
          created_at ${ms} not null,
          created_by text,
          note text,
          primary key (pipeline, version)
        )`.execute(db);
        // Mergeable summaries per (pipeline, reference version, window, process): each process writes only its own
        // rows, readers merge them.
        await sql`create table drift_windows (
          pipeline text not null,
          reference_version integer not null,
          window_start ${ms} not null,
          window_ms ${ms} not null,
          process text not null,
          rows integer not null,
          summary text not null,
          outputs text not null,
          updated_at ${ms} not null,
          primary key (pipeline, reference_version, window_start, process)
        )`.execute(db);
        // One evaluation per completed window (the primary key lets one process do it), with the fields that drifted.
        await sql`create table drift_evaluations (
          pipeline text not null,
          window_start ${ms} not null,
          reference_version integer not null,
          evaluated_at ${ms} not null,
          rows integer not null,
          tested integer not null,
          result text not null,
          primary key (pipeline, window_start)
        )`.execute(db);
        // Alert episodes per field: opened after N drifted windows, resolved after M clean ones.
        await sql`create table drift_episodes (
          pipeline text not null,
          field text not null,
          state text not null,
          drifted_run integer not null,
          clean_run integer not null,
          opened_at ${ms},
          opened_window ${ms},
          resolved_at ${ms},
          alerted integer not null,
          episodes integer not null,
          statistic double precision,
          updated_at ${ms} not null,
          primary key (pipeline, field)
        )`.execute(db);
      },
      async down(db: Kysely<unknown>) {
        for (const t of ['drift_episodes', 'drift_evaluations', 'drift_windows', 'drift_references']) {
          await sql`drop table if exists ${sql.raw(t)}`.execute(db);
        }
        await sql`drop index if exists records_drift_pending`.execute(db);
      },
    },
    '0008_labels_and_refits': {
      async up(db: Kysely<unknown>) {
        // Labels for the feedback loop: the calibration set, review verdicts and audit-sample verdicts, each with the
        // model's prediction as it was, so calibrators and thresholds can be refitted (and their bias accounted for).
        await sql`create table labels (
          ${autoId('id')},
          pipeline text not null,
          source text not null,
          record_id text,
          label text not null,
          predicted text not null,
          raw_confidence double precision not null,
          probs text,
          segment text,
          routing_version integer,
          created_at ${ms} not null
        )`.execute(db);
        await sql`create index labels_pipeline on labels (pipeline, source, created_at)`.execute(db);
        // One row per scheduled refit: the primary key lets exactly one process run each due refit.
        await sql`create table refits (
          pipeline text not null,
          due_at ${ms} not null,
          ran_at ${ms} not null,
          outcome text not null,
          evidence_id ${ms},
          version integer,
          primary key (pipeline, due_at)
        )`.execute(db);
      },
      async down(db: Kysely<unknown>) {
        await sql`drop table if exists refits`.execute(db);
        await sql`drop table if exists labels`.execute(db);
      },
    },
    '0009_token_scopes': {
      async up(db: Kysely<unknown>) {
        // API tokens act within scopes: the pipelines they may touch and the actions they may take (JSON lists; "*"
        // for all), until an expiry (null: never). Tokens made before this migration keep their full reach.
        await sql`alter table api_tokens add column pipelines text not null default '["*"]'`.execute(db);
        await sql`alter table api_tokens add column scopes text not null default '["*"]'`.execute(db);
        await sql`alter table api_tokens add column expires_at ${ms}`.execute(db);
        // Sessions end after a stretch of inactivity too: last_seen_at moves with use, created_at bounds the whole.
        await sql`alter table sessions add column last_seen_at ${ms}`.execute(db);
      },
      async down(db: Kysely<unknown>) {
        for (const c of ['pipelines', 'scopes', 'expires_at']) await sql`alter table api_tokens drop column ${sql.raw(c)}`.execute(db);
        await sql`alter table sessions drop column last_seen_at`.execute(db);
      },
    },
    '0010_retention': {
      async up(db: Kysely<unknown>) {
        // A purged record keeps its id, status, hash, prediction, decision and trail; its content is blanked and
        // these say when and by which run (src/pipeline/retention.ts).
        await sql`alter table records add column purged_at ${ms}`.execute(db);
        await sql`alter table records add column purge text`.execute(db);
        // One row per purge run: the unique (pipeline, due_at) lets exactly one process run each scheduled purge;
        // runs from the CLI have no due time.
        await sql`create table purge_runs (
          ${autoId('id')},
          pipeline text not null,
          due_at ${ms},
          started_at ${ms} not null,
          finished_at ${ms},
          cutoff ${ms} not null,
          policy text not null,
          actor text not null,
          purged integer not null default 0,
          unique (pipeline, due_at)
        )`.execute(db);
        await sql`create index records_purgeable on records (pipeline, status, updated_at)`.execute(db);
      },
      async down(db: Kysely<unknown>) {
        await sql`drop index if exists records_purgeable`.execute(db);
        await sql`drop table if exists purge_runs`.execute(db);
        await sql`alter table records drop column purge`.execute(db);
        await sql`alter table records drop column purged_at`.execute(db);
      },
    },
  };
}

class InlineProvider implements MigrationProvider {
  constructor(private readonly kind: DatabaseKind) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations(this.kind);
  }
}

export interface MigrationReport {
  applied: string[];
  pending: number;
}

/** Brings the database to the latest schema; safe to run concurrently from several processes on PostgreSQL. */
export async function migrateToLatest(db: Kysely<unknown>, kind: DatabaseKind): Promise<MigrationReport> {
  const migrator = new Migrator({ db, provider: new InlineProvider(kind) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName), pending: 0 };
}
