/**
 * Long-lived hijacked responses: the SSE event stream and NDJSON log follows.
 *
 * They are ended when the server closes: Fastify's close() waits for open
 * connections, so without this a shutdown (SIGTERM, an editor stopping its
 * local backend) hung for as long as a client listened. Call streams(app)
 * while registering routes (hooks cannot be added once the server is ready).
 *
 * They honour backpressure, so a slow client cannot make the server buffer
 * without bound (server.streamBufferBytes): a log follow reads its next page
 * from the store only once the client has taken the last one (drained), and
 * the event stream, which cannot pause the bus, is ended with a reason when
 * more than the limit is queued (overflowing): the UIs reconnect and reload.
 */
import type { ServerResponse } from 'node:http';
import type { TypedApp } from './http-types';

export function streams(app: TypedApp): (raw: ServerResponse) => void {
  const open = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const raw of open) raw.end();
  });
  return (raw) => {
    open.add(raw);
    raw.on('close', () => open.delete(raw));
  };
}

/** resolves once `raw` has flushed what it queued, or has closed */
export function drained(raw: ServerResponse): Promise<void> {
  if (raw.writableLength === 0 || raw.destroyed || raw.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.on('drain', done);
    raw.on('close', done);
  });
}

/** true when a client has let more than `limitBytes` queue up on `raw` */
export function overflowing(raw: ServerResponse, limitBytes: number): boolean {
  return raw.writableLength > limitBytes;
}
