//! Options of the operations: how attention is computed, and how a call runs on a device.

use crate::layout::CacheLayout;
use crate::variant::AttentionVariant;

/// Options of [`paged_attention_decode`](crate::paged_attention_decode) and
/// [`paged_attention_prefill`](crate::paged_attention_prefill).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AttentionOptions {
    /// Softmax scale; `None` means `1/sqrt(head_dim)`.
    pub scale: Option<f32>,
    /// Layout of the key/value pools.
    pub layout: CacheLayout,
    /// The attention variant (plain attention by default).
    pub variant: AttentionVariant,
    /// How the call runs on a GPU.
    pub execution: Execution,
}

/// Options of [`fill_kv_pages`](crate::fill_kv_pages).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FillOptions {
    /// Layout of the pools.
    pub layout: CacheLayout,
    /// How the call runs on a GPU.
    pub execution: Execution,
}

/// How a call runs on a GPU (the CPU backend ignores it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Execution {
    /// The raw stream handle of the device backend to launch on (a `CUstream` for CUDA);
    /// 0 is the default stream (for CUDA, the legacy default stream).
    pub stream: usize,
    /// Validate the contents of device-side index tensors (lengths, page ids, positions) before
    /// launching, which copies them to the host and waits for the stream. Off, nothing is
    /// synchronised (the mode for CUDA-graph capture): kernels then skip tokens whose page or
    /// slot is invalid instead of reporting them, and never touch memory outside the pools.
    pub check: bool,
}

impl Default for Execution {
    fn default() -> Self {
        Self { stream: 0, check: true }
    }
}
