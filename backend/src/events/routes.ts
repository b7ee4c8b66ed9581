/**
 * GET /v1/events: server-sent events (`event: run|snapshot|version|schedule`,
 * JSON data), with a heartbeat comment.
 *
 * Bounded: one token may hold server.maxEventStreamsPerToken open streams
 * (one more is a 429 saying so), and a client that lets more than
 * server.streamBufferBytes queue up is sent a last comment with the reason
 * and disconnected (the UIs reconnect and reload what they show).
 */
import { ErrorBody } from '@trainyard/shared';
import type { TypedApp } from '../http-types';
import type { AppContext } from '../context';
import { HttpError } from '../errors';
import { overflowing, streams } from '../http-streams';

export function registerEventRoutes(app: TypedApp, ctx: AppContext): void {
  const track = streams(app);
  const { maxEventStreamsPerToken: maxStreams, streamBufferBytes: limit } = ctx.config.server;
  const openByToken = new Map<string, number>();
  app.get(
    '/v1/events',
    { schema: { tags: ['events'], description: `text/event-stream of run, snapshot, version and schedule changes; at most ${maxStreams} open streams per token`, response: { 429: ErrorBody } } },
    async (req, reply) => {
      const key = req.caller.tokenId ?? `${req.caller.kind}:${req.caller.user}`;
      const open = openByToken.get(key) ?? 0;
      if (open >= maxStreams) {
        throw new HttpError(
          'too_many_requests',
          `this token already has ${open} open event streams, the limit (server.maxEventStreamsPerToken); close one (an editor window or dashboard tab) or ask the operator to raise the limit`,
        );
      }
      openByToken.set(key, open + 1);
      reply.hijack();
      const raw = reply.raw;
      track(raw);
      raw.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
      raw.write(': connected\n\n');
      const send = (text: string) => {
        if (raw.writableEnded) return;
        if (overflowing(raw, limit)) {
          raw.end(`: closed: this client fell more than ${limit} bytes behind (server.streamBufferBytes); reconnect and reload\n\n`);
          setTimeout(() => raw.destroy(), 30_000).unref(); // a client that never reads again does not hold its queue
          return;
        }
        raw.write(text);
      };
      const unsubscribe = ctx.bus.subscribe((e) => send(`event: ${e.kind}\ndata: ${JSON.stringify(e.data)}\n\n`));
      const heartbeat = setInterval(() => send(': heartbeat\n\n'), 15000);
      heartbeat.unref();
      raw.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
        const left = (openByToken.get(key) ?? 1) - 1;
        if (left > 0) openByToken.set(key, left);
        else openByToken.delete(key);
      });
    },
  );
}
