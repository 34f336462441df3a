//! # PAL core: paged attention over a paged KV cache
//!
//! Three operations over key/value pools split into fixed-size pages (the vLLM / FlashInfer model):
//! [`paged_attention_decode`], [`paged_attention_prefill`] and [`fill_kv_pages`]. Inputs are
//! borrowed [`TensorView`]s; the device that holds them picks the backend. Every call is fully
//! validated first (one [`Error`] type naming the argument, the expected and the actual value),
//! so a bad call never writes anything.
//!
//! ```
//! use pal_core::{fill_kv_pages, paged_attention_decode, k_cache_shape, v_cache_shape, AttentionOptions,
//!     CacheLayout, DType, DecodeInputs, FillInputs, FillOptions, KvDestination, TensorView, TensorViewMut};
//!
//! let (pages, kv_heads, q_heads, head_dim, page_size) = (4, 2, 4, 8, 16);
//! let layout = CacheLayout::Pal;
//! let k_shape = k_cache_shape(pages, kv_heads, head_dim, page_size, DType::F32, layout)?;
//! let v_shape = v_cache_shape(pages, kv_heads, head_dim, page_size, DType::F32, layout)?;
//! let mut k_pool = vec![0f32; k_shape.iter().product()];
//! let mut v_pool = vec![0f32; v_shape.iter().product()];
//!
//! // One sequence of 3 tokens on pages [2, 0].
//! let keys: Vec<f32> = (0..3 * kv_heads * head_dim).map(|i| (i as f32 * 0.37).sin()).collect();
//! let page_table = [2i32, 0];
//! let fill = FillInputs {
//!     new_keys: TensorView::from_slice(&keys, &[3, kv_heads, head_dim])?,
//!     new_values: TensorView::from_slice(&keys, &[3, kv_heads, head_dim])?,
//!     destination: KvDestination::Positions {
//!         page_table: TensorView::from_slice(&page_table, &[1, 2])?,
//!         positions: TensorView::from_slice(&[0i32, 1, 2], &[3])?,
//!         token_to_seq: TensorView::from_slice(&[0i32, 0, 0], &[3])?,
//!     },
//!     kv_scales: Default::default(),
//! };
//! fill_kv_pages(&fill, &mut TensorViewMut::from_slice(&mut k_pool, &k_shape)?,
//!     &mut TensorViewMut::from_slice(&mut v_pool, &v_shape)?, &FillOptions { layout, ..Default::default() })?;
//!
//! let queries = vec![0.5f32; q_heads * head_dim];
//! let mut out = vec![0f32; q_heads * head_dim];
//! let decode = DecodeInputs {
//!     queries: TensorView::from_slice(&queries, &[1, q_heads, head_dim])?,
//!     k_cache: TensorView::from_slice(&k_pool, &k_shape)?,
//!     v_cache: TensorView::from_slice(&v_pool, &v_shape)?,
//!     page_table: TensorView::from_slice(&page_table, &[1, 2])?,
//!     seq_lens: TensorView::from_slice(&[3i32], &[1])?,
//!     alibi_slopes: None,
//!     sinks: None,
//!     kv_scales: Default::default(),
//! };
//! paged_attention_decode(&decode, &mut TensorViewMut::from_slice(&mut out, &[1, q_heads, head_dim])?,
//!     &AttentionOptions { layout, ..Default::default() })?;
//! # Ok::<(), pal_core::Error>(())
//! ```

#![warn(missing_docs)]

mod backend;
mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
mod dtype;
mod error;
pub mod host_profile;
mod layout;
mod ops;
mod options;
mod problem;
pub mod read_ceiling;
mod tensor;
mod validate;
mod variant;

pub use dtype::{DType, Element, FloatElement, F8E4M3, F8E5M2, POOL_DTYPES};
pub use error::{Error, Result};
/// The `half` crate PAL's `f16` / `bf16` elements come from, so a client builds its slices with
/// the same types.
pub use half;
pub use layout::{
    k_cache_shape, k_cache_stripe_size, optimal_page_size, v_cache_shape, CacheGeometry, CacheLayout, RowRuns,
};
pub use ops::{fill_kv_pages, paged_attention_decode, paged_attention_prefill};
pub use options::{AttentionOptions, Execution, FillOptions, TableCheck};
pub use problem::{DecodeInputs, FillInputs, KvDestination, KvScale, KvScales, PrefillInputs};
pub use tensor::{Device, TensorView, TensorViewMut};
pub use variant::AttentionVariant;
