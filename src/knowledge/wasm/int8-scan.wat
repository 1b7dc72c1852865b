;; The dot products of a query with every row of an int8 column store
;; (dimension-major: column d holds dimension d of every row), 16 rows per
;; SIMD step. Compiled by scripts/make-wasm.mjs into int8-scan.wasm.ts.
;;
;; scan(cols, stride, rows, dims, weights, n, scores):
;;   for each row r < rows (rounded up to 16):
;;     scores[r] = Σ_{k<n} column[dims[k]][r] × weights[k]        (i32)
;; cols: the columns, `stride` bytes apart (a multiple of 16);
;; dims, weights: n i32 each (weights fit in i16); scores: i32 per row.
;; Rows are taken 1,024 at a time so their 4 KB of scores stay in L1 while
;; every dimension is added in.
(module
  (memory (import "env" "memory") 1)
  (func (export "scan")
    (param $cols i32) (param $stride i32) (param $rows i32) (param $dims i32) (param $weights i32) (param $n i32) (param $scores i32)
    (local $block i32) (local $blockEnd i32) (local $padded i32) (local $k i32) (local $r i32)
    (local $col i32) (local $s i32) (local $w v128) (local $v v128) (local $lo v128) (local $hi v128)
    ;; padded = (rows + 15) & ~15
    (local.set $padded (i32.and (i32.add (local.get $rows) (i32.const 15)) (i32.const -16)))
    (local.set $block (i32.const 0))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $block) (local.get $padded)))
        (local.set $blockEnd (i32.add (local.get $block) (i32.const 1024)))
        (if (i32.gt_u (local.get $blockEnd) (local.get $padded)) (then (local.set $blockEnd (local.get $padded))))
        ;; zero this block's scores
        (local.set $r (local.get $block))
        (block $zeroed
          (loop $zero
            (br_if $zeroed (i32.ge_u (local.get $r) (local.get $blockEnd)))
            (local.set $s (i32.add (local.get $scores) (i32.shl (local.get $r) (i32.const 2))))
            (v128.store offset=0 (local.get $s) (v128.const i32x4 0 0 0 0))
            (v128.store offset=16 (local.get $s) (v128.const i32x4 0 0 0 0))
            (v128.store offset=32 (local.get $s) (v128.const i32x4 0 0 0 0))
            (v128.store offset=48 (local.get $s) (v128.const i32x4 0 0 0 0))
            (local.set $r (i32.add (local.get $r) (i32.const 16)))
            (br $zero)))
        ;; add each dimension in
        (local.set $k (i32.const 0))
        (block $dimsDone
          (loop $eachDim
            (br_if $dimsDone (i32.ge_u (local.get $k) (local.get $n)))
            (local.set $col
              (i32.add (local.get $cols)
                (i32.mul (i32.load (i32.add (local.get $dims) (i32.shl (local.get $k) (i32.const 2)))) (local.get $stride))))
            (local.set $w (i16x8.splat (i32.load (i32.add (local.get $weights) (i32.shl (local.get $k) (i32.const 2))))))
            (local.set $r (local.get $block))
            (block $rowsDone
              (loop $eachRows
                (br_if $rowsDone (i32.ge_u (local.get $r) (local.get $blockEnd)))
                (local.set $v (v128.load (i32.add (local.get $col) (local.get $r))))
                (local.set $lo (i16x8.extend_low_i8x16_s (local.get $v)))
                (local.set $hi (i16x8.extend_high_i8x16_s (local.get $v)))
                (local.set $s (i32.add (local.get $scores) (i32.shl (local.get $r) (i32.const 2))))
                (v128.store offset=0 (local.get $s)
                  (i32x4.add (v128.load offset=0 (local.get $s)) (i32x4.extmul_low_i16x8_s (local.get $lo) (local.get $w))))
                (v128.store offset=16 (local.get $s)
                  (i32x4.add (v128.load offset=16 (local.get $s)) (i32x4.extmul_high_i16x8_s (local.get $lo) (local.get $w))))
                (v128.store offset=32 (local.get $s)
                  (i32x4.add (v128.load offset=32 (local.get $s)) (i32x4.extmul_low_i16x8_s (local.get $hi) (local.get $w))))
                (v128.store offset=48 (local.get $s)
                  (i32x4.add (v128.load offset=48 (local.get $s)) (i32x4.extmul_high_i16x8_s (local.get $hi) (local.get $w))))
                (local.set $r (i32.add (local.get $r) (i32.const 16)))
                (br $eachRows)))
            (local.set $k (i32.add (local.get $k) (i32.const 1)))
            (br $eachDim)))
        (local.set $block (local.get $blockEnd))
        (br $blocks)))))
