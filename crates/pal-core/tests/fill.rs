//! fill_kv_pages on the CPU: every new element lands exactly where SPEC §2 puts it, nothing
//! else changes.

mod common;

use common::*;
use pal_core::{
    fill_kv_pages, CacheLayout, DType, FillInputs, FillOptions, FloatElement, KvDestination, TensorView, TensorViewMut,
};
use proptest::prelude::*;

/// Destination of each token: `Some((page, slot))` or skipped.
type Targets = Vec<Option<(usize, usize)>>;

/// One fill: new tokens of sequences `token_to_seq` at `positions`, into pools of `heads` KV
/// heads of `head_dim` on pages of `page_size`; through a slot mapping when `slot_mapping`.
struct Fill {
    layout: CacheLayout,
    heads: usize,
    head_dim: usize,
    page_size: usize,
    token_to_seq: Vec<i32>,
    positions: Vec<i32>,
    slot_mapping: bool,
}

struct Pools<T> {
    k: Vec<T>,
    v: Vec<T>,
    k_shape: Vec<usize>,
    v_shape: Vec<usize>,
}

fn pools<T: FloatElement>(rng: &mut TestRng, case: &Fill, pages: usize) -> Pools<T> {
    let (layout, heads, d, page_size) = (case.layout, case.heads, case.head_dim, case.page_size);
    let k_shape = pal_core::k_cache_shape(pages, heads, d, page_size, T::DTYPE, layout).unwrap();
    let v_shape = pal_core::v_cache_shape(pages, heads, d, page_size, T::DTYPE, layout).unwrap();
    let n = pages * heads * d * page_size;
    Pools {
        k: random_values(rng, n).0,
        v: random_values(rng, n).0,
        k_shape,
        v_shape,
    }
}

/// The pools as the reference expects them after writing `targets`.
fn expected<T: FloatElement>(
    pools: &Pools<T>,
    case: &Fill,
    keys: &[T],
    values: &[T],
    targets: &Targets,
) -> (Vec<T>, Vec<T>) {
    let (layout, heads, d, page_size) = (case.layout, case.heads, case.head_dim, case.page_size);
    let (mut k, mut v) = (pools.k.clone(), pools.v.clone());
    for (t, target) in targets.iter().enumerate() {
        let Some((page, slot)) = *target else { continue };
        for h in 0..heads {
            for dim in 0..d {
                let src = (t * heads + h) * d + dim;
                k[pool_index(layout, true, T::DTYPE, (heads, d, page_size), (page, h, slot, dim))] = keys[src];
                v[pool_index(layout, false, T::DTYPE, (heads, d, page_size), (page, h, slot, dim))] = values[src];
            }
        }
    }
    (k, v)
}

fn bits<T: FloatElement>(data: &[T]) -> Vec<u32> {
    data.iter().map(|x| x.to_f32().to_bits()).collect()
}

