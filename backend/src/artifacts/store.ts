/** Run artifacts in the store: one run_outputs row per run whose outputs were dealt with, and its files. */
import type { ArtifactFile } from '@trainyard/shared';
import type { Db } from '../store/db';

export interface OutputRecord {
  runId: string;
  state: 'stored' | 'none' | 'failed' | 'expired';
  ref: string | null;
  digest: string | null;
  totalBytes: number;
  note: string | null;
  files: ArtifactFile[];
}

/** Replaces what is recorded for the run, files and all, in one transaction: a reader sees all of it or none. */
export async function recordOutputs(db: Db, rec: OutputRecord, now: string): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx.deleteFrom('run_artifacts').where('run_id', '=', rec.runId).execute();
    await tx.deleteFrom('run_outputs').where('run_id', '=', rec.runId).execute();
    await tx
      .insertInto('run_outputs')
      .values({ run_id: rec.runId, state: rec.state, ref: rec.ref, digest: rec.digest, total_bytes: rec.totalBytes, note: rec.note, created_at: now })
      .execute();
    // in slices: SQLite allows at most 32766 bound parameters per statement
    for (let i = 0; i < rec.files.length; i += 1000) {
      await tx
        .insertInto('run_artifacts')
        .values(rec.files.slice(i, i + 1000).map((f) => ({ run_id: rec.runId, path: f.path, size: f.size, sha256: f.sha256 })))
        .execute();
    }
  });
}

export async function getOutputs(db: Db, runId: string): Promise<OutputRecord | null> {
  const row = await db.selectFrom('run_outputs').selectAll().where('run_id', '=', runId).executeTakeFirst();
  if (!row) return null;
  const files = await db.selectFrom('run_artifacts').select(['path', 'size', 'sha256']).where('run_id', '=', runId).orderBy('path').execute();
  return {
    runId,
    state: row.state as OutputRecord['state'],
    ref: row.ref,
    digest: row.digest,
    totalBytes: Number(row.total_bytes),
    note: row.note,
    files: files.map((f) => ({ path: f.path, size: Number(f.size), sha256: f.sha256 })),
  };
}

export async function getArtifactFile(db: Db, runId: string, path: string): Promise<ArtifactFile | null> {
  const f = await db.selectFrom('run_artifacts').select(['path', 'size', 'sha256']).where('run_id', '=', runId).where('path', '=', path).executeTakeFirst();
  return f ? { path: f.path, size: Number(f.size), sha256: f.sha256 } : null;
}

/** The newest succeeded run of a model's entrypoint whose artifacts are stored. */
export async function latestStoredRun(db: Db, model: string, entrypoint: string): Promise<string | null> {
  const row = await db
    .selectFrom('runs')
    .innerJoin('run_outputs', 'run_outputs.run_id', 'runs.id')
    .select('runs.id')
    .where('runs.model', '=', model)
    .where('runs.entrypoint', '=', entrypoint)
    .where('runs.status', '=', 'Succeeded')
    .where('run_outputs.state', '=', 'stored')
    .orderBy('runs.finished_at', 'desc')
    .orderBy('runs.id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.id ?? null;
}
