//! The public operations: argument structs, validation shared by all backends, and dispatch to
//! the backend that owns the data.

mod decode;
mod fill;
mod prefill;
pub(crate) mod validate;

pub(crate) use decode::DecodeProblem;
pub use decode::{paged_attention_decode, DecodeInputs};
pub(crate) use fill::resolve_on_host;
pub use fill::{fill_kv_pages, FillInputs, FillOptions, KvDestination};
pub(crate) use fill::{FillProblem, FillTarget};
pub(crate) use prefill::{check_prompt_offsets, PrefillProblem, PromptOffsets};
pub use prefill::{paged_attention_prefill, PrefillInputs};

use crate::layout::CacheLayout;

/// Options of the attention operations.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AttentionOptions {
    /// Softmax scale; `None` means `1/sqrt(head_dim)`.
    pub scale: Option<f32>,
    /// Layout of the key/value pools.
    pub layout: CacheLayout,
    /// How the call runs on a GPU.
    pub execution: Execution,
}

/// How a call runs on a GPU (the CPU backend ignores it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Execution {
    /// The raw `CUstream` to launch on; 0 is the legacy default stream.
    pub cuda_stream: usize,
    /// Validate the contents of device-side index tensors (lengths, page ids, positions) before
    /// launching, which copies them to the host and waits for the stream. Off, nothing is
    /// synchronised (the mode for CUDA-graph capture): kernels then skip tokens whose page or
    /// slot is invalid instead of reporting them, and never touch memory outside the pools.
    pub check: bool,
}

impl Default for Execution {
    fn default() -> Self {
        Self {
            cuda_stream: 0,
            check: true,
        }
    }
}
