;; SIMD kernels of ssl's PIL-exact transforms (see ../pil-blur.ts for the arithmetic they reproduce).
;; Build: tools/vision-wasm-build.sh (wat2wasm from Debian's wabt) -> kernels-wasm.ts (base64).
(module
  (memory (export "memory") 1)

  ;; One extended-box pass of Pillow's box blur over n bytes:
  ;;   dst[e] = (ww * sum(src[e + k*d], k = -r..r) + fw * (src[e - (r+1)*d] + src[e + (r+1)*d]) + 2^23) >> 24
  ;; in uint32 arithmetic. The caller pads src so that every index read is valid; src and dst do not overlap.
  (func (export "boxPass") (param $src i32) (param $dst i32) (param $n i32) (param $d i32) (param $r i32) (param $ww i32) (param $fw i32)
    (local $e i32) (local $k i32) (local $p i32) (local $farOff i32) (local $end16 i32)
    (local $v v128) (local $sLo v128) (local $sHi v128) (local $fLo v128) (local $fHi v128)
    (local $vww v128) (local $vfw v128) (local $half v128) (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    (local $s i32)
    (local.set $vww (i32x4.splat (local.get $ww)))
    (local.set $vfw (i32x4.splat (local.get $fw)))
    (local.set $half (i32x4.splat (i32.const 0x800000)))
    (local.set $farOff (i32.mul (i32.add (local.get $r) (i32.const 1)) (local.get $d)))
    (local.set $end16 (i32.sub (local.get $n) (i32.const 15)))
    (local.set $e (i32.const 0))
    (block $simdDone
      (loop $simd
        (br_if $simdDone (i32.ge_s (local.get $e) (local.get $end16)))
        (local.set $sLo (v128.const i32x4 0 0 0 0))
        (local.set $sHi (v128.const i32x4 0 0 0 0))
        ;; taps k = -r..r: p runs from src + e - r*d in steps of d
        (local.set $p (i32.sub (i32.add (local.get $src) (local.get $e)) (i32.mul (local.get $r) (local.get $d))))
        (local.set $k (i32.add (i32.shl (local.get $r) (i32.const 1)) (i32.const 1)))
        (loop $taps
          (local.set $v (v128.load (local.get $p)))
          (local.set $sLo (i16x8.add (local.get $sLo) (i16x8.extend_low_i8x16_u (local.get $v))))
          (local.set $sHi (i16x8.add (local.get $sHi) (i16x8.extend_high_i8x16_u (local.get $v))))
          (local.set $p (i32.add (local.get $p) (local.get $d)))
          (local.set $k (i32.sub (local.get $k) (i32.const 1)))
          (br_if $taps (local.get $k)))
        (local.set $p (i32.add (local.get $src) (local.get $e)))
        (local.set $v (v128.load (i32.sub (local.get $p) (local.get $farOff))))
        (local.set $fLo (i16x8.extend_low_i8x16_u (local.get $v)))
        (local.set $fHi (i16x8.extend_high_i8x16_u (local.get $v)))
        (local.set $v (v128.load (i32.add (local.get $p) (local.get $farOff))))
        (local.set $fLo (i16x8.add (local.get $fLo) (i16x8.extend_low_i8x16_u (local.get $v))))
        (local.set $fHi (i16x8.add (local.get $fHi) (i16x8.extend_high_i8x16_u (local.get $v))))
        (local.set $q0 (i32x4.shr_u (i32x4.add (i32x4.add
            (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $sLo)) (local.get $vww))
            (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $fLo)) (local.get $vfw))) (local.get $half)) (i32.const 24)))
        (local.set $q1 (i32x4.shr_u (i32x4.add (i32x4.add
            (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $sLo)) (local.get $vww))
            (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $fLo)) (local.get $vfw))) (local.get $half)) (i32.const 24)))
        (local.set $q2 (i32x4.shr_u (i32x4.add (i32x4.add
            (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $sHi)) (local.get $vww))
            (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $fHi)) (local.get $vfw))) (local.get $half)) (i32.const 24)))
        (local.set $q3 (i32x4.shr_u (i32x4.add (i32x4.add
            (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $sHi)) (local.get $vww))
            (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $fHi)) (local.get $vfw))) (local.get $half)) (i32.const 24)))
        (v128.store (i32.add (local.get $dst) (local.get $e))
          (i8x16.narrow_i16x8_u
            (i16x8.narrow_i32x4_u (local.get $q0) (local.get $q1))
            (i16x8.narrow_i32x4_u (local.get $q2) (local.get $q3))))
        (local.set $e (i32.add (local.get $e) (i32.const 16)))
        (br $simd)))
    ;; scalar tail
    (block $done
      (loop $tail
        (br_if $done (i32.ge_s (local.get $e) (local.get $n)))
        (local.set $s (i32.const 0))
        (local.set $p (i32.sub (i32.add (local.get $src) (local.get $e)) (i32.mul (local.get $r) (local.get $d))))
        (local.set $k (i32.add (i32.shl (local.get $r) (i32.const 1)) (i32.const 1)))
        (loop $taps1
          (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $p))))
          (local.set $p (i32.add (local.get $p) (local.get $d)))
          (local.set $k (i32.sub (local.get $k) (i32.const 1)))
          (br_if $taps1 (local.get $k)))
        (local.set $p (i32.add (local.get $src) (local.get $e)))
        (i32.store8 (i32.add (local.get $dst) (local.get $e))
          (i32.shr_u
            (i32.add (i32.add
              (i32.mul (local.get $s) (local.get $ww))
              (i32.mul (i32.add (i32.load8_u (i32.sub (local.get $p) (local.get $farOff))) (i32.load8_u (i32.add (local.get $p) (local.get $farOff)))) (local.get $fw)))
              (i32.const 0x800000))
            (i32.const 24)))
        (local.set $e (i32.add (local.get $e) (i32.const 1)))
        (br $tail)))
  )
