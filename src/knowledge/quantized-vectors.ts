import { createInt8Scanner, MAX_WEIGHT, type Int8Scanner } from './wasm/int8-scan.js';

/**
 * An in-memory copy of a table's vectors for the first stage of vector
 * search: int8, one scale per row, stored column by column (dimension-major).
 *
 * Why: LanceDB's exact scan reads every float of the vector column on each
 * query (100k chunks × 256 dims: ~150 ms here), and its approximate indexes
 * found only 16–28 % of the true top 10 on hashing vectors. In memory the
 * copy costs a quarter of the floats (25 MB at 100k × 256), and storing it
 * by dimension lets a query skip every dimension where it is zero: a short
 * query embedded by the hashing embedder touches ~16 of 256 dimensions, so a
 * scan of 100k rows is a few milliseconds. Dense queries (a real model's
 * vectors) scan every column; the scan runs in WebAssembly SIMD
 * (wasm/int8-scan.wat), over tiles of 32 rows held two dimensions at a
 * time: 100k × 384 took 35.5 ms of CPU a query in JavaScript, 8.2 ms in
 * SIMD over columns, ~4 ms over tiles of one dimension and ~2.5 over tiles
 * of pairs (x64, 2 cores), with the same results, so recall is what the
 * int8 copy gives. A coarser first pass (sign bits) was measured and left
 * out: on the bench's corpus it found half the exact top 10 in its best
 * 1,000 (docs/benchmarks.md, session 8).
 *
 * Results are approximate only through int8 rounding; the caller re-ranks
 * the best few with the exact float vectors.
 */

export interface RowFilter {
  /** Only rows of these sources (by name). */
  sources?: string[];
  since?: number;
  until?: number;
}

export interface NearRow {
  /** The table's row id (LanceDB `_rowid`). */
  rowId: number;
  /** Approximate cosine similarity × |query|: only the order matters. */
  score: number;
  /** The row's place in this copy (for `describe`). */
  row: number;
}

/** What the copy knows of a row besides its vector: what fusion needs of it, without asking LanceDB. */
export interface CopiedRow {
  rowId: number;
  /** Chunk and document ids, when they were given to `add` (else empty). */
  id: string;
  docId: string;
  source: string;
  timestamp: number;
}

/** Each row's dot product with the query, in units that `factor` turns back into the rows' int8 scale. */
interface DotProducts {
  values: ArrayLike<number>;
  factor: number;
}

export class QuantizedVectors {
  /**
   * Without the SIMD scanner, column d holds dimension d of every row: columns[d * capacity + row].
   * With it, the scanner's tiles of 32 rows hold the values (scanner.cell(row, d)).
   */
  private readonly columns: Int8Array;
  /** The WebAssembly SIMD scan, when this Node has it (it holds the columns then). */
  private readonly scanner: Int8Scanner | undefined;
  /** Multiplies a row's int8 dot product back to the scale of unit vectors. */
  private readonly scales: Float32Array;
  private readonly rowIds: Float64Array;
  private readonly timestamps: Float64Array;
  private readonly sourceCodes: Uint16Array;
  private readonly sourceNames: string[] = [];
  private readonly sourceCode = new Map<string, number>();
  /** Chunk and document ids: 16 bytes a row each for Hearth's hex ids (IdColumn). */
  private readonly ids: IdColumn;
  private readonly docIds: IdColumn;
  /** Rows in row id order, built on the first `rowOf` if rows were not added in that order (LanceDB's scan adds them in order). */
  private byRowId: Uint32Array | undefined;
  private rowIdsAscending = true;
  /** The JavaScript scan's sums, reused between searches: one float per row. */
  private readonly scratch: Float32Array;
  /** Where dimension d of a row is in the scanner's cells, from its dimension 0 (the same for every row). */
  private readonly cellOffsets: Int32Array;
  private filled = 0;

  constructor(
    readonly capacity: number,
    readonly dim: number,
    options: { simd?: boolean } = {},
  ) {
    this.scanner = options.simd === false ? undefined : createInt8Scanner(capacity, dim);
    this.columns = this.scanner?.cells ?? new Int8Array(capacity * dim);
    this.scales = new Float32Array(capacity);
    this.rowIds = new Float64Array(capacity);
    this.timestamps = new Float64Array(capacity);
    this.sourceCodes = new Uint16Array(capacity);
    this.scratch = new Float32Array(this.scanner ? 0 : capacity); // the SIMD scan returns its own sums
    this.cellOffsets = new Int32Array(this.scanner ? dim : 0);
    for (let d = 0; d < this.cellOffsets.length; d++) this.cellOffsets[d] = this.scanner!.cell(0, d) - this.scanner!.cell(0, 0);
    this.ids = new IdColumn(capacity);
    this.docIds = new IdColumn(capacity);
  }

