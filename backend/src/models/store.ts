/** Store queries for models and versions. */

import type { Model, Version } from '@trainyard/shared';
import type { Db, VersionsTable } from '../store/db';
import { nowIso } from '../ids';
import { decodeCursor, isName, isTimestamp, toPage, type CursorKind, type Page, type PageRequest } from '../store/keyset';

export async function ensureModel(db: Db, name: string, user: string, extra: { team?: string; description?: string } = {}): Promise<void> {
  await db
    .insertInto('models')
    .values({ name, team: extra.team ?? null, description: extra.description ?? null, created_by: user, created_at: nowIso() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
}

export async function modelExists(db: Db, name: string): Promise<boolean> {
  return !!(await db.selectFrom('models').select('name').where('name', '=', name).executeTakeFirst());
}

const modelColumns = (db: Db) =>
  db
    .selectFrom('models as m')
    .select([
      'm.name',
      'm.team',
      'm.description',
      'm.created_by',
      'm.created_at',
      (eb) => eb.selectFrom('versions as v').select((e) => e.fn.countAll<number>().as('c')).whereRef('v.model', '=', 'm.name').as('version_count'),
      (eb) => eb.selectFrom('runs as r').select((e) => e.fn.countAll<number>().as('c')).whereRef('r.model', '=', 'm.name').as('run_count'),
      (eb) =>
        eb
          .selectFrom('versions as v')
          .select('v.label')
          .whereRef('v.model', '=', 'm.name')
          .orderBy('v.created_at', 'desc')
          .orderBy('v.label', 'desc')
          .limit(1)
          .as('latest_version'),
    ]);

type ModelRow = { name: string; team: string | null; description: string | null; created_by: string; created_at: string; version_count: number | null; run_count: number | null; latest_version: string | null };

function toModel(r: ModelRow): Model {
  return {
    name: r.name,
    team: r.team,
    description: r.description,
    createdBy: r.created_by,
    createdAt: r.created_at,
    latestVersion: r.latest_version,
    versionCount: Number(r.version_count ?? 0),
    runCount: Number(r.run_count ?? 0),
  };
}

/** model pages: by name */
export const MODEL_CURSOR: CursorKind = { list: 'GET /v1/models', columns: [isName] };

/** one page of models by name, a seek on the primary key; a bad cursor throws a 400 */
export function modelsPageQuery(db: Db, page: PageRequest) {
  let q = modelColumns(db);
  if (page.cursor) {
    const [name] = decodeCursor(MODEL_CURSOR, page.cursor);
    q = q.where('m.name', '>', name);
  }
  return q.orderBy('m.name').limit(page.limit + 1);
}

export async function listModels(db: Db, page: PageRequest = { limit: 100 }): Promise<Page<Model>> {
  return toPage(await modelsPageQuery(db, page).execute(), page.limit, MODEL_CURSOR, (r) => [r.name], (r) => toModel(r as ModelRow));
}

export async function getModel(db: Db, name: string): Promise<Model | null> {
  const row = await modelColumns(db).where('m.name', '=', name).executeTakeFirst();
  return row ? toModel(row as ModelRow) : null;
}

export function toVersion(r: VersionsTable): Version {
  return {
    model: r.model,
    label: r.label,
    imageRef: r.image_ref,
    digest: r.digest,
    baseImage: r.base_image,
    baseDigest: r.base_digest,
    entrypoints: JSON.parse(r.entrypoints),
    git: JSON.parse(r.git),
    sizeBytes: Number(r.size_bytes),
    fileCount: Number(r.file_count),
    createdBy: r.created_by,
    createdAt: r.created_at,
  };
}

/** version pages: a model's versions newest first, keyed on (created_at, label) */
export const VERSION_CURSOR: CursorKind = { list: 'GET /v1/models/:model/versions', columns: [isTimestamp, isName] };

/** one page of a model's versions, a seek on versions_model_created; a bad cursor throws a 400 */
export function versionsPageQuery(db: Db, model: string, page: PageRequest) {
  let q = db.selectFrom('versions').selectAll().where('model', '=', model);
  if (page.cursor) {
    const [createdAt, label] = decodeCursor(VERSION_CURSOR, page.cursor);
    q = q.where((eb) => eb(eb.refTuple('created_at', 'label'), '<', eb.tuple(createdAt, label)));
  }
  return q.orderBy('created_at', 'desc').orderBy('label', 'desc').limit(page.limit + 1);
}

export async function listVersions(db: Db, model: string, page: PageRequest = { limit: 100 }): Promise<Page<Version>> {
  return toPage(await versionsPageQuery(db, model, page).execute(), page.limit, VERSION_CURSOR, (r) => [r.created_at, r.label], toVersion);
}

/** label null: the latest version */
export async function getVersion(db: Db, model: string, label: string | null): Promise<Version | null> {
  let q = db.selectFrom('versions').selectAll().where('model', '=', model);
  q = label ? q.where('label', '=', label) : q.orderBy('created_at', 'desc').orderBy('label', 'desc').limit(1);
  const row = await q.executeTakeFirst();
  return row ? toVersion(row) : null;
}

/** Versions are immutable: inserting an existing (model, label) returns false and changes nothing. */
export async function insertVersion(db: Db, v: Version): Promise<boolean> {
  const res = await db
    .insertInto('versions')
    .values({
      model: v.model,
      label: v.label,
      image_ref: v.imageRef,
      digest: v.digest,
      base_image: v.baseImage,
      base_digest: v.baseDigest,
      entrypoints: JSON.stringify(v.entrypoints),
      git: JSON.stringify(v.git),
      size_bytes: v.sizeBytes,
      file_count: v.fileCount,
      created_by: v.createdBy,
      created_at: v.createdAt,
    })
    .onConflict((oc) => oc.columns(['model', 'label']).doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
}

