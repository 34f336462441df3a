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
    /// 32-bit signed integer (index tensors).
    I32,
}

impl DType {
    /// Bytes per element.
    pub const fn size_in_bytes(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::F16 | DType::BF16 => 2,
        }
    }

    /// Canonical name, as numpy and torch spell it.
    pub const fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::I32 => "int32",
        }
    }

    /// Whether the type can hold queries, keys and values.
    pub const fn is_float(self) -> bool {
        !matches!(self, DType::I32)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
            "int32" | "i32" => Ok(DType::I32),
            _ => Err(Error::value(
                "dtype",
                "dtype",
                "one of float32, float16, bfloat16, int32",
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