  /** Bytes held, for the memory cap and the status page (ids counted at 16 bytes each: Hearth's are hex). */
  static bytesFor(rows: number, dim: number): number {
    return rows * (dim + 4 + 8 + 8 + 2 + 4 + 2 * IdColumn.BYTES_PER_ID);
  }

  /** Whether searches use the WebAssembly SIMD scan. */
  get simd(): boolean {
    return this.scanner !== undefined;
  }

  get size(): number {
    return this.filled;
  }

  /**
   * Appends one row; `vector` (any length-`dim` array of numbers) is
   * normalised before rounding. `ids` (chunk and document id) let a search
   * name the row without reading it from LanceDB.
   */
  add(rowId: number, source: string, timestamp: number, vector: ArrayLike<number>, ids?: { id: string; docId: string }): void {
    if (this.filled >= this.capacity) throw new RangeError(`the vector copy is full (${this.capacity} rows)`);
    if (vector.length !== this.dim) throw new RangeError(`vector has ${vector.length} dimensions, expected ${this.dim}`);
    const row = this.filled++;
    if (row > 0 && rowId <= this.rowIds[row - 1]!) this.rowIdsAscending = false;
    this.byRowId = undefined;
    if (ids) {
      this.ids.set(row, ids.id);
      this.docIds.set(row, ids.docId);
    }
    let norm = 0;
    let maxAbs = 0;
    for (let d = 0; d < this.dim; d++) {
      const value = vector[d]!;
      norm += value * value;
      maxAbs = Math.max(maxAbs, Math.abs(value));
    }
    norm = Math.sqrt(norm);
    // Rounding v / maxAbs × 127 uses the whole int8 range for every row; the scale undoes it and the norm.
    const toInt8 = maxAbs > 0 ? 127 / maxAbs : 0;
    if (this.scanner) {
      const first = this.scanner.cell(row, 0);
      const offsets = this.cellOffsets;
      for (let d = 0; d < this.dim; d++) this.columns[first + offsets[d]!] = Math.round(vector[d]! * toInt8);
    } else {
      for (let d = 0; d < this.dim; d++) this.columns[d * this.capacity + row] = Math.round(vector[d]! * toInt8);
    }
    this.scales[row] = maxAbs > 0 && norm > 0 ? maxAbs / 127 / norm : 0;
    this.rowIds[row] = rowId;
    this.timestamps[row] = timestamp;
    this.sourceCodes[row] = this.codeOf(source);
  }

