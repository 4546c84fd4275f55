import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { DatabaseKind } from './db.js';

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
