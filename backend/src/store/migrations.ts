/**
 * Schema migrations, in code so the bundle carries them. Each runs once, in
 * order, on SQLite and PostgreSQL alike (Kysely's Migrator keeps the ledger).
 * Never edit a landed migration: add the next one.
 */
import { sql, type Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';

const migrations: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('models')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('team', 'text')
        .addColumn('description', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('versions')
        .addColumn('model', 'text', (c) => c.notNull().references('models.name'))
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('image_ref', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('base_image', 'text')
        .addColumn('base_digest', 'text')
        .addColumn('entrypoints', 'text', (c) => c.notNull())
        .addColumn('git', 'text', (c) => c.notNull())
        .addColumn('size_bytes', 'bigint', (c) => c.notNull())
        .addColumn('file_count', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('versions_pk', ['model', 'label'])
        .execute();
      await db.schema
        .createTable('snapshots')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('version', 'text')
        .addColumn('manifest', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('missing', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sweeps')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('axes', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('parallelism', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('launches')
        .addColumn('idempotency_key', 'text', (c) => c.primaryKey())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('runs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('entrypoint', 'text', (c) => c.notNull())
        .addColumn('command', 'text', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('hardware', 'text', (c) => c.notNull())
        .addColumn('hardware_spec', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('sweep_id', 'text')
        .addColumn('sweep_index', 'integer')
        .addColumn('schedule_id', 'text')
        .addColumn('executor', 'text', (c) => c.notNull())
        .addColumn('executor_ref', 'text')
        .addColumn('max_duration_seconds', 'integer', (c) => c.notNull())
        .addColumn('exit_code', 'integer')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .addColumn('price_per_hour', 'double precision', (c) => c.notNull())
        .addColumn('estimated_cost', 'double precision')
        .addColumn('actual_cost', 'double precision')
        .addColumn('next_log_seq', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // run lists are newest first, keyset-paginated on (created_at, id)
      await db.schema.createIndex('runs_created').on('runs').columns(['created_at', 'id']).execute();
      await db.schema.createIndex('runs_model_created').on('runs').columns(['model', 'created_at', 'id']).execute();
      await db.schema.createIndex('runs_status_created').on('runs').columns(['status', 'created_at', 'id']).execute();
      await db.schema.createIndex('runs_model_status_created').on('runs').columns(['model', 'status', 'created_at', 'id']).execute();
      await db.schema.createIndex('runs_sweep').on('runs').columns(['sweep_id', 'sweep_index']).execute();
      await db.schema.createIndex('runs_schedule').on('runs').columns(['schedule_id', 'created_at', 'id']).execute();
      await db.schema
        .createTable('run_logs')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('stream', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('time', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_logs_pk', ['run_id', 'seq'])
        .execute();
      await db.schema
        .createTable('metrics')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('step', 'integer')
        .addColumn('value', 'double precision', (c) => c.notNull())
        .addColumn('time', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('metrics_pk', ['run_id', 'seq'])
        .execute();
      await db.schema
        .createTable('schedules')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('cron', 'text', (c) => c.notNull())
        .addColumn('timezone', 'text', (c) => c.notNull())
        .addColumn('request', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('next_fire_at', 'text')
        .addColumn('last_fire_at', 'text')
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('schedule_fires')
        .addColumn('schedule_id', 'text', (c) => c.notNull())
        .addColumn('tick', 'text', (c) => c.notNull())
        .addColumn('fired_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('schedule_fires_pk', ['schedule_id', 'tick'])
        .execute();
    },
  },
  '0002_people': {
    async up(db: Kysely<any>) {
      // per-person and per-run tokens, stored as the sha256 of the secret
      await db.schema
        .createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('user_name', 'text', (c) => c.notNull())
        .addColumn('admin', 'integer', (c) => c.notNull())
        .addColumn('run_id', 'text')
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('hint', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('tokens_user').on('tokens').columns(['user_name', 'created_at']).execute();
      await db.schema.createIndex('tokens_run').on('tokens').columns(['run_id']).execute();
      // the "mine" filter of run lists
      await db.schema.createIndex('runs_created_by_created').on('runs').columns(['created_by', 'created_at', 'id']).execute();
    },
  },
  '0004_run_artifacts': {
    async up(db: Kysely<any>) {
      // one row per run whose outputs were kept (or could not be): where the OCI artifact is
      await db.schema
        .createTable('run_outputs')
        .addColumn('run_id', 'text', (c) => c.primaryKey())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('ref', 'text')
        .addColumn('digest', 'text')
        .addColumn('total_bytes', 'bigint', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('run_artifacts')
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_artifacts_pk', ['run_id', 'path'])
        .execute();
      await db.schema.createIndex('run_artifacts_sha256').on('run_artifacts').columns(['sha256']).execute();
      // the training run whose artifacts a run reads (launched with fromRun)
      await db.schema.alterTable('runs').addColumn('input_run_id', 'text').execute();
    },
  },
  '0005_page_indexes': {
    async up(db: Kysely<any>) {
      // keyset pages: each list's order, behind its equality filter (store/keyset.ts)
      await db.schema.createIndex('runs_sweep_created').on('runs').columns(['sweep_id', 'created_at', 'id']).execute();
      await db.schema.createIndex('versions_model_created').on('versions').columns(['model', 'created_at', 'label']).execute();
    },
  },
  '0007_snapshot_error_code': {
    async up(db: Kysely<any>) {
      // a failed build's kind (the build answers 202 and ends later; a client maps it back to a status)
      await db.schema.alterTable('snapshots').addColumn('error_code', 'text').execute();
    },
  },
  '0008_schedule_version_policy': {
    async up(db: Kysely<any>) {
      // which version a schedule's fires run: 'latest' at each fire, or 'pinned' (request.version)
      await db.schema.alterTable('schedules').addColumn('version_policy', 'text', (c) => c.notNull().defaultTo('latest')).execute();
      // a schedule made with a version always fired that version on the local loop: it is pinned
      for (const r of await db.selectFrom('schedules').select(['id', 'request']).execute()) {
        if ((JSON.parse(r.request) as { version?: string }).version) await db.updateTable('schedules').set({ version_policy: 'pinned' }).where('id', '=', r.id).execute();
      }
    },
  },
  '0009_schedule_fire_outcome': {
    async up(db: Kysely<any>) {
      // a claimed fire is open until its launch is recorded (launched_at) or refused (error); open
      // fires are launched again (same idempotency key) at start, so a crash between loses none
      await db.schema.alterTable('schedule_fires').addColumn('launched_at', 'text').execute();
      await db.schema.alterTable('schedule_fires').addColumn('error', 'text').execute();
      await db.schema.alterTable('schedules').addColumn('last_error', 'text').execute();
      // fires claimed before this migration: their outcome is unknown, and they are not retried
      await db.updateTable('schedule_fires').set((eb: any) => ({ launched_at: eb.ref('fired_at') })).execute();
      // the open fires, found without reading every fire ever claimed (a partial index on both stores)
      await sql`CREATE INDEX schedule_fires_open ON schedule_fires (fired_at) WHERE launched_at IS NULL AND error IS NULL`.execute(db);
    },
  },
  '0011_schedule_tokens': {
    async up(db: Kysely<any>) {
      // a run token may be scoped to a schedule instead of one run: the fires of a Kubernetes
      // CronJob, whose run ids exist only once the controller creates each Job (run-tokens.ts)
      await db.schema.alterTable('tokens').addColumn('schedule_id', 'text').execute();
      await db.schema.createIndex('tokens_schedule').on('tokens').columns(['schedule_id']).execute();
    },
  },
};

class InCodeProvider implements MigrationProvider {
  async getMigrations() {
    return migrations;
  }
}

/** runs every migration not run yet (or, for tests of a migration's backfill, those up to `to`) */
export async function migrate(db: Kysely<any>, to?: string): Promise<void> {
  const migrator = new Migrator({ db, provider: new InCodeProvider() });
  const { error, results } = to ? await migrator.migrateTo(to) : await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`store migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
  }
}
