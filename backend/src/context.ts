/** Everything a route or service needs, built once by createApp(). */
import type { ResolvedConfig } from './config';
import type { Connection, Db } from './store/db';
import type { EventBus } from './events/bus';
import type { Executor } from './executors/executor';
import type { ImageStore } from './images/image-store';

export interface AppContext {
  config: ResolvedConfig;
  conn: Connection;
  db: Db;
  bus: EventBus;
  images: ImageStore;
  executor: Executor;
  /** the bearer token every route but /healthz requires */
  token: string;
  /** recorded as createdBy */
  user: string;
  /** absolute directories under the data home */
  dirs: { blobs: string; runs: string };
}
