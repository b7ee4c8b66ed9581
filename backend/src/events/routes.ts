/** GET /v1/events: server-sent events (`event: run|snapshot|version|schedule`, JSON data), with a heartbeat comment. */
import type { TypedApp } from '../http-types';
import type { AppContext } from '../context';
import { streams } from '../http-streams';

export function registerEventRoutes(app: TypedApp, ctx: AppContext): void {
  const track = streams(app);
  app.get('/v1/events', { schema: { tags: ['events'], description: 'text/event-stream of run, snapshot, version and schedule changes' } }, async (req, reply) => {
    reply.hijack();
    const raw = reply.raw;
    track(raw);
    raw.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    raw.write(': connected\n\n');
    const unsubscribe = ctx.bus.subscribe((e) => {
      raw.write(`event: ${e.kind}\ndata: ${JSON.stringify(e.data)}\n\n`);
    });
    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), 15000);
    heartbeat.unref();
    req.raw.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });
}
