//! Element types PAL reads and writes, and their conversions to the float32 compute type.

use std::fmt;
use std::str::FromStr;

use half::{bf16, f16};

use crate::error::Error;

/// Element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit IEEE float.
    F32,
    /// 16-bit IEEE float.
    F16,
    /// bfloat16 (8-bit exponent, 7-bit mantissa).
    BF16,
    /// float8 e4m3fn (4-bit exponent, 3-bit mantissa, no infinities): KV pools only.
    F8E4M3,
    /// float8 e5m2 (5-bit exponent, 2-bit mantissa): KV pools only.
    F8E5M2,
    /// 32-bit signed integer (index tensors).
    I32,
}

impl DType {
    /// Bytes per element.
    pub const fn size_in_bytes(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 => 2,
            DType::F8E4M3 | DType::F8E5M2 => 1,
        }
    }

    /// Canonical name, as numpy and torch spell it.
    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::F8E4M3 => "float8_e4m3fn",
            DType::F8E5M2 => "float8_e5m2",
            DType::I32 => "int32",
        }
    }

    /// Whether the type can hold queries, keys and values (fp8 types: keys and values only).
    pub const fn is_float(self) -> bool {
        !matches!(self, DType::I32)
    }

    /// Whether the type is an 8-bit float: a KV pool type with a dequantisation scale.
    pub const fn is_fp8(self) -> bool {
        matches!(self, DType::F8E4M3 | DType::F8E5M2)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The KV pool dtypes, as error messages list them.
pub const POOL_DTYPES: &str = "float32, float16, bfloat16, float8_e4m3fn or float8_e5m2";

impl DType {
    /// The pool dtype named `name`, argument `dtype` of `op`: refuses index and unknown types
    /// with one message listing the pool dtypes.
    pub fn pool(name: &str, op: &'static str) -> Result<DType, Error> {
        match name.parse::<DType>() {
            Ok(dtype) if dtype.is_float() => Ok(dtype),
            Ok(dtype) => Err(Error::DType {
                op,
                arg: "dtype".into(),
                expected: POOL_DTYPES.into(),
                actual: dtype,
            }),
            Err(_) => Err(Error::value(
                op,
                "dtype",
                format!("one of {POOL_DTYPES}"),
                format!("{name:?}"),
            )),
        }
    }
}

impl FromStr for DType {
    type Err = Error;

    /// Accepts the canonical names and the usual aliases (`f32`, `half`, `bf16`, `torch.float16`).
    fn from_str(name: &str) -> Result<Self, Error> {
        let bare = name.strip_prefix("torch.").unwrap_or(name);
        match bare.to_ascii_lowercase().as_str() {
            "float32" | "f32" | "float" => Ok(DType::F32),
            "float16" | "f16" | "half" => Ok(DType::F16),
            "bfloat16" | "bf16" => Ok(DType::BF16),
            "float8_e4m3fn" | "e4m3" | "fp8_e4m3" => Ok(DType::F8E4M3),
            "float8_e5m2" | "e5m2" | "fp8_e5m2" => Ok(DType::F8E5M2),
            "int32" | "i32" => Ok(DType::I32),
            _ => Err(Error::value(
                "dtype",
                "dtype",
                "one of float32, float16, bfloat16, float8_e4m3fn, float8_e5m2, int32",
                format!("{name:?}"),
            )),
        }
    }
}

/// A Rust type that maps to one [`DType`]; lets safe code build tensor views from slices.
pub trait Element: Copy + Send + Sync + 'static {
    /// The matching [`DType`].
    const DTYPE: DType;
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
}
impl Element for f16 {
    const DTYPE: DType = DType::F16;
}
impl Element for bf16 {
    const DTYPE: DType = DType::BF16;
}
impl Element for i32 {
    const DTYPE: DType = DType::I32;
}

/// A floating element: queries, keys, values and outputs. Computation happens in float32.
pub trait FloatElement: Element {
    /// This value as float32.
    fn to_f32(self) -> f32;
    /// The value of this type nearest to `value`.
    fn from_f32(value: f32) -> Self;
    /// Converts a run of elements; the half types use the F16C / vector paths of `half`.
    fn convert_to_f32(src: &[Self], dst: &mut [f32]);
}

