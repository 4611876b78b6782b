//! A linear layer with 8-bit weights, multiplied with AVX-512 VNNI where the CPU has it.
//!
//! Weights are quantised once, symmetrically per output (`w ≈ q · scale`, q in -127..=127).
//! Inputs are quantised per row when they arrive, also symmetrically, and shifted by 128
//! into unsigned bytes, because VNNI's `vpdpbusd` multiplies unsigned by signed bytes and
//! sums four products into each 32-bit lane, 64 multiply-adds per instruction. The shift
//! is taken back out with each output's precomputed sum of weights.
//!
//! Each 16 outputs share one block of the packed weights: for each group of four inputs,
//! the four weights of output 0, then of output 1, … of output 15, so one 64-byte load
//! holds what one instruction needs for 16 outputs.
//!
//! CPUs with AVX2 but no VNNI get a second layout and kernel: `vpmaddwd` multiplies pairs
//! of 16-bit numbers and sums each pair into a 32-bit lane, 16 multiply-adds per
//! instruction, without the saturation of the 8-bit `vpmaddubsw`. Its weights are widened
//! to 16 bits, in blocks of 8 outputs by pairs of inputs. Every kernel computes exactly the
//! same integer sums.

/// Outputs per packed block: one 512-bit register of 32-bit sums.
const LANES: usize = 16;
/// Inputs each multiply-add instruction consumes per lane.
const GROUP: usize = 4;
/// Outputs one pass of the kernel computes: four blocks, so four registers of weights are
/// reused by every input row of the pass.
const TILE_OUTPUTS: usize = 4 * LANES;
/// Input rows one pass of the kernel computes; with four blocks that is 16 registers of
/// sums, which leaves registers for the weights and the broadcast input.
const TILE_ROWS: usize = 4;
/// The offset that turns a signed quantised input into an unsigned byte.
const SHIFT: i32 = 128;
/// Outputs per block of the AVX2 layout: one 256-bit register of 32-bit sums.
const NARROW_LANES: usize = 8;

/// Which instructions multiply the integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    Vnni,
    Avx2,
    /// Plain Rust, one product at a time: correct everywhere, and slow.
    Portable,
}

impl Kernel {
    /// The fastest kernel this CPU runs.
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512bw") && has!("avx512vnni") {
                return Self::Vnni;
            }
            if has!("avx2") {
                return Self::Avx2;
            }
        }
        Self::Portable
    }

    /// Whether this CPU can run the kernel.
    pub(crate) fn runs_here(self) -> bool {
        // Every CPU with AVX-512 has AVX2 as well.
        matches!(
            (self, Self::detect()),
            (Self::Portable, _) | (Self::Avx2, Self::Vnni | Self::Avx2) | (Self::Vnni, Self::Vnni)
        )
    }
}

/// `y = x · Wᵀ + b` with `W` stored as 8-bit integers.
pub(crate) struct Int8Linear {
    inputs: usize,
    outputs: usize,
    packed: Vec<i8>,
    /// Per output: the factor that turns its integer weights back into real ones.
    scales: Vec<f32>,
    /// Per output: `SHIFT` times the sum of its integer weights, subtracted from every sum.
    shift_correction: Vec<i32>,
    bias: Vec<f32>,
    kernel: Kernel,
    /// The weights widened to 16 bits in the AVX2 kernel's layout; empty for the others.
    widened: Vec<i16>,
}

impl Int8Linear {
    /// Whether a layer of this shape can be packed: whole tiles of outputs, whole groups of
    /// inputs. all-MiniLM-L6-v2's layers (384, 1152 and 1536 wide) all are.
    pub(crate) fn fits(outputs: usize, inputs: usize) -> bool {
        outputs > 0
            && outputs.is_multiple_of(TILE_OUTPUTS)
            && inputs > 0
            && inputs.is_multiple_of(GROUP)
    }

