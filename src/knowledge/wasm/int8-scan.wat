;; The dot products of a query with every row of an int8 vector store, 16
;; rows per SIMD step. Compiled by scripts/make-wasm.mjs into int8-scan.wasm.ts.
;;
;; Layout: tiles of 32 rows. A tile holds its rows dimension by dimension:
;; the 32 rows' values of dimension d are the 32 bytes at tile + d × 32. A
;; dense query reads the store front to back once, one tile at a time,
;; keeping the tile's 32 sums in eight registers while every dimension is
;; added in and storing them once (the column-per-dimension layout before it
;; read and wrote the sums once per dimension and streamed 384 columns at
;; once: 100k × 384 took 7.5 ms of CPU, now 3.9). A sparse query (the
;; hashing embedder: ~16 of 256 dimensions) reads only its dimensions' 32
;; bytes in each tile (0.22 → 0.65 ms for 100k × 256: half of each cache
;; line it reads is another dimension).
;;
;; scan(tiles, tileBytes, offsets, weights, n, scores):
;;   for each tile t < tiles, row j < 32:
;;     scores[32t + j] = Σ_{k<n} tile_t[offsets[k] + j] × weights[k]      (i32)
;; tiles start at address 0, `tileBytes` (= dim × 32) apart; offsets: n i32,
;; each d × 32 for a dimension d; weights: n v128, each one i16 weight
;; repeated 8 times; scores: i32 per row, 32 per tile.
(module
  (memory (import "env" "memory") 1)
  (func (export "scan")
    (param $tiles i32) (param $tileBytes i32) (param $offsets i32) (param $weights i32) (param $n i32) (param $scores i32)
    (local $base i32) (local $end i32) (local $op i32) (local $wp i32) (local $opEnd i32) (local $s i32) (local $col i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $v v128) (local $w v128) (local $lo v128) (local $hi v128)
    (local.set $base (i32.const 0))
    (local.set $end (i32.mul (local.get $tiles) (local.get $tileBytes)))
    (local.set $opEnd (i32.add (local.get $offsets) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $s (local.get $scores))
    (block $done
      (loop $eachTile
        (br_if $done (i32.ge_u (local.get $base) (local.get $end)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $a4 (v128.const i32x4 0 0 0 0))
        (local.set $a5 (v128.const i32x4 0 0 0 0))
        (local.set $a6 (v128.const i32x4 0 0 0 0))
        (local.set $a7 (v128.const i32x4 0 0 0 0))
        (local.set $op (local.get $offsets))
        (local.set $wp (local.get $weights))
        (block $dimsDone
          (loop $eachDim
            (br_if $dimsDone (i32.ge_u (local.get $op) (local.get $opEnd)))
            (local.set $col (i32.add (local.get $base) (i32.load (local.get $op))))
            (local.set $w (v128.load (local.get $wp)))
            (local.set $v (v128.load offset=0 (local.get $col)))
            (local.set $lo (i16x8.extend_low_i8x16_s (local.get $v)))
            (local.set $hi (i16x8.extend_high_i8x16_s (local.get $v)))
            (local.set $a0 (i32x4.add (local.get $a0) (i32x4.extmul_low_i16x8_s (local.get $lo) (local.get $w))))
            (local.set $a1 (i32x4.add (local.get $a1) (i32x4.extmul_high_i16x8_s (local.get $lo) (local.get $w))))
            (local.set $a2 (i32x4.add (local.get $a2) (i32x4.extmul_low_i16x8_s (local.get $hi) (local.get $w))))
            (local.set $a3 (i32x4.add (local.get $a3) (i32x4.extmul_high_i16x8_s (local.get $hi) (local.get $w))))
            (local.set $v (v128.load offset=16 (local.get $col)))
            (local.set $lo (i16x8.extend_low_i8x16_s (local.get $v)))
            (local.set $hi (i16x8.extend_high_i8x16_s (local.get $v)))
            (local.set $a4 (i32x4.add (local.get $a4) (i32x4.extmul_low_i16x8_s (local.get $lo) (local.get $w))))
            (local.set $a5 (i32x4.add (local.get $a5) (i32x4.extmul_high_i16x8_s (local.get $lo) (local.get $w))))
            (local.set $a6 (i32x4.add (local.get $a6) (i32x4.extmul_low_i16x8_s (local.get $hi) (local.get $w))))
            (local.set $a7 (i32x4.add (local.get $a7) (i32x4.extmul_high_i16x8_s (local.get $hi) (local.get $w))))
            (local.set $op (i32.add (local.get $op) (i32.const 4)))
            (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
            (br $eachDim)))
        (v128.store offset=0 (local.get $s) (local.get $a0))
        (v128.store offset=16 (local.get $s) (local.get $a1))
        (v128.store offset=32 (local.get $s) (local.get $a2))
        (v128.store offset=48 (local.get $s) (local.get $a3))
        (v128.store offset=64 (local.get $s) (local.get $a4))
        (v128.store offset=80 (local.get $s) (local.get $a5))
        (v128.store offset=96 (local.get $s) (local.get $a6))
        (v128.store offset=112 (local.get $s) (local.get $a7))
        (local.set $s (i32.add (local.get $s) (i32.const 128)))
        (local.set $base (i32.add (local.get $base) (local.get $tileBytes)))
        (br $eachTile)))))
