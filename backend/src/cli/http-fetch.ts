/**
 * fetch() over node:http(s), for the CLI's API client. Node's built-in fetch (undici) takes
 * ~45 ms to load, more than the rest of a client verb's start-up (bench/cli.bench.ts), while
 * node:http is already in the binary's snapshot. It covers what TrainyardClient asks of fetch:
 * a method, headers, a string or byte body and a signal; the answer's status, headers, json(),
 * text(), arrayBuffer() and a streaming body. Sockets are kept alive by Node's global agent,
 * which does not hold the process open once they are idle.
 *
 * node:http(s) and node:stream are taken with process.getBuiltinModule, not `import`: the ESM
 * view of node:http reads all its exports, and some of them load undici, which is what this
 * file avoids.
 */
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';

type Request = (url: URL, opts: RequestOptions, cb: (res: IncomingMessage) => void) => ClientRequest;

export const httpFetch = (async (input: string | URL, init: RequestInit = {}): Promise<Response> => {
  const url = new URL(String(input));
  const request: Request = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http').request;
  const signal = init.signal ?? undefined;
  signal?.throwIfAborted();
  return new Promise<Response>((resolve, reject) => {
    let response: IncomingMessage | undefined;
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers as Record<string, string> | undefined }, (res) => {
      response = res;
      if (signal) res.once('close', () => signal.removeEventListener('abort', onAbort));
      resolve(answer(res));
    });
    // as with fetch, an abort fails the request, or the body being read, with the signal's reason (an AbortError)
    const onAbort = () => {
      const reason = signal!.reason as Error;
      response?.destroy(reason);
      req.destroy(reason); // and its socket, so nothing holds the process
      reject(reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    const body = init.body as string | Uint8Array | null | undefined;
    if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      req.destroy();
      reject(new TypeError('httpFetch sends a string or bytes as the body'));
      return;
    }
    req.end(body ?? undefined);
  });
}) as typeof fetch;

function answer(res: IncomingMessage): Response {
  const status = res.statusCode ?? 0;
  let body: ReadableStream<Uint8Array> | undefined;
  const bytes = async (): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const like = {
    status,
    ok: status >= 200 && status < 300,
    statusText: res.statusMessage ?? '',
    headers: {
      get(name: string): string | null {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
      },
    },
    get body() {
      return (body ??= process.getBuiltinModule('node:stream').Readable.toWeb(res) as ReadableStream<Uint8Array>);
    },
    text: async () => (await bytes()).toString('utf8'),
    json: async () => JSON.parse((await bytes()).toString('utf8')) as unknown,
    arrayBuffer: async () => {
      const b = await bytes();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.length);
    },
  };
  return like as unknown as Response;
}
