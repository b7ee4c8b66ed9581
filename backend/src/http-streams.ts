/**
 * Long-lived hijacked responses (the SSE event stream, NDJSON log follows) are ended when the
 * server closes: Fastify's close() waits for open connections, so without this a shutdown
 * (SIGTERM, an editor stopping its local backend) hung for as long as a client listened.
 * Call streams(app) while registering routes (hooks cannot be added once the server is ready).
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
