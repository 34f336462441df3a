//! Attention variants (SPEC §3.5): what changes which keys a query sees and how its scores
//! become softmax logits, for every operation and backend alike.

use std::ops::Range;

/// The attention variant of a decode or prefill call.
///
/// Today it has no options: plain attention, where a decode query sees every cached token of
/// its sequence and a prefill row sees its sequence's history and its prompt up to itself
/// (causal). It is the seam where SPEC §3.5's options will land (`window_left`,
/// `logits_soft_cap`, `alibi_slopes`, `sinks`): `#[non_exhaustive]`, so adding them breaks no
/// caller; start from [`AttentionVariant::default`]. Backends read it from the validated call:
/// the CPU backend turns it into each query row's visible key range, score transform and sink,
/// and the CUDA backend will put [`AttentionVariant::name`] into its kernels' specialisation key.
///
/// ```
/// use pal_core::{AttentionOptions, AttentionVariant};
///
/// let options = AttentionOptions { variant: AttentionVariant::default(), ..Default::default() };
/// assert_eq!(options.variant.name(), "plain");
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AttentionVariant {}

impl AttentionVariant {
    /// The variant's name, for a kernel's specialisation name and cache key: `"plain"`.
    pub const fn name(&self) -> &'static str {
        "plain"
    }

    /// The key positions a query at `query_position` sees: every earlier one and its own (a
    /// decode query is its sequence's last token; prefill is causal). The one place a sliding
    /// window will narrow.
    pub(crate) fn visible_keys(&self, query_position: usize) -> Range<usize> {
        0..query_position + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_attention_sees_every_key_up_to_the_query() {
        let plain = AttentionVariant::default();
        assert_eq!(plain.name(), "plain");
        assert_eq!(plain.visible_keys(0), 0..1);
        assert_eq!(plain.visible_keys(41), 0..42);
    }
}
