//! Attention variants (SPEC §3.5): what changes which keys a query sees and how its scores
//! become softmax logits, for every operation and backend alike.

use std::ops::Range;

/// The attention variant of a decode or prefill call (SPEC §3.5).
///
/// The default is plain attention: a decode query sees every cached token of its sequence and a
/// prefill row sees its sequence's history and its prompt up to itself (causal). Options, in
/// the order they act: the scale, then `logits_soft_cap`, then the window, then the softmax.
/// `#[non_exhaustive]`, so more options (ALiBi slopes, sinks) break no caller: start from
/// [`AttentionVariant::default`] and set fields or use the `with_*` methods. Backends read it
/// from the validated call: the CPU backend turns it into each query row's visible key range and
/// score transform; the CUDA backend names which options are on (with ALiBi slopes and sinks)
/// in its kernels' keys and passes their values at run time.
///
/// ```
/// use pal_core::{AttentionOptions, AttentionVariant};
///
/// let options = AttentionOptions { variant: AttentionVariant::default(), ..Default::default() };
/// assert_eq!(options.variant.name(), "plain");
/// let gemma = AttentionVariant::default().with_window_left(4095).with_logits_soft_cap(50.0);
/// assert_eq!(gemma.name(), "window+softcap");
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AttentionVariant {
    /// Sliding window: a query at position `i` sees key `j` only if `i - j <= w` (FlashInfer's
    /// `window_left`; a window of `w + 1` tokens including the query). `None`: no window.
    pub window_left: Option<usize>,
    /// Logit soft-cap `c > 0`: each scaled score `x` becomes `c * tanh(x / c)`. `None`: off.
    pub logits_soft_cap: Option<f32>,
}

impl AttentionVariant {
    /// This variant with a sliding window of `window_left` keys before the query.
    pub fn with_window_left(self, window_left: usize) -> Self {
        Self {
            window_left: Some(window_left),
            ..self
        }
    }

    /// This variant with a logit soft-cap; a cap of 0 is off (FlashInfer's convention, as the
    /// Python keyword takes it).
    pub fn with_logits_soft_cap(self, cap: f32) -> Self {
        Self {
            logits_soft_cap: (cap != 0.0).then_some(cap),
            ..self
        }
    }

    /// The variant's name, for a kernel's specialisation name and cache key: `"plain"`,
    /// `"window"`, `"softcap"` or `"window+softcap"`.
    pub const fn name(&self) -> &'static str {
        match (self.window_left.is_some(), self.logits_soft_cap.is_some()) {
            (false, false) => "plain",
            (true, false) => "window",
            (false, true) => "softcap",
            (true, true) => "window+softcap",
        }
    }

    /// The key positions a query at `query_position` sees: its own and the earlier ones (a decode
    /// query is its sequence's last token; prefill is causal), from the window's start.
    pub(crate) fn visible_keys(&self, query_position: usize) -> Range<usize> {
        let first = self.window_left.map_or(0, |w| query_position.saturating_sub(w));
        first..query_position + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_sees_its_last_keys_and_names_the_kernel() {
        let window = AttentionVariant::default().with_window_left(3);
        assert_eq!(window.visible_keys(10), 7..11);
        assert_eq!(window.visible_keys(2), 0..3);
        assert_eq!(AttentionVariant::default().with_window_left(0).visible_keys(5), 5..6);
        assert_eq!(window.name(), "window");
        assert_eq!(window.with_logits_soft_cap(30.0).name(), "window+softcap");
        assert_eq!(AttentionVariant::default().with_logits_soft_cap(30.0).name(), "softcap");
    }

    #[test]
    fn plain_attention_sees_every_key_up_to_the_query() {
        let plain = AttentionVariant::default();
        assert_eq!(plain.name(), "plain");
        assert_eq!(plain.visible_keys(0), 0..1);
        assert_eq!(plain.visible_keys(41), 0..42);
    }
}
