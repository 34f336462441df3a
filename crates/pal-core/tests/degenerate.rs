//! The empty and degenerate calls through the public API, as a client makes them: empty batches
//! (SPEC §6: they return empty outputs), sequences of no tokens (SPEC §3.1: zeros), a single
//! token, pools of no pages with nothing to read. Every op, layout and model dtype.

mod common;

use common::{assert_close, to_f64, FLOAT_DTYPES};
use pal_core::*;

const HQ: usize = 4;
const HKV: usize = 2;
const D: usize = 16;
const PAGE: usize = 4;

/// A key and a value pool of `pages` pages, zeroed.
struct Pools<T> {
    layout: CacheLayout,
    k: Vec<T>,
    v: Vec<T>,
    k_shape: Vec<usize>,
    v_shape: Vec<usize>,
}

impl<T: FloatElement> Pools<T> {
    fn new(layout: CacheLayout, pages: usize) -> Self {
        let k_shape = k_cache_shape(pages, HKV, D, PAGE, T::DTYPE, layout).unwrap();
        let v_shape = v_cache_shape(pages, HKV, D, PAGE, T::DTYPE, layout).unwrap();
        Self {
            layout,
            k: vec![T::from_f32(0.0); k_shape.iter().product()],
            v: vec![T::from_f32(0.0); v_shape.iter().product()],
            k_shape,
            v_shape,
        }
    }

    fn options(&self) -> AttentionOptions {
        AttentionOptions {
            layout: self.layout,
            ..Default::default()
        }
    }

    /// Decode of `lens.len()` sequences, queries of ones; the output starts as NaN so that
    /// every element left unwritten shows.
    fn decode(&self, table: &[i32], lens: &[i32], sinks: Option<&[f32]>, options: AttentionOptions) -> Result<Vec<T>> {
        let batch = lens.len();
        let queries = vec![T::from_f32(1.0); batch * HQ * D];
        let mut out = vec![T::from_f32(f32::NAN); queries.len()];
        let inputs = DecodeInputs {
            queries: TensorView::from_slice(&queries, &[batch, HQ, D])?,
            k_cache: TensorView::from_slice(&self.k, &self.k_shape)?,
            v_cache: TensorView::from_slice(&self.v, &self.v_shape)?,
            page_table: TensorView::from_slice(table, &[batch, table.len().checked_div(batch).unwrap_or(0)])?,
            seq_lens: TensorView::from_slice(lens, &[batch])?,
            alibi_slopes: None,
            sinks: sinks.map(|s| TensorView::from_slice(s, &[HQ])).transpose()?,
            kv_scales: Default::default(),
        };
        paged_attention_decode(
            &inputs,
            &mut TensorViewMut::from_slice(&mut out, &[batch, HQ, D])?,
            &options,
        )?;
        Ok(out)
    }

    /// Prefill of the prompt values `v` (one row per token; queries and keys of ones) after
    /// the history of `context`, through a page table of `pages_per_sequence` columns.
    fn prefill(
        &self,
        v: &[T],
        table: &[i32],
        pages_per_sequence: usize,
        context: &[i32],
        cu_seqlens_q: Option<&[i32]>,
    ) -> Result<Vec<T>> {
        let tokens = v.len() / (HKV * D);
        let q = vec![T::from_f32(1.0); tokens * HQ * D];
        let k = vec![T::from_f32(1.0); v.len()];
        let mut out = vec![T::from_f32(f32::NAN); q.len()];
        let inputs = PrefillInputs {
            q: TensorView::from_slice(&q, &[tokens, HQ, D])?,
            k: TensorView::from_slice(&k, &[tokens, HKV, D])?,
            v: TensorView::from_slice(v, &[tokens, HKV, D])?,
            k_cache: TensorView::from_slice(&self.k, &self.k_shape)?,
            v_cache: TensorView::from_slice(&self.v, &self.v_shape)?,
            page_table: TensorView::from_slice(table, &[context.len(), pages_per_sequence])?,
            context_lens: TensorView::from_slice(context, &[context.len()])?,
            cu_seqlens_q: cu_seqlens_q
                .map(|cu| TensorView::from_slice(cu, &[cu.len()]))
                .transpose()?,
            alibi_slopes: None,
            sinks: None,
            kv_scales: Default::default(),
        };
        paged_attention_prefill(
            &inputs,
            &mut TensorViewMut::from_slice(&mut out, &[tokens, HQ, D])?,
            &self.options(),
        )?;
        Ok(out)
    }

    /// Fills `values` (keys equal) to `destination`; on error the pools must be untouched.
    fn fill(&mut self, values: &[T], destination: KvDestination<'_>) -> Result<()> {
        let tokens = values.len() / (HKV * D);
        let before = (to_f64(&self.k), to_f64(&self.v));
        let inputs = FillInputs {
            new_keys: TensorView::from_slice(values, &[tokens, HKV, D])?,
            new_values: TensorView::from_slice(values, &[tokens, HKV, D])?,
            destination,
            kv_scales: Default::default(),
        };
        let result = fill_kv_pages(
            &inputs,
            &mut TensorViewMut::from_slice(&mut self.k, &self.k_shape)?,
            &mut TensorViewMut::from_slice(&mut self.v, &self.v_shape)?,
            &FillOptions {
                layout: self.layout,
                ..Default::default()
            },
        );
        if result.is_err() || tokens == 0 {
            assert_eq!(
                (to_f64(&self.k), to_f64(&self.v)),
                before,
                "a fill that failed or had no tokens wrote to the pools"
            );
        }
        result
    }
}

