/** A real AppContext for the snapshots service: a fresh store, a temp OCI layout and blob dir. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainyardEvent } from '@trainyard/shared';
import type { AppContext } from '../../src/context';
import { resolveConfig } from '../../src/config';
import { connect } from '../../src/store/db';
import { migrate } from '../../src/store/migrations';
import { EventBus } from '../../src/events/bus';
import { OciLayoutStore } from '../../src/images/oci-layout';
import type { ImageStore } from '../../src/images/image-store';
import { SnapshotsService, type SnapshotsOptions } from '../../src/snapshots/service';
import { freshStore, type StoreKind } from '../../../test/helpers/stores';
import type { SaveClient } from '@trainyard/shared/snapshot/save';

export interface Harness {
  dir: string;
  ctx: AppContext;
  svc: SnapshotsService;
  events: TrainyardEvent[];
  /** a SaveClient that calls the service directly (as the routes would) */
  client: SaveClient;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** the image store (default: an OCI layout in the temp dir); given the temp dir */
  images?: (dir: string) => ImageStore;
  /** SnapshotsService options (e.g. the test podman flags) */
  snapshots?: SnapshotsOptions;
  /** the client offers the local fast path (file paths with the manifest, useLocalFiles) as the API client on loopback does; default false: uploads only */
  localFiles?: boolean;
}

export async function harness(kind: StoreKind = 'sqlite', maxFileBytes = 1024 * 1024, opts: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'ty-snap-'));
  const store = await freshStore(kind);
  const conn = connect(store.url);
  await migrate(conn.db);
  const config = resolveConfig({ images: { registry: `oci-layout:${join(dir, 'images')}` } }, dir);
  config.images.maxFileBytes = maxFileBytes;
  config.home = dir; // oci-views and other data-home files stay in the temp dir
  const bus = new EventBus();
  const events: TrainyardEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const ctx: AppContext = {
    config,
    conn,
    db: conn.db,
    bus,
    images: opts.images ? opts.images(dir) : new OciLayoutStore(join(dir, 'images')),
    executor: null as never,
    token: 't',
    user: 'tester',
    dirs: { blobs: join(dir, 'blobs'), runs: join(dir, 'runs') },
  };
  const svc = new SnapshotsService(ctx, opts.snapshots);
  const client: SaveClient = {
    createSnapshot: (body) => svc.create(body),
    putBlob: (sha, data) => svc.putBlob(sha, Buffer.from(data)),
    buildSnapshot: (id) => svc.build(id),
    inspectBaseImage: (ref) => svc.inspectBase(ref),
    ...(opts.localFiles ? { onThisMachine: true, useLocalFiles: (id: string, files: Array<{ sha256: string; path: string }>) => svc.useLocalFiles(id, files) } : {}),
  };
  return {
    dir,
    ctx,
    svc,
    events,
    client,
    async close() {
      await svc.close();
      await conn.close();
      await store.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
