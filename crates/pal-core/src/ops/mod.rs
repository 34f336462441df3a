//! The public operations, one file per op: validation of the call into a
//! [problem](crate::problem), then dispatch to the backend that owns the data.

mod decode;
mod fill;
mod prefill;

pub use decode::paged_attention_decode;
pub use fill::fill_kv_pages;
pub use prefill::paged_attention_prefill;