/// Token values: row `t`, KV head `h`, dim `d` distinct and exact in every dtype.
fn token_values<T: FloatElement>(tokens: usize) -> Vec<T> {
    (0..tokens * HKV * D)
        .map(|i| T::from_f32(((i % 29) as f32 - 14.0) / 8.0))
        .collect()
}

/// The output rows of one query token: each query head's row is its KV head's value row (a
/// softmax over one key, or over equal keys with equal values).
fn expected_rows<T: FloatElement>(values: &[T], token: usize) -> Vec<f64> {
    let group = HQ / HKV;
    (0..HQ)
        .flat_map(|h| to_f64(&values[(token * HKV + h / group) * D..][..D]))
        .collect()
}

/// The error of a call that must fail.
fn refused<R>(result: Result<R>) -> Error {
    match result {
        Ok(_) => panic!("the call should have been refused"),
        Err(e) => e,
    }
}

fn assert_names(error: &Error, arg: &str) {
    let message = error.to_string();
    assert!(message.contains(&format!("`{arg}`")), "should name `{arg}`: {message}");
}

/// Token `t` to position `pos[t]` of sequence `seq[t]` through `table` of shape `[rows, cols]`.
fn positions<'a>(table: &'a [i32], [rows, cols]: [usize; 2], pos: &'a [i32], seq: &'a [i32]) -> KvDestination<'a> {
    KvDestination::Positions {
        page_table: TensorView::from_slice(table, &[rows, cols]).unwrap(),
        positions: TensorView::from_slice(pos, &[pos.len()]).unwrap(),
        token_to_seq: TensorView::from_slice(seq, &[seq.len()]).unwrap(),
    }
}

fn slots(slots: &[i32]) -> KvDestination<'_> {
    KvDestination::SlotMapping(TensorView::from_slice(slots, &[slots.len()]).unwrap())
}

/// Runs `body::<T>(layout)` for every model dtype and layout.
macro_rules! every_case {
    ($body:ident) => {
        for dtype in FLOAT_DTYPES {
            for layout in CacheLayout::ALL {
                for_dtype!(dtype, T => $body::<T>(layout));
            }
        }
    };
}

fn empty_batches<T: FloatElement>(layout: CacheLayout) {
    for pages in [0, 3] {
        let mut pools = Pools::<T>::new(layout, pages);
        // Decode of no sequences, with and without sinks.
        assert!(pools.decode(&[], &[], None, pools.options()).unwrap().is_empty());
        let sinks = [0.5f32; HQ];
        assert!(pools
            .decode(&[], &[], Some(&sinks), pools.options())
            .unwrap()
            .is_empty());
        // Prefill of no sequences and no tokens, with and without cu_seqlens_q.
        for cu in [None, Some(&[0][..])] {
            assert!(pools.prefill(&[], &[], 0, &[], cu).unwrap().is_empty());
            assert!(pools.prefill(&[], &[], 3, &[], cu).unwrap().is_empty());
        }
        // Prefill of sequences with no prompt tokens and no history: nothing to compute.
        for cu in [None, Some(&[0, 0, 0][..])] {
            assert!(pools.prefill(&[], &[-1, -1], 1, &[0, 0], cu).unwrap().is_empty());
        }
        // Fills of no tokens, by positions (any page table) and by slots.
        pools.fill(&[], positions(&[], [0, 0], &[], &[])).unwrap();
        pools.fill(&[], positions(&[-1; 6], [2, 3], &[], &[])).unwrap();
        pools.fill(&[], slots(&[])).unwrap();
        // Tokens without a sequence to hold them are refused, naming the prompt's length.
        let two = token_values::<T>(2);
        for cu in [None, Some(&[0][..]), Some(&[2][..])] {
            let e = refused(pools.prefill(&two, &[], 0, &[], cu));
            assert!(matches!(e, Error::Value { .. }), "{e}");
            assert_names(&e, "q.shape[0] (total_tokens)");
            assert!(e.to_string().contains("num_seqs = 0"), "{e}");
        }
        // ... and so are tokens of a fill that point at no sequence.
        let e = pools
            .fill(&two[..HKV * D], positions(&[], [0, 3], &[0], &[0]))
            .unwrap_err();
        assert_names(&e, "token_to_seq[0]");
    }
}

#[test]
fn empty_batches_return_empty_outputs() {
    every_case!(empty_batches);
}

