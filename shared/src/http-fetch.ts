/**
 * fetch() over node:http(s), for the API client of a process that lives for one command: the CLI,
 * and the save client the Jupyter server extension spawns per save (jupyterlab-ext/src-node).
 * Node's built-in fetch (undici) takes ~45 ms to load, more than the rest of a client verb's
 * start-up (bench/cli.bench.ts), and its first connection compiles its HTTP parser's WebAssembly,
 * while node:http is already in the binary's snapshot. It covers what TrainyardClient asks of fetch:
 * a method, headers, a string or byte body and a signal; the answer's status, headers, json(),
 * text(), arrayBuffer() and a streaming body (webBody). Sockets are kept alive by Node's global agent,
 * which does not hold the process open once they are idle.
 *
 * node:http(s) is taken with process.getBuiltinModule, not `import`: the ESM
 * view of node:http reads all its exports, and some of them load undici, which is what this
 * file avoids.
 */
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http';

type Request = (url: URL, opts: RequestOptions, cb: (res: IncomingMessage) => void) => ClientRequest;

/** node:http's or node:https's request() for `url`, taken without the ESM view (see above) */
export const requestFor = (url: URL): Request => process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http').request;

/** an answer's header as fetch's Headers.get gives it (a repeated one joined with ", "), or null */
export function headerOf(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name.toLowerCase()];
  return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
}

export const httpFetch = (async (input: string | URL, init: RequestInit = {}): Promise<Response> => {
  const url = new URL(String(input));
  const request = requestFor(url);
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

/**
 * The body as the part of a web ReadableStream its readers use: getReader() (read, releaseLock,
 * cancel: streams.ts) and async iteration (verified-write.ts). Node's Readable.toWeb would load
 * the web streams, ~10 ms of a streaming verb's start-up. One reader at a time, as a web stream has.
 */
function webBody(res: IncomingMessage) {
  let locked = false;
  let chunks: AsyncIterator<Buffer> | undefined; // one iterator for all readers, made by the first
  return {
    get locked() {
      return locked;
    },
    getReader() {
      if (locked) throw new TypeError('the body is locked to a reader already');
      locked = true;
      chunks ??= res[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      return {
        read: async (): Promise<{ done: true; value: undefined } | { done: false; value: Uint8Array }> => {
          const r = await chunks!.next();
          return r.done ? { done: true, value: undefined } : { done: false, value: new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.length) };
        },
        releaseLock: () => void (locked = false),
        cancel: async () => void res.destroy(),
      };
    },
    cancel: async () => void res.destroy(),
    [Symbol.asyncIterator]: () => res[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>,
  };
}

function answer(res: IncomingMessage): Response {
  const status = res.statusCode ?? 0;
  let body: ReturnType<typeof webBody> | undefined;
  const bytes = async (): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const like = {
    status,
    ok: status >= 200 && status < 300,
    statusText: res.statusMessage ?? '',
    headers: { get: (name: string) => headerOf(res.headers, name) },
    get body() {
      return (body ??= webBody(res));
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