impl FloatElement for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline(always)]
    fn from_f32(value: f32) -> Self {
        value
    }
    #[inline(always)]
    fn convert_to_f32(src: &[Self], dst: &mut [f32]) {
        dst.copy_from_slice(src);
    }
}

impl FloatElement for f16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
    #[inline(always)]
    fn from_f32(value: f32) -> Self {
        f16::from_f32(value)
    }
    #[inline(always)]
    fn convert_to_f32(src: &[Self], dst: &mut [f32]) {
        use half::slice::HalfFloatSliceExt;
        src.convert_to_f32_slice(dst);
    }
}

impl FloatElement for bf16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        bf16::to_f32(self)
    }
    #[inline(always)]
    fn from_f32(value: f32) -> Self {
        bf16::from_f32(value)
    }
    #[inline(always)]
    fn convert_to_f32(src: &[Self], dst: &mut [f32]) {
        // A bfloat16 is the top half of a float32: a shift the compiler vectorises.
        for (d, s) in dst.iter_mut().zip(src) {
            *d = f32::from_bits((s.to_bits() as u32) << 16);
        }
    }
}

/// A float8 e4m3fn element (its bits): KV pools only. Finite range +-448, no infinities; the
/// bit patterns `0x7f` / `0xff` are NaN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct F8E4M3(pub u8);

/// A float8 e5m2 element (its bits): KV pools only. Finite range +-57344, with infinities and
/// NaNs like float16 (whose top byte it is).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct F8E5M2(pub u8);

impl Element for F8E4M3 {
    const DTYPE: DType = DType::F8E4M3;
}
impl Element for F8E5M2 {
    const DTYPE: DType = DType::F8E5M2;
}

/// The exact float32 value of every e4m3fn / e5m2 bit pattern (both widen exactly).
static E4M3_VALUES: std::sync::LazyLock<[f32; 256]> = std::sync::LazyLock::new(|| {
    std::array::from_fn(|b| {
        let (sign, e, m) = (if b & 0x80 != 0 { -1.0f32 } else { 1.0 }, (b >> 3) & 15, b & 7);
        if b & 0x7f == 0x7f {
            f32::NAN.copysign(sign)
        } else if e == 0 {
            sign * m as f32 * 2f32.powi(-9)
        } else {
            sign * f32::from_bits((((e + 120) << 23) | (m << 20)) as u32)
        }
    })
});
static E5M2_VALUES: std::sync::LazyLock<[f32; 256]> =
    std::sync::LazyLock::new(|| std::array::from_fn(|b| f16::from_bits((b as u16) << 8).to_f32()));

/// Quantises `x` to an 8-bit float with `mantissa` bits and exponent bias `bias`: round to
/// nearest even, saturating to the largest finite code `max_code` (infinities too), NaN to
/// `0x7f`, the sign kept. The CUDA fill kernel (`from_float` in common.cuh) does the same
/// integer steps, so both backends store the same bits.
fn quantize_fp8(x: f32, mantissa: u32, bias: u32, max_code: u32) -> u8 {
    let bits = x.to_bits();
    let sign = ((bits >> 24) & 0x80) as u8;
    let a = bits & 0x7fff_ffff;
    if a > 0x7f80_0000 {
        return sign | 0x7f;
    }
    let shift = 23 - mantissa;
    // Below the smallest normal (2^(1 - bias)): multiples of the smallest subnormal.
    let min_normal = (128 - bias) << 23;
    if a < min_normal {
        let step = 2f32.powi((bias + mantissa - 1) as i32);
        return sign | (x.abs() * step).round_ties_even() as u8;
    }
    let rounded = a + ((1 << (shift - 1)) - 1) + ((a >> shift) & 1);
    let code = (rounded >> shift) - ((127 - bias) << mantissa);
    sign | code.min(max_code) as u8
}

/// The element methods of an fp8 type: widening through its table, and the shared quantiser
/// with the format's mantissa bits, exponent bias and largest finite code.
macro_rules! fp8_element {
    ($T:ident, $table:ident, $mantissa:literal, $bias:literal, $max_code:literal, $range:literal) => {
        impl $T {
            /// This element's value.
            #[inline(always)]
            pub fn to_f32(self) -> f32 {
                $table[self.0 as usize]
            }
            #[doc = concat!("`x` rounded to nearest even, saturated to ", $range, " (SPEC §3.5).")]
            pub fn from_f32(x: f32) -> Self {
                $T(quantize_fp8(x, $mantissa, $bias, $max_code))
            }
        }

        impl FloatElement for $T {
            #[inline(always)]
            fn to_f32(self) -> f32 {
                $T::to_f32(self)
            }
            #[inline(always)]
            fn from_f32(value: f32) -> Self {
                $T::from_f32(value)
            }
            #[inline(always)]
            fn convert_to_f32(src: &[Self], dst: &mut [f32]) {
                let table = &*$table;
                for (d, s) in dst.iter_mut().zip(src) {
                    *d = table[s.0 as usize];
                }
            }
        }
    };
}

