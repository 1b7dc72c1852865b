/**
 * Reading a run log without holding it in memory. A LogReader is a snapshot
 * of the log's bytes taken when it was opened; the HTTP API streams it in
 * chunks of at most LOG_CHUNK_BYTES (Range requests, `?tail=N`), and
 * followers replay it line by line with back-pressure. Nothing here reads a
 * whole log into one string.
 */

/** The most bytes one read hands out: a 100 MB log costs four readers a few hundred KB, not 400 MB. */
export const LOG_CHUNK_BYTES = 64 * 1024;
/** `?tail=N` accepts at most this many lines (the dashboard asks for 5000). */
export const MAX_TAIL_LINES = 100_000;

export interface LogReader {
  /** Bytes in the snapshot; writes after the reader was opened are not included. */
  readonly size: number;
  /** The bytes in [start, end) (clamped to the snapshot) in chunks of at most LOG_CHUNK_BYTES. */
  chunks(start?: number, end?: number): AsyncIterable<Uint8Array>;
  /** Releases the file handles; safe to call more than once. */
  close(): Promise<void>;
}

/** A reader over bytes already in memory (the fake appliance, the markers between log parts). */
export function bufferLogReader(bytes: Uint8Array): LogReader {
  return {
    size: bytes.length,
    async *chunks(start = 0, end = bytes.length) {
      const stop = Math.min(end, bytes.length);
      for (let at = Math.max(0, start); at < stop; at += LOG_CHUNK_BYTES) yield bytes.subarray(at, Math.min(stop, at + LOG_CHUNK_BYTES));
    },
    async close() {},
  };
}

const NEWLINE = 0x0a;
/** The longest partial line forEachLine holds before handing it on. */
const MAX_CARRY_BYTES = 1024 * 1024;

/**
 * The byte offset where the last `lines` lines of the reader start, found by
 * reading backwards one chunk at a time (a final line without a newline
 * counts as a line).
 */
export async function tailOffset(reader: LogReader, lines: number): Promise<number> {
  if (lines <= 0) return reader.size;
  let newlines = 0;
  let end = reader.size;
  // A trailing newline ends the last line; it does not start another one.
  let skipFinal = true;
  while (end > 0) {
    const start = Math.max(0, end - LOG_CHUNK_BYTES);
    const chunk = await readRange(reader, start, end);
    for (let i = chunk.length - 1; i >= 0; i--) {
      if (chunk[i] !== NEWLINE) {
        skipFinal = false;
        continue;
      }
      if (skipFinal) {
        skipFinal = false;
        continue;
      }
      newlines++;
      if (newlines === lines) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

/** One range of a reader as a single buffer; callers keep it at most a chunk or two long. */
export async function readRange(reader: LogReader, start: number, end: number): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of reader.chunks(start, end)) parts.push(chunk);
  return Buffer.concat(parts);
}

/**
 * Emits the lines of [start, end) one at a time, awaiting `onLine` when it
 * returns a promise (back-pressure), so at most one chunk plus one partial
 * line is held. A final line without a newline is emitted too.
 */
export async function forEachLine(
  reader: LogReader,
  onLine: (line: string) => void | Promise<void>,
  start = 0,
  end = reader.size,
): Promise<void> {
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of reader.chunks(start, end)) {
    let buffer = carry.length > 0 ? Buffer.concat([carry, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let from = 0;
    for (let newline = buffer.indexOf(NEWLINE, from); newline !== -1; newline = buffer.indexOf(NEWLINE, from)) {
      const pending = onLine(buffer.toString('utf8', from, newline));
      if (pending) await pending;
      from = newline + 1;
    }
    buffer = buffer.subarray(from);
    if (buffer.length > MAX_CARRY_BYTES) {
      // A file with no newline for a megabyte (not one Hearth wrote): hand it on in pieces.
      const pending = onLine(buffer.toString('utf8'));
      if (pending) await pending;
      buffer = buffer.subarray(buffer.length);
    }
    // A copy, so the chunk it came from can be collected.
    carry = Buffer.from(buffer);
  }
  if (carry.length > 0) {
    const pending = onLine(carry.toString('utf8'));
    if (pending) await pending;
  }
}