;; Pillow's horizontal resampling pass for 3-channel pixels (22-bit fixed point, 8-bit result):
  ;; for each of `rows` rows at src (row stride srcStride bytes) and each output pixel xx < outW,
  ;; out = clip8((2^21 + sum(src[xmin + x] * kk[xx * ksize + x], x < count)) >> 22) per channel, with
  ;; (xmin, count) = bounds[2xx], bounds[2xx + 1] (i32). Output rows are packed (outW * 3 bytes).
  ;; Reads one byte past each pixel and writes one byte past each output pixel (callers leave 16 bytes of slack).
  (func (export "resampleH3") (param $src i32) (param $srcStride i32) (param $rows i32) (param $outW i32)
      (param $bounds i32) (param $kk i32) (param $ksize i32) (param $dst i32)
    (local $y i32) (local $xx i32) (local $x i32) (local $n i32) (local $p i32) (local $kp i32) (local $o i32) (local $row i32)
    (local $acc v128) (local $half v128)
    (local.set $half (i32x4.splat (i32.const 0x200000)))
    (local.set $o (local.get $dst))
    (local.set $y (i32.const 0))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_s (local.get $y) (local.get $rows)))
        (local.set $row (i32.add (local.get $src) (i32.mul (local.get $y) (local.get $srcStride))))
        (local.set $xx (i32.const 0))
        (block $colsDone
          (loop $colLoop
            (br_if $colsDone (i32.ge_s (local.get $xx) (local.get $outW)))
            (local.set $p (i32.add (local.get $row) (i32.mul (i32.load (i32.add (local.get $bounds) (i32.shl (local.get $xx) (i32.const 3)))) (i32.const 3))))
            (local.set $n (i32.load offset=4 (i32.add (local.get $bounds) (i32.shl (local.get $xx) (i32.const 3)))))
            (local.set $kp (i32.add (local.get $kk) (i32.shl (i32.mul (local.get $xx) (local.get $ksize)) (i32.const 2))))
            (local.set $acc (local.get $half))
            (local.set $x (i32.const 0))
            (block $tapsDone
              (loop $taps
                (br_if $tapsDone (i32.ge_s (local.get $x) (local.get $n)))
                (local.set $acc (i32x4.add (local.get $acc)
                  (i32x4.mul
                    (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (v128.load32_zero (local.get $p))))
                    (i32x4.splat (i32.load (local.get $kp))))))
                (local.set $p (i32.add (local.get $p) (i32.const 3)))
                (local.set $kp (i32.add (local.get $kp) (i32.const 4)))
                (local.set $x (i32.add (local.get $x) (i32.const 1)))
                (br $taps)))
            (local.set $acc (i32x4.shr_s (local.get $acc) (i32.const 22)))
            (local.set $acc (i16x8.narrow_i32x4_s (local.get $acc) (local.get $acc)))
            (v128.store32_lane 0 (local.get $o) (i8x16.narrow_i16x8_u (local.get $acc) (local.get $acc)))
            (local.set $o (i32.add (local.get $o) (i32.const 3)))
            (local.set $xx (i32.add (local.get $xx) (i32.const 1)))
            (br $colLoop)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rowLoop)))
  )

  ;; Pillow's vertical resampling pass: output row yy (rowLen bytes, packed at dst) is
  ;; clip8((2^21 + sum(src[(ymin + y) * stride + i] * kk[yy * ksize + y], y < count)) >> 22) with
  ;; (ymin, count) = bounds[2yy], bounds[2yy + 1] (rows of src). 16 bytes at a time: reads and writes
  ;; up to 15 bytes past a row (callers leave 16 bytes of slack; later rows overwrite the excess).
  (func (export "resampleV") (param $src i32) (param $stride i32) (param $rowLen i32) (param $outH i32)
      (param $bounds i32) (param $kk i32) (param $ksize i32) (param $dst i32)
    (local $yy i32) (local $i i32) (local $t i32) (local $n i32) (local $r0 i32) (local $p i32) (local $kp i32) (local $o i32)
    (local $v v128) (local $w v128) (local $k v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $half v128)
    (local.set $half (i32x4.splat (i32.const 0x200000)))
    (local.set $yy (i32.const 0))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_s (local.get $yy) (local.get $outH)))
        (local.set $r0 (i32.add (local.get $src) (i32.mul (i32.load (i32.add (local.get $bounds) (i32.shl (local.get $yy) (i32.const 3)))) (local.get $stride))))
        (local.set $n (i32.load offset=4 (i32.add (local.get $bounds) (i32.shl (local.get $yy) (i32.const 3)))))
        (local.set $o (i32.add (local.get $dst) (i32.mul (local.get $yy) (local.get $rowLen))))
        (local.set $i (i32.const 0))
        (block $colsDone
          (loop $colLoop
            (br_if $colsDone (i32.ge_s (local.get $i) (local.get $rowLen)))
            (local.set $a0 (local.get $half))
            (local.set $a1 (local.get $half))
            (local.set $a2 (local.get $half))
            (local.set $a3 (local.get $half))
            (local.set $p (i32.add (local.get $r0) (local.get $i)))
            (local.set $kp (i32.add (local.get $kk) (i32.shl (i32.mul (local.get $yy) (local.get $ksize)) (i32.const 2))))
            (local.set $t (i32.const 0))
            (block $tapsDone
              (loop $taps
                (br_if $tapsDone (i32.ge_s (local.get $t) (local.get $n)))
                (local.set $v (v128.load (local.get $p)))
                (local.set $k (i32x4.splat (i32.load (local.get $kp))))
                (local.set $w (i16x8.extend_low_i8x16_u (local.get $v)))
                (local.set $a0 (i32x4.add (local.get $a0) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $w)) (local.get $k))))
                (local.set $a1 (i32x4.add (local.get $a1) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $w)) (local.get $k))))
                (local.set $w (i16x8.extend_high_i8x16_u (local.get $v)))
                (local.set $a2 (i32x4.add (local.get $a2) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $w)) (local.get $k))))
                (local.set $a3 (i32x4.add (local.get $a3) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $w)) (local.get $k))))
                (local.set $p (i32.add (local.get $p) (local.get $stride)))
                (local.set $kp (i32.add (local.get $kp) (i32.const 4)))
                (local.set $t (i32.add (local.get $t) (i32.const 1)))
                (br $taps)))
            (v128.store (i32.add (local.get $o) (local.get $i))
              (i8x16.narrow_i16x8_u
                (i16x8.narrow_i32x4_s (i32x4.shr_s (local.get $a0) (i32.const 22)) (i32x4.shr_s (local.get $a1) (i32.const 22)))
                (i16x8.narrow_i32x4_s (i32x4.shr_s (local.get $a2) (i32.const 22)) (i32x4.shr_s (local.get $a3) (i32.const 22)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $colLoop)))
        (local.set $yy (i32.add (local.get $yy) (i32.const 1)))
        (br $rowLoop)))
  )
