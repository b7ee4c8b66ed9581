/**
 * A fault-injecting HTTP proxy in front of a registry, for tests. Each rule
 * matches requests (method + path regexp) and fires `times` times:
 *   '429'  answers 429 Too Many Requests (Retry-After: 0) without forwarding
 *   '500'  answers 500 without forwarding
 *   'drop' forwards the headers and the first half of the body, then drops
 *          both connections (the client sees a reset mid-upload; the registry
 *          sees a request cut short)
 * Everything else is forwarded as is (Host kept, so the registry's Location
 * headers point back at the proxy).
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultRule {
  method: string;
  path: RegExp;
  action: '429' | '500' | 'drop';
  times: number;
  /** skip this many matching requests first */
  after?: number;
  fired?: number;
}

export interface FaultProxy {
  host: string;
  url: string;
  rules: FaultRule[];
  /** requests seen, "METHOD path" */
  log: string[];
  close(): Promise<void>;
}

function drain(req: IncomingMessage): Promise<void> {
  return new Promise((r) => {
    req.on('end', r);
    req.on('error', () => r());
    req.resume();
  });
}

export async function startFaultProxy(target: { port: number }, rules: FaultRule[]): Promise<FaultProxy> {
  const log: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    log.push(`${req.method} ${path}`);
    const rule = rules.find((r) => r.method === req.method && r.path.test(path) && (r.fired ?? 0) < r.times + (r.after ?? 0) && ((r.fired = (r.fired ?? 0) + 1), r.fired > (r.after ?? 0)));
    if (rule?.action === '429' || rule?.action === '500') {
      await drain(req);
      const status = Number(rule.action);
      res.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '0' } : {}) });
      res.end(JSON.stringify({ errors: [{ code: status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN', message: `injected ${status}` }] }));
      return;
    }
    const up = request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    if (rule?.action === 'drop') {
      const total = Number(req.headers['content-length'] ?? 0);
      let sent = 0;
      req.on('data', (chunk: Buffer) => {
        if (sent >= total / 2) return;
        const part = chunk.subarray(0, Math.max(0, Math.ceil(total / 2) - sent));
        sent += part.length;
        up.write(part);
        if (sent >= total / 2) {
          setTimeout(() => {
            up.destroy();
            req.socket.destroy();
          }, 50);
        }
      });
      if (total === 0) req.socket.destroy();
      return;
    }
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    rules,
    log,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
