import { StringDecoder } from 'node:string_decoder';

/** Longest line kept; the rest of a longer line is dropped so one runaway line cannot fill memory or the log. */
export const MAX_LINE_CHARS = 8 * 1024;
export const TRUNCATION_MARK = ' … [line truncated]';

export interface LineSplitter {
  push(chunk: Buffer | string): void;
  /** Emits a final line that had no newline. Safe to call more than once. */
  end(): void;
}

/**
 * Turns a byte stream into lines: UTF-8 sequences split across chunks are
 * rejoined, `\r\n` counts as one break, and a line longer than `maxChars` is
 * emitted once, cut and marked, with the rest of it skipped up to the next newline.
 */
export function createLineSplitter(emit: (line: string) => void, maxChars = MAX_LINE_CHARS): LineSplitter {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let skippingRestOfLine = false;
  let ended = false;

  const appendToLine = (text: string) => {
    if (skippingRestOfLine || text === '') return;
    pending += text;
    // A line of exactly maxChars followed by the `\r` of a CRLF is not too long.
    const length = pending.endsWith('\r') ? pending.length - 1 : pending.length;
    if (length > maxChars) {
      emit(pending.slice(0, maxChars) + TRUNCATION_MARK);
      pending = '';
      skippingRestOfLine = true;
    }
  };

  const finishLine = () => {
    if (!skippingRestOfLine) emit(pending.endsWith('\r') ? pending.slice(0, -1) : pending);
    pending = '';
    skippingRestOfLine = false;
  };

  const pushText = (text: string) => {
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      appendToLine(text.slice(start, newline));
      finishLine();
      start = newline + 1;
    }
    appendToLine(text.slice(start));
  };

  return {
    push(chunk) {
      if (ended) return;
      pushText(typeof chunk === 'string' ? chunk : decoder.write(chunk));
    },
    end() {
      if (ended) return;
      ended = true;
      pushText(decoder.end());
      if (pending.replace(/\r$/, '') !== '' && !skippingRestOfLine) finishLine();
    },
  };
}

/** Keeps the last `size` lines. */
export class LineTail {
  private readonly kept: string[] = [];

  constructor(private readonly size: number) {}

  add(line: string): void {
    if (this.size <= 0) return;
    this.kept.push(line);
    if (this.kept.length > this.size) this.kept.shift();
  }

  lines(): string[] {
    return [...this.kept];
  }
}