  /** The copy's row holding LanceDB row `rowId`, or -1. */
  rowOf(rowId: number): number {
    const order = this.rowOrder();
    let lo = 0;
    let hi = this.filled - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const row = order ? order[mid]! : mid;
      const at = this.rowIds[row]!;
      if (at === rowId) return row;
      if (at < rowId) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Row `row`'s ids, source and time. */
  describe(row: number): CopiedRow {
    if (row < 0 || row >= this.filled) throw new RangeError(`no row ${row} in the vector copy (${this.filled} rows)`);
    return { rowId: this.rowIds[row]!, id: this.ids.get(row), docId: this.docIds.get(row), source: this.sourceNames[this.sourceCodes[row]!]!, timestamp: this.timestamps[row]! };
  }

  /** Row numbers sorted by row id, or undefined when they already are (the usual case). */
  private rowOrder(): Uint32Array | undefined {
    if (this.rowIdsAscending) return undefined;
    if (!this.byRowId) {
      const order = new Uint32Array(this.filled);
      for (let row = 0; row < this.filled; row++) order[row] = row;
      this.byRowId = order.sort((a, b) => this.rowIds[a]! - this.rowIds[b]!);
    }
    return this.byRowId;
  }

  /** The `k` rows most similar to `query` that pass `filter`, best first. */
  nearest(query: ArrayLike<number>, filter: RowFilter, k: number): NearRow[] {
    if (query.length !== this.dim) throw new RangeError(`query has ${query.length} dimensions, expected ${this.dim}`);
    const sums = this.scan(query);
    return this.best(sums, filter, k);
  }

  /**
   * scratch[row] = query · row (int8 units) over the query's non-zero
   * dimensions only. Four columns per pass over the rows: each pass reads and
   * writes the score array once, which halves a dense query's time
   * (nearest() over 100k × 256 here: 85 → 41 ms; a 16-dimension query 5.9 → 3.4 ms).
   */
  private scan(query: ArrayLike<number>): DotProducts {
    if (this.scanner) return this.scanSimd(query, this.scanner);
    const rows = this.filled;
    const scores = this.scratch;
    const columns = this.columns;
    scores.fill(0, 0, rows);
    const dims: number[] = [];
    for (let d = 0; d < this.dim; d++) if (query[d] !== 0) dims.push(d); // the point of storing by dimension
    let i = 0;
    for (; i + 4 <= dims.length; i += 4) {
      const [d0, d1, d2, d3] = [dims[i]!, dims[i + 1]!, dims[i + 2]!, dims[i + 3]!];
      const [w0, w1, w2, w3] = [query[d0]!, query[d1]!, query[d2]!, query[d3]!];
      const [o0, o1, o2, o3] = [d0 * this.capacity, d1 * this.capacity, d2 * this.capacity, d3 * this.capacity];
      for (let row = 0; row < rows; row++) {
        scores[row]! += w0 * columns[o0 + row]! + w1 * columns[o1 + row]! + w2 * columns[o2 + row]! + w3 * columns[o3 + row]!;
      }
    }
    for (; i < dims.length; i++) {
      const weight = query[dims[i]!]!;
      const offset = dims[i]! * this.capacity;
      for (let row = 0; row < rows; row++) scores[row]! += weight * columns[offset + row]!;
    }
    return { values: scores, factor: 1 };
  }

  /**
   * The same dot products in WebAssembly SIMD: the query is scaled to
   * integers (|w| ≤ MAX_WEIGHT, a relative rounding of 1/16383 of its largest
   * value, far below the rows' int8 rounding) and the sums scaled back
   * while the best are picked (no float copy of them: 4 bytes a row fewer;
   * time within noise, 4.5–4.6 ms for nearest() over 100k × 384 either way).
   */
  private scanSimd(query: ArrayLike<number>, scanner: Int8Scanner): DotProducts {
    let maxAbs = 0;
    for (let d = 0; d < this.dim; d++) maxAbs = Math.max(maxAbs, Math.abs(query[d]!));
    const dims: number[] = [];
    const weights: number[] = [];
    const toInt = maxAbs > 0 ? MAX_WEIGHT / maxAbs : 0;
    for (let d = 0; d < this.dim; d++) {
      const weight = Math.round(query[d]! * toInt);
      if (weight === 0) continue; // the point of storing by dimension: a hashing query touches a few
      dims.push(d);
      weights.push(weight);
    }
    const rows = this.filled;
    return { values: scanner.scan(rows, dims, weights), factor: toInt > 0 ? 1 / toInt : 0 };
  }

  /**
   * Scales the raw dot products and keeps the best `k` of the rows that pass
   * the filter. The loop visits every row, so it reads locals only, skips
   * the filter checks when there is no filter, and calls the heap only for
   * a score above the weakest kept one, which the heap returns (a getter
   * for it, read per row, was not inlined: nearest() of a sparse query over
   * 100k × 256 took 2.0–3.2 ms of CPU, 0.9–1.3 with the returned floor,
   * x64 under load).
   */
  private best({ values, factor }: DotProducts, filter: RowFilter, k: number): NearRow[] {
    const allowed = this.allowedSources(filter.sources);
    const since = filter.since ?? -Infinity;
    const until = filter.until ?? Infinity;
    const heap = new TopK(k);
    const rows = this.filled;
    const scales = this.scales;
    if (k > 0) {
      // Below the weakest kept score (once k are kept) no row gets in: rows come in order, so a tie never does.
      let floor = -Infinity;
      if (!allowed && since === -Infinity && until === Infinity) {
        for (let row = 0; row < rows; row++) {
          const score = values[row]! * factor * scales[row]!;
          if (score > floor) floor = heap.offer(row, score);
        }
      } else {
        const codes = this.sourceCodes;
        const timestamps = this.timestamps;
        for (let row = 0; row < rows; row++) {
          if (allowed && !allowed[codes[row]!]) continue;
          const timestamp = timestamps[row]!;
          if (timestamp < since || timestamp >= until) continue;
          const score = values[row]! * factor * scales[row]!;
          if (score > floor) floor = heap.offer(row, score);
        }
      }
    }
    return heap.sorted().map(({ row, score }) => ({ rowId: this.rowIds[row]!, score, row }));
  }

  private allowedSources(sources: string[] | undefined): Uint8Array | undefined {
    if (!sources || sources.length === 0) return undefined;
    const allowed = new Uint8Array(this.sourceNames.length);
    for (const source of sources) {
      const code = this.sourceCode.get(source);
      if (code !== undefined) allowed[code] = 1;
    }
    return allowed;
  }

  private codeOf(source: string): number {
    let code = this.sourceCode.get(source);
    if (code === undefined) {
      if (this.sourceNames.length >= 0xffff) throw new RangeError('more than 65535 sources');
      code = this.sourceNames.length;
      this.sourceNames.push(source);
      this.sourceCode.set(source, code);
    }
    return code;
  }
}

/** A min-heap holding the best `k` (row, score) pairs seen; ties keep the earlier row. */
class TopK {
  private readonly rows: Int32Array;
  private readonly scores: Float64Array;
  private count = 0;

