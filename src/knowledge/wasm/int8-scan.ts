import { INT8_SCAN_WASM } from './int8-scan.wasm.js';

/**
 * The int8 column scan in WebAssembly SIMD (int8-scan.wat): 16 rows per
 * instruction instead of one, so a dense 384-d query over 100k rows takes a
 * few milliseconds instead of ~40. Node 20 has WebAssembly SIMD on x64 and on
 * the Pi's arm64 (NEON); where it is missing, `createInt8Scanner` returns
 * undefined and the caller keeps its JavaScript loop.
 *
 * The columns live in the module's memory (the caller writes them through
 * `columns`), laid out dimension by dimension with `stride` bytes per
 * column: the row count rounded up to 16, so a SIMD load never crosses into
 * the next column.
 */
export interface Int8Scanner {
  readonly stride: number;
  /** dim × stride bytes: column d starts at d × stride. */
  readonly columns: Int8Array;
  /**
   * scores[row] = Σ columns[dims[k]][row] × weights[k] for row < rows.
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

export function createInt8Scanner(capacity: number, dim: number): Int8Scanner | undefined {
  const wasm = module();
  if (!wasm || !wasmApi || dim > 1024) return undefined;
  const stride = Math.ceil(Math.max(1, capacity) / 16) * 16;
  const columnsBytes = stride * dim;
  const scoresAt = align(columnsBytes);
  const dimsAt = align(scoresAt + stride * 4);
  const weightsAt = dimsAt + dim * 4;
  const memory = new wasmApi.Memory({ initial: Math.ceil((weightsAt + dim * 4) / PAGE) });
  const scan = new wasmApi.Instance(wasm, { env: { memory } }).exports.scan as (...args: number[]) => void;
  const columns = new Int8Array(memory.buffer, 0, columnsBytes);
  const scores = new Int32Array(memory.buffer, scoresAt, stride);
  const dimsView = new Int32Array(memory.buffer, dimsAt, dim);
  const weightsView = new Int32Array(memory.buffer, weightsAt, dim);
  return {
    stride,
    columns,
    scan(rows, dims, weights) {
      for (let k = 0; k < dims.length; k++) {
        dimsView[k] = dims[k]!;
        weightsView[k] = weights[k]!;
      }
      scan(0, stride, rows, dimsAt, weightsAt, dims.length, scoresAt);
      return scores;
    },
  };
}

function align(offset: number): number {
  return Math.ceil(offset / 16) * 16;
}