/// Fills `positions` of sequences `token_to_seq` (each sequence on shuffled pages) or the same
/// tokens through a slot mapping with some skipped; compares the pools bit for bit.
fn run<T: FloatElement>(case: &Fill, seed: u64) {
    let (layout, heads, d, page_size) = (case.layout, case.heads, case.head_dim, case.page_size);
    let (token_to_seq, positions, slot_mapping) = (&case.token_to_seq, &case.positions, case.slot_mapping);
    let mut rng = TestRng::new(seed);
    let num_seqs = token_to_seq.iter().max().map_or(1, |&s| s as usize + 1);
    let pages_per_sequence = positions.iter().max().map_or(1, |&p| p as usize / page_size + 1);
    let num_pages = num_seqs * pages_per_sequence + 2;
    let mut free: Vec<i32> = (0..num_pages as i32).collect();
    rng.shuffle(&mut free);
    let page_table: Vec<i32> = free[..num_seqs * pages_per_sequence].to_vec();
    let mut pools = pools::<T>(&mut rng, case, num_pages);
    let t = positions.len();
    let (keys, _) = random_values::<T>(&mut rng, t * heads * d);
    let (values, _) = random_values::<T>(&mut rng, t * heads * d);

    let destinations: Vec<(usize, usize)> = positions
        .iter()
        .zip(token_to_seq)
        .map(|(&p, &s)| {
            (
                page_table[s as usize * pages_per_sequence + p as usize / page_size] as usize,
                p as usize % page_size,
            )
        })
        .collect();
    // The slot-mapping form also skips every fifth token (vLLM padding: slot -1).
    let targets: Targets = destinations
        .iter()
        .enumerate()
        .map(|(i, &target)| (!(slot_mapping && i % 5 == 3)).then_some(target))
        .collect();
    let slots: Vec<i32> = targets
        .iter()
        .map(|target| target.map_or(-1, |(page, slot)| (page * page_size + slot) as i32))
        .collect();
    let (want_k, want_v) = expected(&pools, case, &keys, &values, &targets);

    let destination = if slot_mapping {
        KvDestination::SlotMapping(TensorView::from_slice(&slots, &[t]).unwrap())
    } else {
        KvDestination::Positions {
            page_table: TensorView::from_slice(&page_table, &[num_seqs, pages_per_sequence]).unwrap(),
            positions: TensorView::from_slice(positions, &[t]).unwrap(),
            token_to_seq: TensorView::from_slice(token_to_seq, &[t]).unwrap(),
        }
    };
    let inputs = FillInputs {
        new_keys: TensorView::from_slice(&keys, &[t, heads, d]).unwrap(),
        new_values: TensorView::from_slice(&values, &[t, heads, d]).unwrap(),
        destination,
        kv_scales: Default::default(),
    };
    fill_kv_pages(
        &inputs,
        &mut TensorViewMut::from_slice(&mut pools.k, &pools.k_shape.clone()).unwrap(),
        &mut TensorViewMut::from_slice(&mut pools.v, &pools.v_shape.clone()).unwrap(),
        &FillOptions {
            layout,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(bits(&pools.k), bits(&want_k), "k_cache {layout} {}", T::DTYPE);
    assert_eq!(bits(&pools.v), bits(&want_v), "v_cache {layout} {}", T::DTYPE);
}

fn check(case: &Fill, dtype: DType, seed: u64) {
    for_dtype!(dtype, T => run::<T>(case, seed))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn writes_exactly_the_target_slots(
        layout in prop::sample::select(CacheLayout::ALL.to_vec()),
        dtype in prop::sample::select(FLOAT_DTYPES.to_vec()),
        heads in 1usize..4,
        head_dim in prop::sample::select(vec![16usize, 32, 64, 128]),
        page_size in 1usize..=32,
        lens in prop::collection::vec(0usize..60, 1..4),
        slot_mapping in any::<bool>(),
        seed in any::<u64>(),
    ) {
        // Each sequence appends `len` tokens after a random-length prefix, like a prefill chunk.
        let (mut token_to_seq, mut positions) = (Vec::new(), Vec::new());
        for (s, &len) in lens.iter().enumerate() {
            let offset = (seed as usize >> (s * 8)) % 40;
            token_to_seq.extend(std::iter::repeat_n(s as i32, len));
            positions.extend((offset..offset + len).map(|p| p as i32));
        }
        let case = Fill { layout, heads, head_dim, page_size, token_to_seq, positions, slot_mapping };
        check(&case, dtype, seed);
    }
}

#[test]
fn many_tokens_of_one_sequence_across_page_boundaries() {
    for layout in CacheLayout::ALL {
        let case = Fill {
            layout,
            heads: 2,
            head_dim: 64,
            page_size: 16,
            token_to_seq: vec![0; 65],
            positions: (5..70).collect(),
            slot_mapping: false,
        };
        check(&case, DType::BF16, 1);
    }
}

#[test]
fn one_token_of_many_sequences() {
    for layout in CacheLayout::ALL {
        for (dtype, slot_mapping, seed) in [(DType::F32, false, 2), (DType::F16, true, 3)] {
            let case = Fill {
                layout,
                heads: 4,
                head_dim: 32,
                page_size: 8,
                token_to_seq: (0..9).collect(),
                positions: (0..9).map(|s| s * 7 % 20).collect(),
                slot_mapping,
            };
            check(&case, dtype, seed);
        }
    }
}
