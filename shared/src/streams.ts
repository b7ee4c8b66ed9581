/**
 * Reading the backend's streaming answers, in Node and in browsers alike: a body cut at a
 * separator, server-sent events (`event:` + `data:` blocks) and newline-delimited JSON. Used by
 * the API client and by the JupyterLab extension's same-origin client.
 */
import type { TrainyardEvent } from './schemas/events';

/** the body of a streaming response cut at each separator; a non-empty last piece without one comes last */
export async function* chunks(res: Response, separator: string): AsyncGenerator<string> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let at: number;
      while ((at = buf.indexOf(separator)) >= 0) {
        yield buf.slice(0, at);
        buf = buf.slice(at + separator.length);
      }
    }
  } finally {
    reader.releaseLock();
  }
  if (buf.trim()) yield buf;
}

/** server-sent events: one TrainyardEvent per `event:`/`data:` block (comments and keep-alives skipped) */
export async function* sseEvents(res: Response): AsyncGenerator<TrainyardEvent> {
  for await (const block of chunks(res, '\n\n')) {
    let kind = '';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) kind = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (kind && data) yield { kind, data: JSON.parse(data) } as TrainyardEvent;
  }
}

/** newline-delimited JSON, one value per non-empty line */
export async function* ndjson<T>(res: Response): AsyncGenerator<T> {
  for await (const line of chunks(res, '\n')) if (line.trim()) yield JSON.parse(line) as T;
}