    /// Quantises `weight` (`outputs` rows of `inputs`, as a linear layer stores it) for
    /// `kernel`, which must run on this CPU ([`Kernel::runs_here`]). The caller checks
    /// [`Int8Linear::fits`] first.
    pub(crate) fn new(
        weight: &[f32],
        bias: Vec<f32>,
        outputs: usize,
        inputs: usize,
        kernel: Kernel,
    ) -> Self {
        debug_assert!(Self::fits(outputs, inputs));
        debug_assert_eq!(weight.len(), outputs * inputs);
        debug_assert_eq!(bias.len(), outputs);

        let mut quantised = vec![0i8; outputs * inputs];
        let mut scales = Vec::with_capacity(outputs);
        let mut shift_correction = Vec::with_capacity(outputs);
        for (row, out) in weight
            .chunks_exact(inputs)
            .zip(quantised.chunks_exact_mut(inputs))
        {
            let scale = symmetric_scale(row);
            let mut sum = 0i32;
            for (w, q) in row.iter().zip(out.iter_mut()) {
                *q = (w / scale).round().clamp(-127.0, 127.0) as i8;
                sum += i32::from(*q);
            }
            scales.push(scale);
            shift_correction.push(SHIFT * sum);
        }

        let groups = inputs / GROUP;
        let mut packed = vec![0i8; outputs * inputs];
        for block in 0..outputs / LANES {
            for group in 0..groups {
                for lane in 0..LANES {
                    let output = block * LANES + lane;
                    let from = output * inputs + group * GROUP;
                    let to = ((block * groups + group) * LANES + lane) * GROUP;
                    packed[to..to + GROUP].copy_from_slice(&quantised[from..from + GROUP]);
                }
            }
        }

        let mut widened = Vec::new();
        if kernel == Kernel::Avx2 {
            let pairs = inputs / 2;
            widened = vec![0i16; outputs * inputs];
            for block in 0..outputs / NARROW_LANES {
                for pair in 0..pairs {
                    for lane in 0..NARROW_LANES {
                        let output = block * NARROW_LANES + lane;
                        let to = ((block * pairs + pair) * NARROW_LANES + lane) * 2;
                        for i in 0..2 {
                            let weight = quantised[output * inputs + pair * 2 + i];
                            widened[to + i] = i16::from(weight);
                        }
                    }
                }
            }
        }

        Self {
            inputs,
            outputs,
            packed,
            scales,
            shift_correction,
            bias,
            kernel,
            widened,
        }
    }

    /// `x` holds `rows` rows of `inputs`; returns `rows` rows of `outputs`. Inlined so
    /// that a caller compiled for wider vectors quantises and rescales with them too.
    #[inline(always)]
    pub(crate) fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        debug_assert_eq!(x.len(), rows * self.inputs);
        let (bytes, row_scales) = quantise_rows(x, self.inputs);

        let mut sums = vec![0i32; rows * self.outputs];
        self.integer_products(&bytes, rows, &mut sums);

        let mut y = vec![0.0f32; rows * self.outputs];
        for ((y_row, sum_row), row_scale) in y
            .chunks_exact_mut(self.outputs)
            .zip(sums.chunks_exact(self.outputs))
            .zip(&row_scales)
        {
            for j in 0..self.outputs {
                let exact = sum_row[j] - self.shift_correction[j];
                y_row[j] = exact as f32 * (row_scale * self.scales[j]) + self.bias[j];
            }
        }
        y
    }

    /// The integer sums `Σ byte · weight` of every row with every output.
    fn integer_products(&self, bytes: &[u8], rows: usize, sums: &mut [i32]) {
        // SAFETY (both kernels): the layer was built for a kernel this CPU runs (`new`
        // requires it), and the shapes were checked by `fits`.
        match self.kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Vnni => unsafe { vnni::products(self, bytes, rows, sums) },
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { avx2::products(self, bytes, rows, sums) },
            _ => self.portable_products(bytes, rows, sums),
        }
    }

    /// The same sums one at a time, for CPUs without VNNI and as the reference in tests.
    fn portable_products(&self, bytes: &[u8], rows: usize, sums: &mut [i32]) {
        let groups = self.inputs / GROUP;
        for row in 0..rows {
            let x = &bytes[row * self.inputs..(row + 1) * self.inputs];
            for output in 0..self.outputs {
                let (block, lane) = (output / LANES, output % LANES);
                let mut sum = 0i32;
                for group in 0..groups {
                    let at = ((block * groups + group) * LANES + lane) * GROUP;
                    for i in 0..GROUP {
                        let weight = i32::from(self.packed[at + i]);
                        sum += i32::from(x[group * GROUP + i]) * weight;
                    }
                }
                sums[row * self.outputs + output] = sum;
            }
        }
    }
}