;; ---- colour ops of ColorJitter, in place on n bytes / npx RGB pixels at ptr ----

  ;; mem[ptr + i] = lut[mem[ptr + i]] (brightness, contrast: Pillow blends with a constant).
  (func (export "applyLut") (param $ptr i32) (param $n i32) (param $lut i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $n)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (i32.store8 (local.get $ptr) (i32.load8_u (i32.add (local.get $lut) (i32.load8_u (local.get $ptr)))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br $l))))

  ;; Sum of Pillow's L = (19595 r + 38470 g + 7471 b + 2^15) >> 16 over npx RGB pixels.
  (func (export "lumaSum") (param $ptr i32) (param $npx i32) (result f64)
    (local $end i32) (local $sum i64)
    (local.set $end (i32.add (local.get $ptr) (i32.mul (local.get $npx) (i32.const 3))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $sum (i64.add (local.get $sum) (i64.extend_i32_u (call $luma (local.get $ptr)))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 3)))
        (br $l)))
    (f64.convert_i64_u (local.get $sum)))

  (func $luma (param $p i32) (result i32)
    (i32.shr_u
      (i32.add (i32.add (i32.add
        (i32.mul (i32.load8_u (local.get $p)) (i32.const 19595))
        (i32.mul (i32.load8_u offset=1 (local.get $p)) (i32.const 38470)))
        (i32.mul (i32.load8_u offset=2 (local.get $p)) (i32.const 7471)))
        (i32.const 0x8000))
      (i32.const 16)))

  ;; Saturation (ImageEnhance.Color): each channel v blended with the pixel's L:
  ;; float32(l + step[v - l + 255]) clipped to 0..255 and truncated (for alpha in [0, 1] the value is
  ;; already in range, so clipping changes nothing); step = f32[511] of float32(alpha * d).
  (func (export "saturate") (param $ptr i32) (param $npx i32) (param $step i32)
    (local $end i32) (local $l i32) (local $lf f32) (local $base i32)
    (local.set $end (i32.add (local.get $ptr) (i32.mul (local.get $npx) (i32.const 3))))
    (block $done
      (loop $lp
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $l (call $luma (local.get $ptr)))
        (local.set $lf (f32.convert_i32_s (local.get $l)))
        ;; step + (v - l + 255) * 4 = base + 4v
        (local.set $base (i32.add (local.get $step) (i32.shl (i32.sub (i32.const 255) (local.get $l)) (i32.const 2))))
        (i32.store8 (local.get $ptr) (i32.trunc_f32_s (f32.min (f32.const 255) (f32.max (f32.const 0)
          (f32.add (local.get $lf) (f32.load (i32.add (local.get $base) (i32.shl (i32.load8_u (local.get $ptr)) (i32.const 2)))))))))
        (i32.store8 offset=1 (local.get $ptr) (i32.trunc_f32_s (f32.min (f32.const 255) (f32.max (f32.const 0)
          (f32.add (local.get $lf) (f32.load (i32.add (local.get $base) (i32.shl (i32.load8_u offset=1 (local.get $ptr)) (i32.const 2)))))))))
        (i32.store8 offset=2 (local.get $ptr) (i32.trunc_f32_s (f32.min (f32.const 255) (f32.max (f32.const 0)
          (f32.add (local.get $lf) (f32.load (i32.add (local.get $base) (i32.shl (i32.load8_u offset=2 (local.get $ptr)) (i32.const 2)))))))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 3)))
        (br $lp))))

  ;; Hue shift by `shift` (0..255) through Pillow's HSV, with the tables of pil-color.ts at `tables`:
  ;; hue u8[3*256*512] | sat u8[65536] | p u8[65536] | fs f64[256] | g f64[256] | sector u8[256].
  (func (export "hue") (param $ptr i32) (param $npx i32) (param $shift i32) (param $tables i32)
    (local $end i32) (local $r i32) (local $g i32) (local $b i32) (local $v i32) (local $min i32) (local $key i32)
    (local $cr i32) (local $s i32) (local $h i32) (local $pp i32) (local $x i32) (local $xf f64) (local $xt f64)
    (local $satT i32) (local $pT i32) (local $fsT i32) (local $gT i32) (local $secT i32)
    (local.set $satT (i32.add (local.get $tables) (i32.const 393216)))
    (local.set $pT (i32.add (local.get $satT) (i32.const 65536)))
    (local.set $fsT (i32.add (local.get $pT) (i32.const 65536)))
    (local.set $gT (i32.add (local.get $fsT) (i32.const 2048)))
    (local.set $secT (i32.add (local.get $gT) (i32.const 2048)))
    (local.set $end (i32.add (local.get $ptr) (i32.mul (local.get $npx) (i32.const 3))))
    (block $done
      (loop $lp
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $r (i32.load8_u (local.get $ptr)))
        (local.set $g (i32.load8_u offset=1 (local.get $ptr)))
        (local.set $b (i32.load8_u offset=2 (local.get $ptr)))
        (if (i32.and (i32.ge_u (local.get $r) (local.get $g)) (i32.ge_u (local.get $r) (local.get $b)))
          (then
            (local.set $v (local.get $r))
            (local.set $min (select (local.get $g) (local.get $b) (i32.lt_u (local.get $g) (local.get $b))))
            (local.set $key (i32.sub (local.get $g) (local.get $b))))
          (else
            (if (i32.ge_u (local.get $g) (local.get $b))
              (then
                (local.set $v (local.get $g))
                (local.set $min (select (local.get $r) (local.get $b) (i32.lt_u (local.get $r) (local.get $b))))
                (local.set $key (i32.add (i32.const 131072) (i32.sub (local.get $b) (local.get $r)))))
              (else
                (local.set $v (local.get $b))
                (local.set $min (select (local.get $r) (local.get $g) (i32.lt_u (local.get $r) (local.get $g))))
                (local.set $key (i32.add (i32.const 262144) (i32.sub (local.get $r) (local.get $g))))))))
        (local.set $cr (i32.sub (local.get $v) (local.get $min)))
        (local.set $s (i32.load8_u (i32.add (local.get $satT) (i32.add (i32.shl (local.get $v) (i32.const 8)) (local.get $cr)))))
        (block $write
          (if (i32.eqz (local.get $s))
            (then
              (i32.store8 (local.get $ptr) (local.get $v))
              (i32.store8 offset=1 (local.get $ptr) (local.get $v))
              (i32.store8 offset=2 (local.get $ptr) (local.get $v))
              (br $write)))
          (local.set $h (i32.and (i32.add (local.get $shift)
            (i32.load8_u (i32.add (local.get $tables) (i32.add (i32.add (local.get $key) (i32.mul (local.get $cr) (i32.const 512))) (i32.const 255)))))
            (i32.const 255)))
          (local.set $pp (i32.load8_u (i32.add (local.get $pT) (i32.add (i32.shl (local.get $s) (i32.const 8)) (local.get $v)))))
          ;; x = round(v * (1 - fs[s] * g[h])), C round (half away from zero) of a non-negative value
          (local.set $xf (f64.mul (f64.convert_i32_u (local.get $v))
            (f64.sub (f64.const 1)
              (f64.mul (f64.load (i32.add (local.get $fsT) (i32.shl (local.get $s) (i32.const 3))))
                       (f64.load (i32.add (local.get $gT) (i32.shl (local.get $h) (i32.const 3))))))))
          (local.set $xt (f64.trunc (local.get $xf)))
          (local.set $x (i32.add (i32.trunc_f64_s (local.get $xt)) (f64.ge (f64.sub (local.get $xf) (local.get $xt)) (f64.const 0.5))))
          (block $s5 (block $s4 (block $s3 (block $s2 (block $s1 (block $s0
            (br_table $s0 $s1 $s2 $s3 $s4 $s5 (i32.load8_u (i32.add (local.get $secT) (local.get $h)))))
            ;; sector 0: (v, x, p)
            (i32.store8 (local.get $ptr) (local.get $v)) (i32.store8 offset=1 (local.get $ptr) (local.get $x)) (i32.store8 offset=2 (local.get $ptr) (local.get $pp)) (br $write))
            ;; 1: (x, v, p)
            (i32.store8 (local.get $ptr) (local.get $x)) (i32.store8 offset=1 (local.get $ptr) (local.get $v)) (i32.store8 offset=2 (local.get $ptr) (local.get $pp)) (br $write))
            ;; 2: (p, v, x)
            (i32.store8 (local.get $ptr) (local.get $pp)) (i32.store8 offset=1 (local.get $ptr) (local.get $v)) (i32.store8 offset=2 (local.get $ptr) (local.get $x)) (br $write))
            ;; 3: (p, x, v)
            (i32.store8 (local.get $ptr) (local.get $pp)) (i32.store8 offset=1 (local.get $ptr) (local.get $x)) (i32.store8 offset=2 (local.get $ptr) (local.get $v)) (br $write))
            ;; 4: (x, p, v)
            (i32.store8 (local.get $ptr) (local.get $x)) (i32.store8 offset=1 (local.get $ptr) (local.get $pp)) (i32.store8 offset=2 (local.get $ptr) (local.get $v)) (br $write))
          ;; 5: (v, p, x)
          (i32.store8 (local.get $ptr) (local.get $v)) (i32.store8 offset=1 (local.get $ptr) (local.get $pp)) (i32.store8 offset=2 (local.get $ptr) (local.get $x)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 3)))
        (br $lp))))
