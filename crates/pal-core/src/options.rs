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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Execution {
    /// The raw stream handle of the device backend to launch on (a `CUstream` for CUDA);
    /// 0 is the default stream (for CUDA, the legacy default stream).
    pub stream: usize,
    /// How the contents of device-side index tensors are validated.
    pub check: TableCheck,
}

/// How a GPU call validates the contents of device-side index tensors (lengths, page ids,
/// prompt offsets, positions, slots), which the host cannot read without a copy and a wait.
/// In every mode the kernels clamp lengths and skip invalid entries, so nothing reads or writes
/// outside the buffers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TableCheck {
    /// Never synchronise: the kernels record the first invalid entry they meet, and the next
    /// PAL call on that GPU raises it (naming the argument, entry and value) instead of running.
    /// The call that met it completes with the entry skipped.
    #[default]
    Deferred,
    /// Copy the tables to the host and run the CPU backend's checks before launching (a copy
    /// and a wait on the stream): the error comes from this call, before anything runs.
    Immediate,
    /// No validation: invalid entries are skipped silently.
    Off,
}