  constructor(private readonly k: number) {
    this.rows = new Int32Array(Math.max(0, k));
    this.scores = new Float64Array(Math.max(0, k));
  }

  /** Keeps the row if it is among the best `k` so far; returns the score a row must now beat (-Infinity until `k` are kept). */
  offer(row: number, score: number): number {
    if (this.k <= 0) return Infinity;
    if (this.count < this.k) {
      this.rows[this.count] = row;
      this.scores[this.count] = score;
      this.siftUp(this.count++);
    } else if (score > this.scores[0]!) {
      this.rows[0] = row;
      this.scores[0] = score;
      this.siftDown(0);
    }
    return this.count < this.k ? -Infinity : this.scores[0]!;
  }

  sorted(): Array<{ row: number; score: number }> {
    const out = Array.from({ length: this.count }, (_, i) => ({ row: this.rows[i]!, score: this.scores[i]! }));
    return out.sort((a, b) => b.score - a.score || a.row - b.row);
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.count && this.less(left, smallest)) smallest = left;
      if (right < this.count && this.less(right, smallest)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  /** The heap's root is the weakest kept: lower score, or the later row on a tie. */
  private less(a: number, b: number): boolean {
    return this.scores[a]! < this.scores[b]! || (this.scores[a] === this.scores[b] && this.rows[a]! > this.rows[b]!);
  }

  private swap(a: number, b: number): void {
    const row = this.rows[a]!;
    const score = this.scores[a]!;
    this.rows[a] = this.rows[b]!;
    this.scores[a] = this.scores[b]!;
    this.rows[b] = row;
    this.scores[b] = score;
  }
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** Value of a lower-case hex digit's character code, or -1. */
function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/**
 * One string per row. Hearth's chunk and document ids are 32 lower-case hex
 * characters (contentHash), kept as their 16 bytes: 3.2 MB for both ids of
 * 100k rows, against ~11 MB as strings. The first id of another shape turns
 * the column into plain strings.
 */
export class IdColumn {
  static readonly BYTES_PER_ID = 16;
  private packed: Uint8Array | undefined;
  private strings: string[] | undefined;
  /** Rows below this were set (rows are set in order). */
  private rows = 0;

  constructor(private readonly capacity: number) {}

  set(row: number, id: string): void {
    this.rows = Math.max(this.rows, row + 1);
    if (!this.strings && id.length === 2 * IdColumn.BYTES_PER_ID) {
      this.packed ??= new Uint8Array(this.capacity * IdColumn.BYTES_PER_ID);
      const at = row * IdColumn.BYTES_PER_ID;
      let ok = true;
      for (let i = 0; i < IdColumn.BYTES_PER_ID && ok; i++) {
        const high = hexDigit(id.charCodeAt(2 * i));
        const low = hexDigit(id.charCodeAt(2 * i + 1));
        ok = high >= 0 && low >= 0;
        this.packed[at + i] = (high << 4) | low;
      }
      if (ok) return;
    }
    this.unpack()[row] = id;
  }

  get(row: number): string {
    if (this.strings) return this.strings[row] ?? '';
    if (!this.packed) return '';
    const at = row * IdColumn.BYTES_PER_ID;
    let id = '';
    for (let i = 0; i < IdColumn.BYTES_PER_ID; i++) id += HEX[this.packed[at + i]!];
    return id;
  }

  /** Switches to strings, keeping the ids packed so far. */
  private unpack(): string[] {
    if (!this.strings) {
      const strings = new Array<string>(this.capacity).fill('');
      if (this.packed) for (let row = 0; row < this.rows; row++) strings[row] = this.get(row);
      this.strings = strings;
      this.packed = undefined;
    }
    return this.strings;
  }
}
