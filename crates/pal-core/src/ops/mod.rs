//! The public operations: argument structs, validation shared by all backends, and dispatch to
//! the backend that owns the data.

mod decode;
mod fill;
mod prefill;
pub(crate) mod validate;

pub(crate) use decode::DecodeProblem;
pub use decode::{paged_attention_decode, DecodeInputs};
pub use fill::{fill_kv_pages, FillInputs, FillOptions, KvDestination};
pub(crate) use fill::{FillProblem, FillTarget};
pub(crate) use prefill::PrefillProblem;
pub use prefill::{paged_attention_prefill, PrefillInputs};

use crate::layout::CacheLayout;

/// Options of the attention operations.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AttentionOptions {
    /// Softmax scale; `None` means `1/sqrt(head_dim)`.
    pub scale: Option<f32>,
    /// Layout of the key/value pools.
    pub layout: CacheLayout,
}
