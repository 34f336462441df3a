//! PAL from Rust on device buffers the caller owns, launched on the caller's own stream: fills a
//! paged bfloat16 cache on the GPU, decodes, and checks the result against PAL's CPU backend on
//! the same data. No Python and no torch; the buffers come from the CUDA driver API (cudarc).
//!
//! Run on a machine with an NVIDIA GPU and NVRTC:
//! `cargo run --release -p pal-core --example cuda_decode`.

use cudarc::driver::{result, sys};
use half::bf16;
use pal_core::{
    fill_kv_pages, k_cache_shape, paged_attention_decode, v_cache_shape, AttentionOptions, CacheLayout, DType,
    DecodeInputs, Device, Execution, FillInputs, FillOptions, KvDestination, TableCheck, TensorView, TensorViewMut,
};

/// A device copy of a host slice, freed on drop.
struct DeviceBuffer {
    address: sys::CUdeviceptr,
    bytes: usize,
}

impl DeviceBuffer {
    fn from_host<T>(data: &[T]) -> Self {
        let bytes = std::mem::size_of_val(data).max(1);
        // SAFETY: plain allocation and copy in the current context; sizes match.
        unsafe {
            let address = result::malloc_sync(bytes).expect("cuMemAlloc");
            result::memcpy_htod_sync(address, data).expect("copy to device");
            Self { address, bytes }
        }
    }

    fn to_host<T: Default + Clone>(&self, len: usize) -> Vec<T> {
        let mut host = vec![T::default(); len];
        assert!(std::mem::size_of_val(host.as_slice()) <= self.bytes);
        // SAFETY: the buffer holds at least `len` elements of T.
        unsafe { result::memcpy_dtoh_sync(&mut host, self.address).expect("copy to host") };
        host
    }

    /// # Safety
    /// The buffer must hold `shape` elements of `dtype`.
    unsafe fn view(&self, dtype: DType, shape: &[usize]) -> TensorView<'_> {
        TensorView::from_raw_parts(self.address as *const u8, dtype, shape, Device::Cuda(0))
    }

    /// # Safety
    /// As [`Self::view`], and nothing else uses the buffer meanwhile.
    unsafe fn view_mut(&self, dtype: DType, shape: &[usize]) -> TensorViewMut<'_> {
        TensorViewMut::from_raw_parts(self.address as *mut u8, dtype, shape, Device::Cuda(0))
    }
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        // SAFETY: allocated by `from_host`, freed once.
        unsafe { result::free_sync(self.address).ok() };
    }
}

