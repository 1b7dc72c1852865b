import { INT8_SCAN_WASM } from './int8-scan.wasm.js';

/**
 * The int8 column scan in WebAssembly SIMD (int8-scan.wat): 16 rows per
 * instruction instead of one, so a dense 384-d query over 100k rows takes a
 * few milliseconds instead of ~40. Node 20 has WebAssembly SIMD on x64 and on
 * the Pi's arm64 (NEON); where it is missing, `createInt8Scanner` returns
 * undefined and the caller keeps its JavaScript loop.
 *
 * The rows live in the module's memory (the caller writes them through
 * `cells` at `cell(row, d)`, or a whole row with `setRow`), in tiles of 32
 * rows: a tile holds dimensions 0 and 1 of its 32 rows side by side (row by
 * row), then 2 and 3, and so on (int8-scan.wat). A dense query reads the
 * store front to back once and keeps a tile's 32 sums in registers; one
 * instruction multiplies two dimensions of four rows and adds them (100k ×
 * 384: 7.5 ms of CPU over columns, 3.9 over tiles of one dimension at a
 * time, ~2.5 over tiles of pairs, x64); a sparse one reads only its
 * dimensions' pairs.
 */
export interface Int8Scanner {
  /** Rows per tile. */
  readonly tileRows: number;
  /** The rows' int8 values, tile by tile: write row `row`'s dimension `d` at `cell(row, d)`. */
  readonly cells: Int8Array;
  cell(row: number, d: number): number;
  /** Writes row `row`'s values (`dim` of them, already int8). */
  setRow(row: number, values: ArrayLike<number>): void;
  /**
   * scores[row] = Σ cells[cell(row, dims[k])] × weights[k] for row < rows
   * (rows past `rows` up to the next multiple of 32 score what their cells hold: 0 unless written).
   * Weights are integers with |w| ≤ MAX_WEIGHT so no sum overflows 32 bits.
   */
  scan(rows: number, dims: ArrayLike<number>, weights: ArrayLike<number>): Int32Array;
}

/** Largest |weight|: 384 dims × 127 × 16383 < 2^31, and up to 1,024 dims stay under 2^31 too (1024 × 127 × 16383 ≈ 2.1e9). */
export const MAX_WEIGHT = 16_383;

const PAGE = 65_536;

/** The little of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
let compiled: object | null | undefined;

function module(): object | null {
  if (compiled === undefined) {
    try {
      if (!wasmApi) throw new Error('no WebAssembly');
      compiled = new wasmApi.Module(Buffer.from(INT8_SCAN_WASM, 'base64'));
    } catch {
      compiled = null; // no WebAssembly SIMD here
    }
  }
  return compiled;
}

const TILE_ROWS = 32;
/** A pair of dimensions of a tile's 32 rows. */
const PAIR_BYTES = 2 * TILE_ROWS;

export function createInt8Scanner(capacity: number, dim: number): Int8Scanner | undefined {
  const wasm = module();
  if (!wasm || !wasmApi || dim > 1024) return undefined;
  const tiles = Math.ceil(Math.max(1, capacity) / TILE_ROWS);
  const pairs = Math.ceil(dim / 2);
  const tileBytes = pairs * PAIR_BYTES;
  const cellsBytes = tiles * tileBytes;
  const scoresAt = align(cellsBytes);
  const offsetsAt = align(scoresAt + tiles * TILE_ROWS * 4);
  const weightsAt = align(offsetsAt + pairs * 4);
  const memory = new wasmApi.Memory({ initial: Math.ceil((weightsAt + pairs * 16) / PAGE) });
  const scan = new wasmApi.Instance(wasm, { env: { memory } }).exports.scan as (...args: number[]) => void;
  const cells = new Int8Array(memory.buffer, 0, cellsBytes);
  const scores = new Int32Array(memory.buffer, scoresAt, tiles * TILE_ROWS);
  const offsetsView = new Int32Array(memory.buffer, offsetsAt, pairs);
  const weightsView = new Int16Array(memory.buffer, weightsAt, pairs * 8);
  /** Each pair's place in the scan's lists while a scan is set up (-1: not listed). */
  const slotOf = new Int32Array(pairs).fill(-1);
  const cell = (row: number, d: number) => Math.floor(row / TILE_ROWS) * tileBytes + (d >> 1) * PAIR_BYTES + (row % TILE_ROWS) * 2 + (d & 1);
  return {
    tileRows: TILE_ROWS,
    cells,
    cell,
    setRow(row, values) {
      const first = cell(row, 0);
      for (let d = 0; d < dim; d++) cells[first + (d >> 1) * PAIR_BYTES + (d & 1)] = values[d]!;
    },
    scan(rows, dims, weights) {
      // One entry per pair the query touches; a pair's dimension the query lacks gets weight 0.
      let n = 0;
      for (let k = 0; k < dims.length; k++) {
        const d = dims[k]!;
        const pair = d >> 1;
        let slot = slotOf[pair]!;
        if (slot < 0) {
          slot = slotOf[pair] = n++;
          offsetsView[slot] = pair * PAIR_BYTES;
          weightsView.fill(0, slot * 8, slot * 8 + 8);
        }
        for (let lane = d & 1; lane < 8; lane += 2) weightsView[slot * 8 + lane] = weights[k]!; // the pair's two i16 weights, four times
      }
      for (let k = 0; k < dims.length; k++) slotOf[dims[k]! >> 1] = -1;
      scan(Math.ceil(Math.min(rows, capacity) / TILE_ROWS), tileBytes, offsetsAt, weightsAt, n, scoresAt);
      return scores;
    },
  };
}

function align(offset: number): number {
  return Math.ceil(offset / 16) * 16;
}