fp8_element!(F8E4M3, E4M3_VALUES, 3, 7, 0x7e, "+-448");
fp8_element!(F8E5M2, E5M2_VALUES, 2, 15, 0x7b, "+-57344");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fp8_codes_of_known_values() {
        let e4m3 = |x: f32| F8E4M3::from_f32(x).0;
        assert_eq!(e4m3(1.0), 0x38);
        assert_eq!(e4m3(-1.0), 0xb8);
        assert_eq!(e4m3(448.0), 0x7e);
        assert_eq!(e4m3(464.0), 0x7e, "the tie above 448 rounds to even (448)");
        assert_eq!(e4m3(1e9), 0x7e, "saturates");
        assert_eq!(e4m3(f32::INFINITY), 0x7e, "infinity saturates: no NaN from an overflow");
        assert_eq!(e4m3(f32::NEG_INFINITY), 0xfe);
        assert_eq!(e4m3(2f32.powi(-9)), 0x01);
        assert_eq!(
            e4m3(2f32.powi(-10)),
            0x00,
            "half the smallest subnormal: ties to even (0)"
        );
        assert_eq!(e4m3(1.5 * 2f32.powi(-9)), 0x02, "ties to even (2)");
        assert_eq!(e4m3(2f32.powi(-6)), 0x08);
        assert_eq!(e4m3(1.0625), 0x38, "1 + 1/16: tie, to even");
        assert_eq!(e4m3(1.1875), 0x3a, "1 + 3/16: tie, to even");
        assert_eq!(e4m3(f32::NAN) & 0x7f, 0x7f);
        let e5m2 = |x: f32| F8E5M2::from_f32(x).0;
        assert_eq!(e5m2(1.0), 0x3c);
        assert_eq!(e5m2(57344.0), 0x7b);
        assert_eq!(e5m2(1e9), 0x7b);
        assert_eq!(e5m2(f32::INFINITY), 0x7b);
        assert_eq!(e5m2(2f32.powi(-16)), 0x01);
        assert_eq!(e5m2(-2f32.powi(-14)), 0x84);
    }

    #[test]
    fn fp8_round_trips_every_finite_code() {
        for b in 0..=255u8 {
            let x = F8E4M3(b).to_f32();
            if x.is_nan() {
                assert_eq!(b & 0x7f, 0x7f);
            } else if x != 0.0 || b & 0x7f == 0 {
                assert_eq!(F8E4M3::from_f32(x).0, b, "e4m3 {b:#x} = {x}");
            }
            let y = F8E5M2(b).to_f32();
            if y.is_finite() {
                assert_eq!(F8E5M2::from_f32(y).0, b, "e5m2 {b:#x} = {y}");
            }
        }
        assert_eq!(F8E4M3(0x7e).to_f32(), 448.0);
        assert_eq!(F8E4M3(0x01).to_f32(), 2f32.powi(-9));
        assert_eq!(F8E5M2(0x7b).to_f32(), 57344.0);
    }

    #[test]
    fn fp8_rounds_to_the_nearest_code() {
        // Between consecutive finite codes the quantiser picks the nearer one (even on a tie).
        for b in 0..0x7eu8 {
            let (lo, hi) = (F8E4M3(b).to_f32(), F8E4M3(b + 1).to_f32());
            let mid = (lo + hi) / 2.0;
            let even = if b % 2 == 0 { b } else { b + 1 };
            assert_eq!(F8E4M3::from_f32(mid).0, even, "tie between {b:#x} and {:#x}", b + 1);
            assert_eq!(F8E4M3::from_f32(lo + (hi - lo) * 0.25).0, b);
            assert_eq!(F8E4M3::from_f32(lo + (hi - lo) * 0.75).0, b + 1);
        }
    }
}