fn main() -> pal_core::Result<()> {
    result::init().expect("no CUDA driver");
    // SAFETY: device 0's primary context, retained for the whole program (as PAL does).
    unsafe {
        let context = result::primary_ctx::retain(result::device::get(0).expect("no GPU")).expect("context");
        result::ctx::set_current(context).expect("set context");
    }
    let stream = result::stream::create(result::stream::StreamKind::NonBlocking).expect("stream") as usize;

    let (seqs, q_heads, kv_heads, head_dim, page_size, layout) = (4usize, 32, 8, 128, 16, CacheLayout::Pal);
    let seq_lens = [3000i32, 1, 517, 4096];
    let pages_per_seq = 4096 / page_size;
    let num_pages = seqs * pages_per_seq;
    let k_shape = k_cache_shape(num_pages, kv_heads, head_dim, page_size, DType::BF16, layout)?;
    let v_shape = v_cache_shape(num_pages, kv_heads, head_dim, page_size, DType::BF16, layout)?;
    let value = |i: usize| bf16::from_f32(((i.wrapping_mul(2_654_435_761) >> 7) % 2001) as f32 / 1000.0 - 1.0);

    // Pages interleaved between sequences, new tokens given by position.
    let page_table: Vec<i32> = (0..seqs * pages_per_seq)
        .map(|i| ((i % pages_per_seq) * seqs + i / pages_per_seq) as i32)
        .collect();
    let (mut positions, mut token_to_seq) = (Vec::new(), Vec::new());
    for (b, &len) in seq_lens.iter().enumerate() {
        positions.extend(0..len);
        token_to_seq.extend(std::iter::repeat_n(b as i32, len as usize));
    }
    let tokens = positions.len();
    let keys: Vec<bf16> = (0..tokens * kv_heads * head_dim).map(value).collect();
    let values: Vec<bf16> = (0..tokens * kv_heads * head_dim).map(|i| value(i + 7)).collect();
    let queries: Vec<bf16> = (0..seqs * q_heads * head_dim).map(|i| value(i + 11)).collect();
    let empty_pool = vec![bf16::ZERO; k_shape.iter().product()];

    let device = |data: &[i32]| DeviceBuffer::from_host(data);
    let (d_keys, d_values, d_queries) = (
        DeviceBuffer::from_host(&keys),
        DeviceBuffer::from_host(&values),
        DeviceBuffer::from_host(&queries),
    );
    let (d_k_pool, d_v_pool) = (
        DeviceBuffer::from_host(&empty_pool),
        DeviceBuffer::from_host(&empty_pool),
    );
    let (d_table, d_positions, d_seqs, d_lens) = (
        device(&page_table),
        device(&positions),
        device(&token_to_seq),
        device(&seq_lens),
    );
    let d_out = DeviceBuffer::from_host(&queries);
    let execution = Execution {
        stream,
        check: TableCheck::Immediate,
    };
    let kv_shape = [tokens, kv_heads, head_dim];
    let q_shape = [seqs, q_heads, head_dim];

    // SAFETY: every view matches its buffer's contents, and the buffers outlive the calls.
    unsafe {
        fill_kv_pages(
            &FillInputs {
                new_keys: d_keys.view(DType::BF16, &kv_shape),
                new_values: d_values.view(DType::BF16, &kv_shape),
                destination: KvDestination::Positions {
                    page_table: d_table.view(DType::I32, &[seqs, pages_per_seq]),
                    positions: d_positions.view(DType::I32, &[tokens]),
                    token_to_seq: d_seqs.view(DType::I32, &[tokens]),
                },
                kv_scales: Default::default(),
            },
            &mut d_k_pool.view_mut(DType::BF16, &k_shape),
            &mut d_v_pool.view_mut(DType::BF16, &v_shape),
            &FillOptions { layout, execution },
        )?;
        paged_attention_decode(
            &DecodeInputs {
                queries: d_queries.view(DType::BF16, &q_shape),
                k_cache: d_k_pool.view(DType::BF16, &k_shape),
                v_cache: d_v_pool.view(DType::BF16, &v_shape),
                page_table: d_table.view(DType::I32, &[seqs, pages_per_seq]),
                seq_lens: d_lens.view(DType::I32, &[seqs]),
                alibi_slopes: None,
                sinks: None,
                kv_scales: Default::default(),
            },
            &mut d_out.view_mut(DType::BF16, &q_shape),
            &AttentionOptions {
                layout,
                execution,
                ..Default::default()
            },
        )?;
        result::stream::synchronize(stream as sys::CUstream).expect("stream sync");
    }

    // The same calls on the host, through PAL's CPU backend.
    let (mut k_pool, mut v_pool) = (empty_pool.clone(), empty_pool);
    fill_kv_pages(
        &FillInputs {
            new_keys: TensorView::from_slice(&keys, &kv_shape)?,
            new_values: TensorView::from_slice(&values, &kv_shape)?,
            destination: KvDestination::Positions {
                page_table: TensorView::from_slice(&page_table, &[seqs, pages_per_seq])?,
                positions: TensorView::from_slice(&positions, &[tokens])?,
                token_to_seq: TensorView::from_slice(&token_to_seq, &[tokens])?,
            },
            kv_scales: Default::default(),
        },
        &mut TensorViewMut::from_slice(&mut k_pool, &k_shape)?,
        &mut TensorViewMut::from_slice(&mut v_pool, &v_shape)?,
        &FillOptions {
            layout,
            ..Default::default()
        },
    )?;
    let mut expected = vec![bf16::ZERO; queries.len()];
    paged_attention_decode(
        &DecodeInputs {
            queries: TensorView::from_slice(&queries, &q_shape)?,
            k_cache: TensorView::from_slice(&k_pool, &k_shape)?,
            v_cache: TensorView::from_slice(&v_pool, &v_shape)?,
            page_table: TensorView::from_slice(&page_table, &[seqs, pages_per_seq])?,
            seq_lens: TensorView::from_slice(&seq_lens, &[seqs])?,
            alibi_slopes: None,
            sinks: None,
            kv_scales: Default::default(),
        },
        &mut TensorViewMut::from_slice(&mut expected, &q_shape)?,
        &AttentionOptions {
            layout,
            ..Default::default()
        },
    )?;

    assert!(
        d_k_pool.to_host::<bf16>(k_pool.len()) == k_pool,
        "GPU fill differs from CPU fill"
    );
    let out: Vec<bf16> = d_out.to_host(queries.len());
    let worst = out
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a.to_f32() - b.to_f32()).abs())
        .fold(0f32, f32::max);
    println!(
        "GPU fill == CPU fill; decode of {seqs} sequences on a caller-owned stream: max |GPU - CPU| = {worst:.2e}"
    );
    assert!(worst < 2e-2, "GPU decode differs from CPU decode");
    Ok(())
}