fn sequences_without_tokens<T: FloatElement>(layout: CacheLayout) {
    for pages in [0, 2] {
        let mut pools = Pools::<T>::new(layout, pages);
        // Unused page table entries may hold anything (SPEC §1).
        let table = [-1, 7, i32::MIN, 0, 5, -3];
        let window = AttentionOptions {
            variant: AttentionVariant::default().with_window_left(0),
            ..pools.options()
        };
        let sinks = [2.0f32; HQ];
        for (sinks, options) in [
            (None, pools.options()),
            (Some(&sinks[..]), pools.options()),
            (None, window),
        ] {
            let out = pools.decode(&table, &[0, 0, 0], sinks, options).unwrap();
            assert!(to_f64(&out).iter().all(|&x| x == 0.0), "{layout} {}", T::DTYPE);
            let out = pools.decode(&[], &[0, 0], sinks, options).unwrap();
            assert!(to_f64(&out).iter().all(|&x| x == 0.0), "{layout} {}", T::DTYPE);
        }
        // Slots that all skip (negative) write nothing, into a pool of no pages too.
        pools.fill(&token_values::<T>(2), slots(&[-1, -7])).unwrap();
        assert!(to_f64(&pools.k).iter().chain(&to_f64(&pools.v)).all(|&x| x == 0.0));
    }
}

#[test]
fn sequences_of_no_tokens_give_zeros() {
    every_case!(sequences_without_tokens);
}

fn single_tokens<T: FloatElement>(layout: CacheLayout) {
    let dtype = T::DTYPE;
    let what = format!("{layout} {dtype}");
    // A prompt of one token without history attends to itself alone: out = its value, with
    // a pool of no pages and a page table of no columns.
    let empty = Pools::<T>::new(layout, 0);
    let one = token_values::<T>(1);
    let out = empty.prefill(&one, &[], 0, &[0], None).unwrap();
    assert_close(dtype, &to_f64(&out), &expected_rows(&one, 0), &what);
    // Single-token prompts between empty ones.
    let two = token_values::<T>(2);
    let out = empty
        .prefill(&two, &[], 0, &[0, 0, 0, 0], Some(&[0, 0, 1, 1, 2]))
        .unwrap();
    let expected: Vec<f64> = (0..2).flat_map(|t| expected_rows(&two, t)).collect();
    assert_close(dtype, &to_f64(&out), &expected, &what);

    // One token filled at position 0 of sequence 1 (page 2), then decoded: out = its value.
    let mut pools = Pools::<T>::new(layout, 3);
    let table = [-1, 2];
    pools.fill(&one, positions(&table, [2, 1], &[0], &[1])).unwrap();
    let out = pools.decode(&table, &[0, 1], None, pools.options()).unwrap();
    let mut expected = vec![0.0; HQ * D];
    expected.extend(expected_rows(&one, 0));
    assert_close(dtype, &to_f64(&out), &expected, &what);
    // The second of two tokens through a slot mapping (the first skipped) to page 0's last
    // slot, then a decode over that page: zero keys and values before it, so each head weighs
    // the token's value by e^s / (e^s + PAGE - 1), s its scaled score against queries of ones.
    let mut pools = Pools::<T>::new(layout, 1);
    pools.fill(&two, slots(&[-1, PAGE as i32 - 1])).unwrap();
    let out = pools.decode(&[0], &[PAGE as i32], None, pools.options()).unwrap();
    let token = to_f64(&two[HKV * D..]);
    let mut reference = Vec::new();
    for h in 0..HQ {
        let row = &token[(h / (HQ / HKV)) * D..][..D];
        let score = row.iter().sum::<f64>() / (D as f64).sqrt();
        let weight = score.exp() / (score.exp() + (PAGE - 1) as f64);
        reference.extend(row.iter().map(|x| x * weight));
    }
    assert_close(dtype, &to_f64(&out), &reference, &what);
}

#[test]
fn single_tokens_attend_to_what_they_see() {
    every_case!(single_tokens);
}

fn nothing_to_read<T: FloatElement>(layout: CacheLayout) {
    let empty = Pools::<T>::new(layout, 0);
    // A length beyond a page table of no columns.
    let e = refused(empty.decode(&[], &[0, 1], None, empty.options()));
    assert_names(&e, "seq_lens[1]");
    let e = refused(empty.prefill(&token_values::<T>(1), &[], 0, &[1], None));
    assert_names(&e, "context_lens[0]");
    // A used page in a pool of no pages.
    let e = refused(empty.decode(&[0], &[1], None, empty.options()));
    assert_names(&e, "page_table[0, 0]");
    let mut empty = empty;
    let one = token_values::<T>(1);
    let e = empty.fill(&one, positions(&[0], [1, 1], &[0], &[0])).unwrap_err();
    assert_names(&e, "page_table[0, 0]");
    let e = empty.fill(&one, positions(&[], [1, 0], &[0], &[0])).unwrap_err();
    assert_names(&e, "positions[0]");
    let e = empty.fill(&one, slots(&[0])).unwrap_err();
    assert_names(&e, "slot_mapping[0]");
}

#[test]
fn pools_of_no_pages_refuse_what_would_read_them() {
    every_case!(nothing_to_read);
}
