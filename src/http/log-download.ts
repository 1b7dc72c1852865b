import type { Context } from 'hono';
import { tailOffset, type LogReader } from '../core/log-reader.js';
import { ApiError } from './errors.js';

/**
 * `GET /api/runs/:id/logs` as plain text, streamed from a log snapshot in
 * bounded chunks (the response pulls the next chunk only when the client
 * has taken the last one, so a slow phone holds one chunk, not the log):
 *
 *   ?tail=N          the last N lines
 *   Range: bytes=…   one byte range (206, or 416 past the end); `Accept-Ranges: bytes`
 *   ?download        adds `Content-Disposition: attachment` (the dashboard's link)
 *
 * With `tail`, a Range header is ignored (the tail's start is not a byte
 * position the client knows). Several ranges in one header are answered
 * with the whole log, as RFC 9110 allows.
 */
export async function serveLog(
  c: Context,
  reader: LogReader,
  options: { runId: string; tail?: number; download: boolean },
): Promise<Response> {
  try {
    const size = reader.size;
    let start = 0;
    let end = size;
    let status: 200 | 206 = 200;
    const headers: Record<string, string> = {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    };
    if (options.download) headers['Content-Disposition'] = `attachment; filename="${options.runId}.log"`;
    if (options.tail !== undefined) {
      start = await tailOffset(reader, options.tail);
    } else {
      headers['Accept-Ranges'] = 'bytes';
      const range = parseRange(c.req.header('range'), size);
      if (range) {
        ({ start, end } = range);
        status = 206;
        headers['Content-Range'] = `bytes ${start}-${end - 1}/${size}`;
      }
    }
    headers['Content-Length'] = String(end - start);
    return c.body(chunkStream(reader, start, end), status, headers);
  } catch (error) {
    await reader.close();
    throw error;
  }
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range, or undefined for none (or several, or another unit). */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const unsatisfiable = () =>
    new ApiError(416, 'range_not_satisfiable', `range ${header.trim()} is outside the log (${size} bytes)`, { 'Content-Range': `bytes */${size}` });
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(match[1]);
  const last = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || last < start) throw unsatisfiable();
  return { start, end: last + 1 };
}

function chunkStream(reader: LogReader, start: number, end: number): ReadableStream<Uint8Array> {
  const chunks = reader.chunks(start, end)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) {
            await reader.close();
            controller.close();
          } else {
            controller.enqueue(next.value);
          }
        } catch (error) {
          await reader.close();
          controller.error(error);
        }
      },
      async cancel() {
        await chunks.return?.();
        await reader.close();
      },
    },
    // Pull one chunk at a time: nothing is read ahead of the client.
    { highWaterMark: 0 },
  );
}
