;; The dot products of a query with every row of an int8 vector store, 16
;; rows per SIMD step. Compiled by scripts/make-wasm.mjs into int8-scan.wasm.ts.
;;
;; Layout: tiles of 32 rows. A tile holds its rows two dimensions at a time:
;; for the pair of dimensions (2p, 2p + 1), the 64 bytes at tile + p × 64
;; hold row j's value of dimension 2p at byte 2j and of 2p + 1 at 2j + 1.
;; A dense query reads the store front to back once, one tile at a time,
;; keeping the tile's 32 sums in eight registers while every pair is added
;; in and storing them once. Pairs let one i32x4.dot_i16x8_s (pmaddwd on
;; x64) multiply two dimensions of four rows and add them: 28 instructions
;; for 64 products, against 44 when a tile held one dimension at a time
;; (extmul, then add: 100k × 384 took 5.6 ms of CPU a scan, the same from
;; cache as from memory, so the instructions were the cost, not the bytes).
;; A sparse query (the hashing embedder: ~16 of 256 dimensions) reads only
;; its dimensions' pairs in each tile, with a zero weight for a pair's
;; other dimension when the query does not have it.
;;
;; scan(tiles, tileBytes, offsets, weights, n, scores):
;;   for each tile t < tiles, row j < 32:
;;     scores[32t + j] = Σ_{k<n} Σ_{e<2} tile_t[offsets[k] + 2j + e] × weights[k][e]      (i32)
;; tiles start at address 0, `tileBytes` (= ⌈dim / 2⌉ × 64) apart; offsets:
;; n i32, each p × 64 for a pair p; weights: n v128, each the pair's two i16
;; weights (dimension 2p, then 2p + 1) repeated 4 times; scores: i32 per
;; row, 32 per tile.
(module
  (memory (import "env" "memory") 1)
  (func (export "scan")
    (param $tiles i32) (param $tileBytes i32) (param $offsets i32) (param $weights i32) (param $n i32) (param $scores i32)
    (local $base i32) (local $end i32) (local $op i32) (local $wp i32) (local $opEnd i32) (local $s i32) (local $col i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $v v128) (local $w v128)
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
        (block $pairsDone
          (loop $eachPair
            (br_if $pairsDone (i32.ge_u (local.get $op) (local.get $opEnd)))
            (local.set $col (i32.add (local.get $base) (i32.load (local.get $op))))
            (local.set $w (v128.load (local.get $wp)))
            ;; Rows 0-7 of the tile, two dimensions each: rows 0-3 in the low half, 4-7 in the high.
            (local.set $v (v128.load offset=0 (local.get $col)))
            (local.set $a0 (i32x4.add (local.get $a0) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $w))))
            (local.set $a1 (i32x4.add (local.get $a1) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $w))))
            (local.set $v (v128.load offset=16 (local.get $col)))
            (local.set $a2 (i32x4.add (local.get $a2) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $w))))
            (local.set $a3 (i32x4.add (local.get $a3) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $w))))
            (local.set $v (v128.load offset=32 (local.get $col)))
            (local.set $a4 (i32x4.add (local.get $a4) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $w))))
            (local.set $a5 (i32x4.add (local.get $a5) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $w))))
            (local.set $v (v128.load offset=48 (local.get $col)))
            (local.set $a6 (i32x4.add (local.get $a6) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (local.get $w))))
            (local.set $a7 (i32x4.add (local.get $a7) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (local.get $w))))
            (local.set $op (i32.add (local.get $op) (i32.const 4)))
            (local.set $wp (i32.add (local.get $wp) (i32.const 16)))
            (br $eachPair)))
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
