/** Schedules stored before 0008/0009 keep their meaning: a version given is pinned, old fires are closed (not launched again). */
import assert from 'node:assert/strict';
import { connect } from '../../src/store/db';
import { migrate } from '../../src/store/migrations';
import { STORE_KINDS, freshStore } from '../../../test/helpers/stores';

for (const kind of STORE_KINDS) {
  it(`0008 and 0009 backfill existing schedules and fires on ${kind}`, async () => {
    const store = await freshStore(kind);
    const conn = connect(store.url);
    try {
      await migrate(conn.db, '0007_snapshot_error_code');
      const row = (id: string, request: object) => ({ id, model: 'm', cron: '0 3 * * *', timezone: 'UTC', request: JSON.stringify(request), enabled: 1, next_fire_at: null, last_fire_at: null, created_by: 'me', created_at: '2026-01-01T00:00:00.000Z' });
      await conn.db.insertInto('schedules').values([row('sch_pinned00000', { model: 'm', version: 'v3' }), row('sch_latest00000', { model: 'm' })]).execute();
      await conn.db.insertInto('schedule_fires').values({ schedule_id: 'sch_latest00000', tick: '2026-01-02T03:00:00.000Z', fired_at: '2026-01-02T03:00:00.100Z' }).execute();
      await migrate(conn.db);
      const policies = (await conn.db.selectFrom('schedules').select(['id', 'version_policy', 'last_error']).orderBy('id').execute()).map((r) => ({ ...r }));
      assert.deepEqual(policies, [
        { id: 'sch_latest00000', version_policy: 'latest', last_error: null },
        { id: 'sch_pinned00000', version_policy: 'pinned', last_error: null },
      ]);
      const fire = await conn.db.selectFrom('schedule_fires').selectAll().executeTakeFirstOrThrow();
      assert.equal(fire.launched_at, '2026-01-02T03:00:00.100Z', 'a fire from before is not launched again');
      assert.equal(fire.error, null);
    } finally {
      await conn.close();
      await store.drop();
    }
  });
}