/// The scale that maps the largest magnitude in `values` to 127 (1 for all zeros, which
/// any scale represents exactly).
#[inline(always)]
fn symmetric_scale(values: &[f32]) -> f32 {
    let largest = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if largest > 0.0 && largest.is_finite() {
        largest / 127.0
    } else {
        1.0
    }
}

/// Each row quantised to -127..=127 by its own scale and shifted into unsigned bytes.
#[inline(always)]
fn quantise_rows(x: &[f32], width: usize) -> (Vec<u8>, Vec<f32>) {
    let mut bytes = vec![0u8; x.len()];
    let mut scales = Vec::with_capacity(x.len() / width);
    for (row, out) in x.chunks_exact(width).zip(bytes.chunks_exact_mut(width)) {
        let scale = symmetric_scale(row);
        let inverse = 1.0 / scale;
        for (v, b) in row.iter().zip(out.iter_mut()) {
            let q = crate::quantized::round(v * inverse).clamp(-127.0, 127.0) as i32;
            *b = (q + SHIFT) as u8;
        }
        scales.push(scale);
    }
    (bytes, scales)
}

/// Walks `rows` rows by `outputs` outputs in tiles of at most [`TILE_ROWS`] rows by
/// `tile_outputs` outputs, calling `tile(first_row, rows_in_tile, first_output)`: the walk
/// both SIMD kernels share, each with its own tile.
#[cfg(target_arch = "x86_64")]
fn for_each_tile(
    rows: usize,
    outputs: usize,
    tile_outputs: usize,
    mut tile: impl FnMut(usize, usize, usize),
) {
    for row in (0..rows).step_by(TILE_ROWS) {
        let height = (rows - row).min(TILE_ROWS);
        for first_output in (0..outputs).step_by(tile_outputs) {
            tile(row, height, first_output);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use std::arch::x86_64::{
        __m512i, _mm512_dpbusd_epi32, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_setzero_si512,
        _mm512_storeu_si512,
    };

    use super::{for_each_tile, Int8Linear, GROUP, LANES, TILE_OUTPUTS, TILE_ROWS};

    /// Every row with every output, a tile of rows by 64 outputs at a time.
    ///
    /// # Safety
    /// The CPU must have AVX-512F, AVX-512BW and AVX-512 VNNI; `bytes` holds `rows` rows
    /// of `layer.inputs`, `sums` has room for `rows` rows of `layer.outputs`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) unsafe fn products(layer: &Int8Linear, bytes: &[u8], rows: usize, sums: &mut [i32]) {
        assert!(bytes.len() >= rows * layer.inputs && sums.len() >= rows * layer.outputs);
        for_each_tile(
            rows,
            layer.outputs,
            TILE_OUTPUTS,
            |row, height, first_output| {
                let block = first_output / LANES;
                // SAFETY: the assertion above bounds every row the tile reads and writes.
                unsafe {
                    match height {
                        1 => tile::<1>(layer, bytes, row, block, sums),
                        2 => tile::<2>(layer, bytes, row, block, sums),
                        3 => tile::<3>(layer, bytes, row, block, sums),
                        _ => tile::<TILE_ROWS>(layer, bytes, row, block, sums),
                    }
                }
            },
        );
    }

    /// `R` rows from `first_row` times the four blocks of 16 outputs from `first_block`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    unsafe fn tile<const R: usize>(
        layer: &Int8Linear,
        bytes: &[u8],
        first_row: usize,
        first_block: usize,
        sums: &mut [i32],
    ) {
        let groups = layer.inputs / GROUP;
        let block_bytes = groups * LANES * GROUP;
        let weights = layer.packed.as_ptr();
        let inputs = bytes.as_ptr().add(first_row * layer.inputs);

        let mut acc: [[__m512i; 4]; R] = [[_mm512_setzero_si512(); 4]; R];
        for group in 0..groups {
            let at = group * LANES * GROUP;
            let w0 = _mm512_loadu_si512(weights.add(first_block * block_bytes + at).cast());
            let w1 = _mm512_loadu_si512(weights.add((first_block + 1) * block_bytes + at).cast());
            let w2 = _mm512_loadu_si512(weights.add((first_block + 2) * block_bytes + at).cast());
            let w3 = _mm512_loadu_si512(weights.add((first_block + 3) * block_bytes + at).cast());
            for (r, sums) in acc.iter_mut().enumerate() {
                let quad = inputs
                    .add(r * layer.inputs + group * GROUP)
                    .cast::<i32>()
                    .read_unaligned();
                let x = _mm512_set1_epi32(quad);
                sums[0] = _mm512_dpbusd_epi32(sums[0], x, w0);
                sums[1] = _mm512_dpbusd_epi32(sums[1], x, w1);
                sums[2] = _mm512_dpbusd_epi32(sums[2], x, w2);
                sums[3] = _mm512_dpbusd_epi32(sums[3], x, w3);
            }
        }

        let out = sums.as_mut_ptr();
        for (r, row_sums) in acc.iter().enumerate() {
            let row_start = (first_row + r) * layer.outputs + first_block * LANES;
            for (b, block_sums) in row_sums.iter().enumerate() {
                _mm512_storeu_si512(out.add(row_start + b * LANES).cast(), *block_sums);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi32, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_set1_epi32,
        _mm256_setzero_si256, _mm256_storeu_si256,
    };

    use super::{for_each_tile, Int8Linear, NARROW_LANES, TILE_ROWS};

    /// Blocks of 8 outputs one pass computes: two, so that four rows of sums (8 registers),
    /// the weights and the broadcast input fit AVX2's 16 registers.
    const TILE_BLOCKS: usize = 2;

    /// Every row with every output, a tile of rows by 16 outputs at a time.
    ///
    /// # Safety
    /// The CPU must have AVX2; `bytes` holds `rows` rows of `layer.inputs`, `sums` has room
    /// for `rows` rows of `layer.outputs`, and `layer` was packed for this kernel.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn products(layer: &Int8Linear, bytes: &[u8], rows: usize, sums: &mut [i32]) {
        assert!(bytes.len() >= rows * layer.inputs && sums.len() >= rows * layer.outputs);
        assert_eq!(layer.widened.len(), layer.outputs * layer.inputs);
        // The shifted inputs (0..=255) widened once, so that a pair of them is one load.
        let inputs: Vec<i16> = bytes[..rows * layer.inputs]
            .iter()
            .map(|&b| i16::from(b))
            .collect();
        let tile_outputs = TILE_BLOCKS * NARROW_LANES;
        for_each_tile(
            rows,
            layer.outputs,
            tile_outputs,
            |row, height, first_output| {
                let block = first_output / NARROW_LANES;
                // SAFETY: the assertions above bound every row the tile reads and writes.
                unsafe {
                    match height {
                        1 => tile::<1>(layer, &inputs, row, block, sums),
                        2 => tile::<2>(layer, &inputs, row, block, sums),
                        3 => tile::<3>(layer, &inputs, row, block, sums),
                        _ => tile::<TILE_ROWS>(layer, &inputs, row, block, sums),
                    }
                }
            },
        );
    }

    /// `R` rows from `first_row` times the two blocks of 8 outputs from `first_block`.
    #[target_feature(enable = "avx2")]
    unsafe fn tile<const R: usize>(
        layer: &Int8Linear,
        inputs: &[i16],
        first_row: usize,
        first_block: usize,
        sums: &mut [i32],
    ) {
        let pairs = layer.inputs / 2;
        let block_len = pairs * NARROW_LANES * 2;
        let weights = layer.widened.as_ptr();
        let x = inputs.as_ptr().add(first_row * layer.inputs);

        let mut acc: [[__m256i; TILE_BLOCKS]; R] = [[_mm256_setzero_si256(); TILE_BLOCKS]; R];
        for pair in 0..pairs {
            let at = pair * NARROW_LANES * 2;
            let w0 = _mm256_loadu_si256(weights.add(first_block * block_len + at).cast());
            let w1 = _mm256_loadu_si256(weights.add((first_block + 1) * block_len + at).cast());
            for (r, sums) in acc.iter_mut().enumerate() {
                let two = x
                    .add(r * layer.inputs + pair * 2)
                    .cast::<i32>()
                    .read_unaligned();
                let broadcast = _mm256_set1_epi32(two);
                sums[0] = _mm256_add_epi32(sums[0], _mm256_madd_epi16(broadcast, w0));
                sums[1] = _mm256_add_epi32(sums[1], _mm256_madd_epi16(broadcast, w1));
            }
        }

        let out = sums.as_mut_ptr();
        for (r, row_sums) in acc.iter().enumerate() {
            let row_start = (first_row + r) * layer.outputs + first_block * NARROW_LANES;
            for (b, block_sums) in row_sums.iter().enumerate() {
                _mm256_storeu_si256(out.add(row_start + b * NARROW_LANES).cast(), *block_sums);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1) without a random-number crate.
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn exact(weight: &[f32], bias: &[f32], x: &[f32], outputs: usize, inputs: usize) -> Vec<f32> {
        x.chunks_exact(inputs)
            .flat_map(|row| {
                (0..outputs).map(move |j| {
                    let w = &weight[j * inputs..(j + 1) * inputs];
                    row.iter().zip(w).map(|(a, b)| a * b).sum::<f32>() + bias[j]
                })
            })
            .collect()
    }

    #[test]
    fn products_are_close_to_the_real_ones() {
        let (outputs, inputs, rows) = (128, 96, 7);
        let weight = values(outputs * inputs, 1);
        let bias = values(outputs, 2);
        let x = values(rows * inputs, 3);
        let layer = Int8Linear::new(&weight, bias.clone(), outputs, inputs, Kernel::detect());

        let ours = layer.forward(&x, rows);
        let reference = exact(&weight, &bias, &x, outputs, inputs);
        let worst = ours
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        // Rounding moves each weight and input by at most half a step (1/254 of the
        // largest); over 96 products the errors mostly cancel. Outputs here are about 3 in
        // size, so this is a few percent at the worst of 896.
        assert!(worst < 0.1, "largest difference {worst}");
        let mean = ours
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / ours.len() as f32;
        assert!(mean < 0.02, "mean difference {mean}");
    }

    #[test]
    fn every_kernel_this_cpu_runs_agrees_with_the_portable_sums() {
        let (outputs, inputs) = (192, 64);
        let weight = values(outputs * inputs, 4);
        for kernel in [Kernel::Vnni, Kernel::Avx2] {
            if !kernel.runs_here() {
                eprintln!("skipped: this CPU cannot run the {kernel:?} kernel");
                continue;
            }
            let layer = Int8Linear::new(&weight, vec![0.0; outputs], outputs, inputs, kernel);
            // Every remainder of rows against the tile height.
            for rows in 1..=9 {
                let (bytes, _) = quantise_rows(&values(rows * inputs, 5 + rows as u32), inputs);
                let mut fast = vec![0i32; rows * outputs];
                let mut portable = vec![0i32; rows * outputs];
                layer.integer_products(&bytes, rows, &mut fast);
                layer.portable_products(&bytes, rows, &mut portable);
                assert_eq!(fast, portable, "{kernel:?}, {rows} rows");
            }
        }
    }

    #[test]
    fn zero_rows_and_zero_weights_stay_zero() {
        let layer = Int8Linear::new(&vec![0.0; 64 * 8], vec![0.5; 64], 64, 8, Kernel::Portable);
        let y = layer.forward(&[0.0; 16], 2);
        assert!(y.iter().all(|v| *v == 0.5), "{y:?}");
    }

    #[test]
    fn only_whole_tiles_fit() {
        assert!(Int8Linear::fits(384, 1536));
        assert!(!Int8Linear::fits(100, 384));
        assert!(!Int8Linear::fits(384, 382));
    }
}
