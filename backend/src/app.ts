/**
 * Wiring: builds the AppContext (store, image store, executor, event bus),
 * the services and the HTTP server, re-attaches the executor to runs the
 * store still has in flight, starts the scheduler, and listens.
 */
import { cpus, totalmem } from 'node:os';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedConfig } from './config';
import type { AppContext } from './context';
import { connect } from './store/db';
import { migrate } from './store/migrations';
import { EventBus } from './events/bus';
import { localUser, serverToken, TEAM_ADMIN_USER } from './auth/token';
import { buildServer } from './server';
import { RunsService } from './runs/service';
import { SchedulesService } from './schedules/service';
import { SnapshotsService } from './snapshots/service';
import { ArtifactsService } from './artifacts/service';
import { expireArtifacts } from './artifacts/retention';
import { collectGarbageAtStart } from './artifacts/gc-state';
import { openImageStore } from './images/open';
import { prestartListingThread, stopSpareListingThread } from './images/layer-read';
import { createExecutor } from './executors/create';

export interface RunningServer {
  url: string;
  token: string;
  ctx: AppContext;
  close(): Promise<void>;
}

export async function startServer(config: ResolvedConfig): Promise<RunningServer> {
  const admin = serverToken(config.home); // first: a bad TRAINYARD_TOKEN stops the start with its reason
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const dirs = { blobs: join(config.home, 'blobs'), runs: join(config.home, 'runs') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const conn = connect(config.store.url, config.store);
  await migrate(conn.db);
  const images = openImageStore(config.images.registry, { cacheDir: join(config.home, 'image-cache') });
  const ctx: AppContext = {
    config,
    conn,
    db: conn.db,
    bus: new EventBus(),
    images,
    executor: null as never,
    token: admin.token,
    user: admin.source === 'env' ? TEAM_ADMIN_USER : localUser(),
    dirs,
  };
  const artifacts = new ArtifactsService(ctx);
  ctx.executor = await createExecutor(ctx, { cpuCount: cpus().length, memoryBytes: totalmem() }, artifacts);
  const runs = new RunsService(ctx, artifacts);
  const schedules = new SchedulesService(ctx, runs);
  const snapshots = new SnapshotsService(ctx);
  const app = await buildServer(ctx, { runs, schedules, snapshots, artifacts });

  let retention: NodeJS.Timeout | null = null;
  try {
    // retention first, then garbage collection while nothing can be writing a blob (no executor, no
    // server yet), of the parts where something was added or removed since the last start's
    await expireArtifacts(ctx).catch((err) => console.error(`trainyard: artifact retention failed: ${(err as Error).message}`));
    await collectGarbageAtStart(ctx).catch((err) => console.error(`trainyard: garbage collection failed: ${(err as Error).message}`));
    retention = setInterval(() => void expireArtifacts(ctx).catch(() => undefined), 6 * 3600_000);
    retention.unref();
    await ctx.executor.start(runs, await runs.activeRuns());
    schedules.start();
    await app.listen({ host: config.server.host, port: config.server.port });
    prestartListingThread(); // a first save on a new base lists its layers without waiting for a thread to start
  } catch (err) {
    if (retention) clearInterval(retention);
    schedules.stop();
    await ctx.executor.stop();
    await app.close();
    await conn.close();
    throw err;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.server.port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  let closed = false;
  return {
    url: `http://${host}:${port}`,
    token: ctx.token,
    ctx,
    async close() {
      if (closed) return;
      closed = true;
      if (retention) clearInterval(retention);
      schedules.stop();
      stopSpareListingThread();
      await ctx.executor.stop();
      await app.close();
      await snapshots.close();
      await conn.close();
    },
  };
}