;; ---- ToTensor + Normalize ----

  ;; dst[e] = (float32(src[e]) / 255 - mean[e % C]) / std[e % C] in float32 (torch's to_tensor then
  ;; normalize), for C dividing 12: consts holds 3 f32x4 of means then 3 of stds, lane j of vector g for
  ;; element 4g + j of each 12. Writes up to 11 floats past n and reads up to 15 bytes past (slack).
  (func (export "toTensorNormalize") (param $src i32) (param $n i32) (param $dst i32) (param $consts i32)
    (local $e i32) (local $v v128) (local $lo v128) (local $hi v128) (local $k255 v128)
    (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $s0 v128) (local $s1 v128) (local $s2 v128)
    (local.set $k255 (f32x4.splat (f32.const 255)))
    (local.set $m0 (v128.load (local.get $consts)))
    (local.set $m1 (v128.load offset=16 (local.get $consts)))
    (local.set $m2 (v128.load offset=32 (local.get $consts)))
    (local.set $s0 (v128.load offset=48 (local.get $consts)))
    (local.set $s1 (v128.load offset=64 (local.get $consts)))
    (local.set $s2 (v128.load offset=80 (local.get $consts)))
    (block $done
      (loop $lp
        (br_if $done (i32.ge_s (local.get $e) (local.get $n)))
        (local.set $v (v128.load (i32.add (local.get $src) (local.get $e))))
        (local.set $lo (i16x8.extend_low_i8x16_u (local.get $v)))
        (local.set $hi (i16x8.extend_high_i8x16_u (local.get $v)))
        (v128.store (local.get $dst) (f32x4.div (f32x4.sub
          (f32x4.div (f32x4.convert_i32x4_u (i32x4.extend_low_i16x8_u (local.get $lo))) (local.get $k255)) (local.get $m0)) (local.get $s0)))
        (v128.store offset=16 (local.get $dst) (f32x4.div (f32x4.sub
          (f32x4.div (f32x4.convert_i32x4_u (i32x4.extend_high_i16x8_u (local.get $lo))) (local.get $k255)) (local.get $m1)) (local.get $s1)))
        (v128.store offset=32 (local.get $dst) (f32x4.div (f32x4.sub
          (f32x4.div (f32x4.convert_i32x4_u (i32x4.extend_low_i16x8_u (local.get $hi))) (local.get $k255)) (local.get $m2)) (local.get $s2)))
        (local.set $e (i32.add (local.get $e) (i32.const 12)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 48)))
        (br $lp))))

  ;; Mirrors rows of W pixels of C bytes left-right from src into dst (H rows).
  (func (export "flipRows") (param $src i32) (param $dst i32) (param $W i32) (param $H i32) (param $C i32)
    (local $row i32) (local $end i32) (local $s i32) (local $d i32) (local $c i32) (local $rowLen i32)
    (local.set $rowLen (i32.mul (local.get $W) (local.get $C)))
    (local.set $end (i32.add (local.get $src) (i32.mul (local.get $rowLen) (local.get $H))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $s (local.get $src))
        (local.set $d (i32.sub (i32.add (local.get $dst) (local.get $rowLen)) (local.get $C)))
        (block $rowDone
          (loop $px
            (br_if $rowDone (i32.lt_s (local.get $d) (local.get $dst)))
            (local.set $c (i32.const 0))
            (block $cDone
              (loop $ch
                (br_if $cDone (i32.ge_s (local.get $c) (local.get $C)))
                (i32.store8 (i32.add (local.get $d) (local.get $c)) (i32.load8_u (i32.add (local.get $s) (local.get $c))))
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (br $ch)))
            (local.set $s (i32.add (local.get $s) (local.get $C)))
            (local.set $d (i32.sub (local.get $d) (local.get $C)))
            (br $px)))
        (local.set $src (i32.add (local.get $src) (local.get $rowLen)))
        (local.set $dst (i32.add (local.get $dst) (local.get $rowLen)))
        (br $rows))))
)
