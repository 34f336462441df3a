//! One GPU: its primary context (the one torch uses), its compiled kernels and its workspace.
//! Handles live for the whole process.

use std::collections::{HashMap, HashSet};
use std::ffi::{c_void, CString};
use std::sync::{Mutex, OnceLock};

use cudarc::driver::{result, sys};

use super::driver_error;
use super::jit::{self, KernelKey};
use crate::error::{Error, Result};
use crate::host_profile::Stage;

/// A driver handle that may cross threads: the driver API is thread-safe for these handles.
#[derive(Clone, Copy)]
struct Handle<T>(T);
// SAFETY: contexts, modules and functions are process-wide driver objects, usable from any thread.
unsafe impl<T> Send for Handle<T> {}
unsafe impl<T> Sync for Handle<T> {}

pub(crate) struct Gpu {
    context: Handle<sys::CUcontext>,
    /// (major, minor) compute capability.
    pub arch: (i32, i32),
    pub multiprocessors: usize,
    /// L2 cache size in bytes.
    pub l2_bytes: usize,
    modules: Mutex<HashMap<KernelKey, Module>>,
    /// Grow-only scratch memory (split-KV partial states), see `Gpu::workspace`.
    workspaces: Mutex<Workspaces>,
    /// Where kernels report invalid table entries (`pal::TableErrors`).
    table_errors: TableErrorBuffers,
    /// The persistent prefill's item counters.
    schedule: Mutex<ScheduleSlots>,
}

/// Item counters of the persistent prefill (`pal::PrefillParams::schedule`): two 32-bit words a
/// slot, zeroed once, left zeroed by each launch's last CTA. Launches that may overlap must not
/// share a slot: each stream keeps one (its launches run in order) and each launch captured into
/// a CUDA graph takes its own (replays of one graph run in order, but two graphs may replay on
/// two streams at once). A stream's slot is never handed out again; past `SCHEDULE_SLOTS`
/// captures, captured launches reuse the other slots in turn (slots cannot grow: memory may not
/// be allocated while a stream is being captured).
struct ScheduleSlots {
    base: Handle<sys::CUdeviceptr>,
    table: SlotTable,
}

const SCHEDULE_SLOTS: usize = 65536;

/// A stream as launches name it: its handle, and the calling thread for the per-thread default
/// stream (handle 2), which is one handle for many streams.
type StreamKey = (usize, Option<std::thread::ThreadId>);

/// Which slot each launch takes (see `ScheduleSlots`).
#[derive(Default)]
struct SlotTable {
    by_stream: HashMap<StreamKey, usize>,
    kept: HashSet<usize>,
    next: usize,
}

impl SlotTable {
    /// The slot of a launch on `stream`, or of a captured launch (`None`): a fresh one, which
    /// skips the slots streams keep. Once every slot is a stream's, streams share them in turn.
    fn take(&mut self, stream: Option<StreamKey>) -> usize {
        if let Some(&slot) = stream.as_ref().and_then(|key| self.by_stream.get(key)) {
            return slot;
        }
        let mut slot = self.next % SCHEDULE_SLOTS;
        for _ in 0..SCHEDULE_SLOTS {
            if !self.kept.contains(&slot) {
                break;
            }
            self.next += 1;
            slot = self.next % SCHEDULE_SLOTS;
        }
        self.next += 1;
        if let Some(key) = stream {
            self.by_stream.insert(key, slot);
            self.kept.insert(slot);
        }
        slot
    }
}

/// Split-KV scratch memory for launches run now: a buffer (address, size) per stream.
#[derive(Default)]
struct Workspaces {
    by_stream: HashMap<StreamKey, Option<(Handle<sys::CUdeviceptr>, usize)>>,
}

/// The split-KV scratch memory of one call (`Gpu::workspace`): its stream's buffer, or, for a
/// call captured into a CUDA graph, an allocation of that graph's own (a memory node), which
/// `release` frees in the graph once the call's last launch is queued.
pub struct Workspace {
    pub address: sys::CUdeviceptr,
    captured_on: Option<usize>,
}

impl Workspace {
    /// No scratch memory (a call that does not split).
    pub const NONE: Workspace = Workspace {
        address: 0,
        captured_on: None,
    };

    /// Frees a captured call's allocation on its stream, after the launches that use it (a
    /// stream's buffer stays for its next call).
    pub fn release(mut self, op: &'static str) -> Result<()> {
        self.free()
            .map_err(|e| driver_error(op, "cuMemFreeAsync (workspace)", e))
    }

    /// The captured allocation freed on its stream, once (taken), and nothing otherwise.
    fn free(&mut self) -> std::result::Result<(), cudarc::driver::DriverError> {
        match self.captured_on.take() {
            // SAFETY: allocated on this capturing stream by `Gpu::workspace`, freed once.
            Some(stream) => unsafe { result::free_async(self.address, stream as sys::CUstream) },
            None => Ok(()),
        }
    }
}

impl Drop for Workspace {
    /// A call that failed between its allocation and `release` still frees it in its graph (a
    /// failure here leaves the capture to report it).
    fn drop(&mut self) {
        let _ = self.free();
    }
}

/// At least `bytes` in `buffer`: the buffer itself, or a larger one that replaces it. The one it
/// outgrows is never freed: launches still queued keep its address (split states need a few
/// MiB, so the buffers left behind stay small).
fn grown(
    op: &'static str,
    buffer: &mut Option<(Handle<sys::CUdeviceptr>, usize)>,
    bytes: usize,
) -> Result<sys::CUdeviceptr> {
    if let Some((pointer, size)) = *buffer {
        if size >= bytes {
            return Ok(pointer.0);
        }
    }
    let size = bytes.next_power_of_two().max(1 << 20);
    // SAFETY: a plain device allocation in the current (this GPU's) context.
    let pointer = unsafe { result::malloc_sync(size) }.map_err(|e| driver_error(op, "cuMemAlloc (workspace)", e))?;
    *buffer = Some((Handle(pointer), size));
    Ok(pointer)
}

/// Whether `stream` is being captured into a CUDA graph; a failed query counts as a capture.
fn capturing(stream: usize) -> bool {
    let mut status = sys::CUstreamCaptureStatus::CU_STREAM_CAPTURE_STATUS_NONE;
    // SAFETY: queries a stream handle the caller passed for its launch.
    let queried = unsafe { sys::cuStreamIsCapturing(stream as sys::CUstream, &mut status) }.result();
    queried.is_err() || status != sys::CUstreamCaptureStatus::CU_STREAM_CAPTURE_STATUS_NONE
}

/// A stream as `SlotTable` and `Workspaces` key it.
fn stream_key(stream: usize) -> StreamKey {
    (stream, (stream == 2).then(|| std::thread::current().id()))
}

/// The claim word (device memory) and the record (pinned host memory mapped into the device)
/// behind `pal::TableErrors`; allocated once per GPU and never freed.
struct TableErrorBuffers {
    claim: Handle<sys::CUdeviceptr>,
    record_host: Handle<*mut TableErrorRecord>,
    record_device: Handle<sys::CUdeviceptr>,
}

/// Mirror of `pal::TableErrors` (part of every kernel's parameters).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct TableErrors {
    claim: u64,
    record: u64,
}

/// Mirror of `pal::TableErrorRecord`: kind (0: none; written last), row, index, value, op.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TableErrorRecord {
    pub kind: i32,
    pub row: i32,
    pub index: i32,
    pub value: i32,
    pub op: i32,
}

/// The GPU with this ordinal (initialised once per process), its context current on the
/// calling thread for as long as the returned guard lives.
pub(crate) fn gpu(op: &'static str, ordinal: usize) -> Result<BoundGpu> {
    static GPUS: OnceLock<Mutex<HashMap<usize, &'static Gpu>>> = OnceLock::new();
    // The caller's context, read once the driver is known to be there (an opened GPU proves it).
    let current = || result::ctx::get_current().ok().flatten();
    let (gpu, previous) = {
        let mut gpus = GPUS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match gpus.get(&ordinal) {
            Some(&gpu) => (gpu, current()),
            None => {
                require_driver()?;
                let previous = current();
                let gpu: &'static Gpu = Box::leak(Box::new(Gpu::open(op, ordinal)?));
                gpus.insert(ordinal, gpu);
                (gpu, previous)
            }
        }
    };
    let bound = BoundGpu {
        gpu,
        previous: previous.map(Handle),
    };
    // Usually the caller's context already is this GPU's (torch's current device).
    if previous != Some(gpu.context.0) {
        gpu.bind(op)?;
    }
    Ok(bound)
}

/// The driver library must load before any driver call (cudarc panics otherwise).
fn require_driver() -> Result<()> {
    // SAFETY: only probes whether the shared library can be loaded.
    let present = unsafe { sys::is_culib_present() };
    super::require_library(present, "the CUDA driver library (libcuda.so.1) was not found")
}

/// A GPU whose context is current on this thread until the guard drops; then the thread's
/// previous context is current again, so a call on cuda:1 leaves the caller's current device
/// (torch's cuda:0, say) as it found it.
pub(crate) struct BoundGpu {
    gpu: &'static Gpu,
    previous: Option<Handle<sys::CUcontext>>,
}

impl std::ops::Deref for BoundGpu {
    type Target = Gpu;
    fn deref(&self) -> &Gpu {
        self.gpu
    }
}

impl Drop for BoundGpu {
    fn drop(&mut self) {
        if let Some(previous) = &self.previous {
            if previous.0 != self.gpu.context.0 {
                // SAFETY: the context that was current when the guard was made; a context is
                // only destroyed by its owner, which made it current and is still running.
                let _ = unsafe { result::ctx::set_current(previous.0) };
            }
        }
    }
}

impl Gpu {
    fn open(op: &'static str, ordinal: usize) -> Result<Self> {
        let unavailable = |what: &str, e: cudarc::driver::DriverError| Error::BackendUnavailable {
            backend: "cuda",
            reason: format!("{what} failed ({e:?}): no usable GPU cuda:{ordinal}"),
        };
        result::init().map_err(|e| unavailable("cuInit", e))?;
        let device = result::device::get(ordinal as i32).map_err(|e| unavailable("cuDeviceGet", e))?;
        // SAFETY: `device` is a valid device handle; the primary context is retained for the
        // life of the process, as torch does.
        let context =
            unsafe { result::primary_ctx::retain(device) }.map_err(|e| driver_error(op, "retain context", e))?;
        // SAFETY: a retained, valid context.
        unsafe { result::ctx::set_current(context) }.map_err(|e| driver_error(op, "set context", e))?;
        let attribute = |a| {
            // SAFETY: valid device and attribute enum.
            unsafe { result::device::get_attribute(device, a) }.map_err(|e| driver_error(op, "cuDeviceGetAttribute", e))
        };
        use sys::CUdevice_attribute::*;
        let arch = (
            attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?,
            attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?,
        );
        if arch.0 < 8 {
            return Err(Error::BackendUnavailable {
                backend: "cuda",
                reason: format!(
                    "PAL's kernels need compute capability 8.0 or newer, cuda:{ordinal} has {}.{}",
                    arch.0, arch.1
                ),
            });
        }
        let table_errors = TableErrorBuffers::allocate(op)?;
        let schedule_bytes = SCHEDULE_SLOTS * 8;
        // SAFETY: a plain allocation in this GPU's context, zeroed before any kernel uses it.
        let schedule = unsafe {
            let base = result::malloc_sync(schedule_bytes).map_err(|e| driver_error(op, "cuMemAlloc (schedule)", e))?;
            result::memset_d8_sync(base, 0, schedule_bytes).map_err(|e| driver_error(op, "cuMemsetD8", e))?;
            base
        };
        Ok(Self {
            context: Handle(context),
            arch,
            multiprocessors: attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)? as usize,
            l2_bytes: attribute(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE)? as usize,
            modules: Mutex::default(),
            workspaces: Mutex::default(),
            table_errors,
            schedule: Mutex::new(ScheduleSlots {
                base: Handle(schedule),
                table: SlotTable::default(),
            }),
        })
    }

    /// Makes this GPU's context current on the calling thread.
    pub fn bind(&self, op: &'static str) -> Result<()> {
        // SAFETY: the context was retained in `open` and is never released.
        unsafe { result::ctx::set_current(self.context.0) }.map_err(|e| driver_error(op, "set context", e))
    }

    /// The kernels' table-error pointers: null unless `report` (deferred checking).
    pub fn table_errors(&self, report: bool) -> TableErrors {
        let buffers = &self.table_errors;
        match report {
            true => TableErrors {
                claim: buffers.claim.0,
                record: buffers.record_device.0,
            },
            false => TableErrors { claim: 0, record: 0 },
        }
    }

    /// The invalid entry an earlier kernel on this GPU reported, if any, clearing the report
    /// (the claim word is reset on `stream`, after the work already queued there).
    pub fn take_table_error(&self, op: &'static str, stream: usize) -> Result<Option<TableErrorRecord>> {
        let buffers = &self.table_errors;
        // SAFETY: the record is pinned host memory owned by this GPU for the whole process; the
        // kernel writes `kind` last, after a system fence, so a nonzero kind means a whole record.
        let record = unsafe {
            let record = buffers.record_host.0;
            if std::ptr::read_volatile(&(*record).kind) == 0 {
                return Ok(None);
            }
            std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
            let seen = std::ptr::read_volatile(record);
            std::ptr::write_volatile(record, TableErrorRecord::default());
            seen
        };
        // SAFETY: a 4-byte device allocation of this context; the stream is the caller's.
        unsafe { result::memset_d8_async(buffers.claim.0, 0, 4, stream as sys::CUstream) }
            .map_err(|e| driver_error(op, "clearing the table-error claim", e))?;
        Ok(Some(record))
    }

    /// Kernel `name` of the module `key`, compiled (or read from the disk cache) and loaded on
    /// first use; its dynamic shared-memory limit is raised then, once, when the key asks for
    /// more than the default.
    pub fn function(&self, op: &'static str, key: &KernelKey, name: &'static str) -> Result<sys::CUfunction> {
        self.with_module(op, key, |module| module.function(op, key, name).map(|f| f.0))
    }

    /// Kernel `name` of `key`, as [`Self::function`], and the CTAs of it that fit on one
    /// multiprocessor with `threads` threads and the key's dynamic shared memory (at least 1),
    /// asked of the driver once per kernel: one lookup for both.
    pub fn function_and_occupancy(
        &self,
        op: &'static str,
        key: &KernelKey,
        name: &'static str,
        threads: u32,
    ) -> Result<(sys::CUfunction, usize)> {
        self.with_module(op, key, |module| {
            let function = module.function(op, key, name)?;
            if let Some(&(_, ctas)) = module.occupancy.iter().find(|(n, _)| *n == name) {
                return Ok((function.0, ctas));
            }
            let shared = key.shape_value("SHARED_BYTES").unwrap_or(0);
            // SAFETY: a loaded function; block size and shared memory as it will be launched.
            let ctas =
                unsafe { result::occupancy::max_active_block_per_multiprocessor(function.0, threads as i32, shared) }
                    .map_err(|e| driver_error(op, "cuOccupancyMaxActiveBlocksPerMultiprocessor", e))?;
            let ctas = (ctas as usize).max(1);
            module.occupancy.push((name, ctas));
            Ok((function.0, ctas))
        })
    }

    /// How many clusters of `cluster_z` CTAs of kernel `name` of `key` (`threads` threads, the
    /// key's dynamic shared memory) this GPU runs at once (0: none, or before Hopper): asked of
    /// the driver once per size. Clusters over 8 CTAs (the portable limit) are allowed on each
    /// function where it loads.
    pub fn active_clusters(
        &self,
        op: &'static str,
        key: &KernelKey,
        name: &'static str,
        threads: u32,
        cluster_z: u32,
    ) -> Result<usize> {
        if self.arch.0 < 9 {
            return Ok(0);
        }
        self.with_module(op, key, |module| {
            if let Some(&(_, _, count)) = module.clusters.iter().find(|&&(n, z, _)| n == name && z == cluster_z) {
                return Ok(count);
            }
            let function = module.function(op, key, name)?;
            let shape = LaunchShape {
                blocks: (1, 1, cluster_z),
                threads,
                shared_bytes: key.shape_value("SHARED_BYTES").unwrap_or(0) as u32,
                dependent: false,
                cluster_z,
            };
            let mut attributes = launch_attributes(false, cluster_z);
            let config = launch_config(&shape, 0, &mut attributes);
            let mut clusters = 0;
            // SAFETY: a loaded function and a launch configuration as it would be launched; a
            // driver that refuses the question answers none.
            let count = match unsafe { sys::cuOccupancyMaxActiveClusters(&mut clusters, function.0, &config) }.result()
            {
                Ok(()) => clusters.max(0) as usize,
                Err(_) => 0,
            };
            module.clusters.push((name, cluster_z, count));
            Ok(count)
        })
    }

    fn with_module<R>(
        &self,
        op: &'static str,
        key: &KernelKey,
        then: impl FnOnce(&mut Module) -> Result<R>,
    ) -> Result<R> {
        let mut modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(module) = modules.get_mut(key) {
            return then(module);
        }
        let module = Module::load(op, key, self.arch)?;
        then(modules.entry(key.clone()).or_insert(module))
    }

    /// The item counter of a persistent prefill launched on `stream` now (see `ScheduleSlots`).
    /// A failed capture query counts as a capture (a fresh slot), never as a shared one.
    pub fn schedule_counter(&self, stream: usize) -> u64 {
        let captured = capturing(stream);
        let mut slots = self.schedule.lock().unwrap_or_else(|e| e.into_inner());
        let slot = slots.table.take((!captured).then(|| stream_key(stream)));
        slots.base.0 + 8 * slot as u64
    }

    /// At least `bytes` of device scratch memory for a call on `stream`: the stream's own
    /// buffer, reused across calls (calls that split may overlap on two streams; it only grows,
    /// when a call needs more than any before it), or, for a call captured into a CUDA graph,
    /// a stream-ordered allocation, which the capture records as the graph's own memory node
    /// (so graphs replayed on several streams at once never share scratch memory, and nothing
    /// is allocated outside the graph). Queue the call's launches, then `release` it.
    pub fn workspace(&self, op: &'static str, stream: usize, bytes: usize) -> Result<Workspace> {
        if capturing(stream) {
            // SAFETY: a stream-ordered allocation on the capturing stream; `Workspace` frees it
            // on the same stream after the launches that use it.
            let address = unsafe { result::malloc_async(stream as sys::CUstream, bytes) }
                .map_err(|e| driver_error(op, "cuMemAllocAsync (captured workspace)", e))?;
            return Ok(Workspace {
                address,
                captured_on: Some(stream),
            });
        }
        let mut workspaces = self.workspaces.lock().unwrap_or_else(|e| e.into_inner());
        let address = grown(op, workspaces.by_stream.entry(stream_key(stream)).or_default(), bytes)?;
        Ok(Workspace {
            address,
            captured_on: None,
        })
    }
}

impl TableErrorBuffers {
    fn allocate(op: &'static str) -> Result<Self> {
        let bytes = std::mem::size_of::<TableErrorRecord>();
        // SAFETY: plain allocations in the current (this GPU's) context, zeroed before use; the
        // host record is mapped into the device (CU_MEMHOSTALLOC_DEVICEMAP) and never freed.
        unsafe {
            let claim = result::malloc_sync(256).map_err(|e| driver_error(op, "cuMemAlloc (table errors)", e))?;
            result::memset_d8_sync(claim, 0, 256).map_err(|e| driver_error(op, "cuMemsetD8", e))?;
            let host = result::malloc_host(bytes, sys::CU_MEMHOSTALLOC_DEVICEMAP)
                .map_err(|e| driver_error(op, "cuMemHostAlloc (table errors)", e))?
                .cast::<TableErrorRecord>();
            std::ptr::write_volatile(host, TableErrorRecord::default());
            let mut device = 0;
            sys::cuMemHostGetDevicePointer_v2(&mut device, host.cast(), 0)
                .result()
                .map_err(|e| driver_error(op, "cuMemHostGetDevicePointer", e))?;
            Ok(Self {
                claim: Handle(claim),
                record_host: Handle(host),
                record_device: Handle(device),
            })
        }
    }
}

/// A loaded kernel module: its kernels and their measured occupancy.
struct Module {
    functions: Vec<(&'static str, Handle<sys::CUfunction>)>,
    occupancy: Vec<(&'static str, usize)>,
    /// (function, cluster size, clusters at once): `Gpu::active_clusters`'s answers.
    clusters: Vec<(&'static str, u32, usize)>,
}

impl Module {
    fn load(op: &'static str, key: &KernelKey, arch: (i32, i32)) -> Result<Self> {
        let image = jit::image_for(op, key, arch)?;
        // SAFETY: `image` is a CUBIN; the module stays loaded for the process.
        let module = unsafe { result::module::load_data(image.as_ptr().cast::<c_void>()) }.map_err(|e| {
            use sys::cudaError_enum::{
                CUDA_ERROR_INVALID_IMAGE, CUDA_ERROR_NO_BINARY_FOR_GPU, CUDA_ERROR_UNSUPPORTED_PTX_VERSION,
            };
            if matches!(
                e.0,
                CUDA_ERROR_UNSUPPORTED_PTX_VERSION | CUDA_ERROR_INVALID_IMAGE | CUDA_ERROR_NO_BINARY_FOR_GPU
            ) {
                // NVRTC of a newer major version than the driver (NVRTC 13 under a CUDA 12
                // driver, say): its CUBINs do not load.
                let (major, minor) = jit::nvrtc_version();
                Error::BackendUnavailable {
                    backend: "cuda",
                    reason: format!(
                        "the driver cannot load code from NVRTC {major}.{minor} ({e:?}): use an NVRTC of the \
                         driver's CUDA major version (for a CUDA 12 driver, `pip install nvidia-cuda-nvrtc-cu12` \
                         and no libnvrtc.so.13 on the library path) or update the driver"
                    ),
                }
            } else {
                driver_error(op, &format!("loading {}", key.describe()), e)
            }
        })?;
        let shared = key.shape_value("SHARED_BYTES").unwrap_or(0);
        let mut functions = Vec::new();
        for &entry in key.family.entries() {
            let c_name = CString::new(entry).expect("kernel names have no NUL");
            // SAFETY: a loaded module and a NUL-terminated name.
            let function = unsafe { result::module::get_function(module, c_name) }
                .map_err(|e| driver_error(op, &format!("finding {entry} in {}", key.describe()), e))?;
            if shared > DEFAULT_SHARED_LIMIT as usize {
                use sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES as MAX_DYNAMIC_SHARED;
                // SAFETY: a loaded function; the size is what its launches will ask for.
                unsafe { result::function::set_function_attribute(function, MAX_DYNAMIC_SHARED, shared as i32) }
                    .map_err(|e| driver_error(op, &format!("allowing {shared} bytes of shared memory"), e))?;
            }
            if arch.0 >= 9 {
                use sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED as NON_PORTABLE;
                // SAFETY: a loaded function. Clusters up to 16 CTAs where the GPU has them (H100 /
                // H200); a driver that refuses leaves the portable 8, which `active_clusters` asks.
                let _ = unsafe { result::function::set_function_attribute(function, NON_PORTABLE, 1) };
            }
            functions.push((entry, Handle(function)));
        }
        Ok(Self {
            functions,
            occupancy: Vec::new(),
            clusters: Vec::new(),
        })
    }

    fn function(&self, op: &'static str, key: &KernelKey, name: &str) -> Result<Handle<sys::CUfunction>> {
        self.functions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, f)| f)
            .ok_or_else(|| Error::Internal {
                op,
                backend: "cuda",
                message: format!("{name} is not an entry of {}", key.describe()),
            })
    }
}

/// Copies a small device int32 tensor to the host on `stream` and waits for it.
pub(crate) fn read_i32(op: &'static str, address: *const u8, len: usize, stream: usize) -> Result<Vec<i32>> {
    let mut host = vec![0i32; len];
    if len == 0 {
        return Ok(host);
    }
    // SAFETY: `address` holds `len` int32 values on the current device (validated shape), and
    // the copy completes before `host` is read.
    unsafe {
        result::memcpy_dtoh_async(&mut host, address as sys::CUdeviceptr, stream as sys::CUstream)
            .map_err(|e| driver_error(op, "copying an index tensor to the host", e))?;
        result::stream::synchronize(stream as sys::CUstream).map_err(|e| driver_error(op, "stream sync", e))?;
    }
    Ok(host)
}

/// Mirror of `pal::TensorMap`: a `CUtensorMap`, what a kernel's tensor copies read.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub(crate) struct TensorMap([u64; 16]);

impl TensorMap {
    /// Where the kernel copies no tensor.
    pub const NONE: Self = Self([0; 16]);
}

/// A tensor map of the `dims.len()`-D tensor of `dtype` elements at device address `base`
/// (innermost dim first; `strides` in bytes for the outer dims), copied in boxes of `boxes`
/// elements; fp8 tensors are maps of bytes.
pub(crate) fn encode_tiled(
    op: &'static str,
    base: u64,
    dtype: crate::dtype::DType,
    swizzle: sys::CUtensorMapSwizzle,
    dims: &[u64],
    strides: &[u64],
    boxes: &[u32],
) -> Result<TensorMap> {
    use crate::dtype::DType;
    assert!(dims.len() == boxes.len() && strides.len() + 1 == dims.len() && dims.len() <= 5);
    let data_type = match dtype {
        DType::BF16 => sys::CUtensorMapDataType::CU_TENSOR_MAP_DATA_TYPE_BFLOAT16,
        DType::F16 => sys::CUtensorMapDataType::CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
        _ if dtype.size_in_bytes() == 1 => sys::CUtensorMapDataType::CU_TENSOR_MAP_DATA_TYPE_UINT8,
        other => unreachable!("no kernel copies {other:?} tensors by tensor copies"),
    };
    let steps = [1u32; 5];
    let mut map = sys::CUtensorMap { opaque: [0; 16] };
    // SAFETY: a host-side encoding into `map` from a device address (16-byte aligned, checked
    // with the other inputs) and its extents; nothing on the device is touched.
    unsafe {
        sys::cuTensorMapEncodeTiled(
            &mut map,
            data_type,
            dims.len() as u32,
            base as *mut c_void,
            dims.as_ptr(),
            strides.as_ptr(),
            boxes.as_ptr(),
            steps.as_ptr(),
            sys::CUtensorMapInterleave::CU_TENSOR_MAP_INTERLEAVE_NONE,
            swizzle,
            sys::CUtensorMapL2promotion::CU_TENSOR_MAP_L2_PROMOTION_NONE,
            sys::CUtensorMapFloatOOBfill::CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE,
        )
    }
    .result()
    .map_err(|e| driver_error(op, "cuTensorMapEncodeTiled", e))?;
    Ok(TensorMap(map.opaque))
}

/// Grid, block and dynamic shared memory of one launch, and whether it is a programmatic
/// dependent of the kernel before it on the stream (Hopper and newer): then its CTAs may start
/// once every CTA of that kernel has started (or triggered `griddepcontrol.launch_dependents`),
/// and must `griddepcontrol.wait` before they read what it wrote; the launch latency between the
/// two overlaps the first kernel's tail. In a CUDA graph the pair becomes a programmatic edge.
pub(crate) struct LaunchShape {
    pub blocks: (u32, u32, u32),
    pub threads: u32,
    /// Dynamic shared memory per block, in bytes.
    pub shared_bytes: u32,
    pub dependent: bool,
    /// CTAs of a cluster along the grid's z (Hopper and newer; 0 or 1: no cluster): all of
    /// `blocks.2` where set (`Gpu::active_clusters` says what schedules).
    pub cluster_z: u32,
}

impl LaunchShape {
    /// A launch without dynamic shared memory.
    pub fn new(blocks: (u32, u32, u32), threads: u32) -> Self {
        Self {
            blocks,
            threads,
            shared_bytes: 0,
            dependent: false,
            cluster_z: 0,
        }
    }
}

/// Above this much dynamic shared memory a kernel must opt in (CUDA's default limit).
const DEFAULT_SHARED_LIMIT: u32 = 48 * 1024;

/// The launch attributes `shape` asks for (the first `count` of them): a programmatic dependent
/// launch, a cluster of `cluster_z` CTAs along z.
struct LaunchAttributes {
    list: [sys::CUlaunchAttribute; 2],
    count: u32,
}

fn launch_attributes(dependent: bool, cluster_z: u32) -> LaunchAttributes {
    // SAFETY: plain C structs and unions, all-zero is a valid (empty) value.
    let mut list: [sys::CUlaunchAttribute; 2] = unsafe { std::mem::zeroed() };
    let mut count = 0;
    if dependent {
        list[count].id = sys::CUlaunchAttributeID::CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
        list[count].value.programmaticStreamSerializationAllowed = 1;
        count += 1;
    }
    if cluster_z > 1 {
        list[count].id = sys::CUlaunchAttributeID::CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
        list[count].value.clusterDim = sys::CUlaunchAttributeValue_union__bindgen_ty_1 {
            x: 1,
            y: 1,
            z: cluster_z,
        };
        count += 1;
    }
    LaunchAttributes {
        list,
        count: count as u32,
    }
}

fn launch_config(shape: &LaunchShape, stream: usize, attributes: &mut LaunchAttributes) -> sys::CUlaunchConfig {
    sys::CUlaunchConfig {
        gridDimX: shape.blocks.0,
        gridDimY: shape.blocks.1,
        gridDimZ: shape.blocks.2,
        blockDimX: shape.threads,
        blockDimY: 1,
        blockDimZ: 1,
        sharedMemBytes: shape.shared_bytes,
        hStream: stream as sys::CUstream,
        attrs: attributes.list.as_mut_ptr(),
        numAttrs: attributes.count,
    }
}

/// Launches `function` with one by-value parameter struct.
///
/// # Safety
/// `params` must match the kernel's parameter struct exactly (`#[repr(C)]` mirror), every
/// device address in it must be valid for what the kernel does with it, and `function` must
/// allow `shape.shared_bytes` (raised when its module was loaded). A `dependent` launch's kernel
/// waits (`griddepcontrol.wait`) before it touches memory the previous kernel on the stream
/// writes.
pub(crate) unsafe fn launch<P>(
    op: &'static str,
    function: sys::CUfunction,
    shape: LaunchShape,
    stream: usize,
    params: &mut P,
) -> Result<()> {
    let mut args = [(params as *mut P).cast::<c_void>()];
    let mut attributes = launch_attributes(shape.dependent, shape.cluster_z);
    let config = launch_config(&shape, stream, &mut attributes);
    crate::host_profile::mark(Stage::Lookup);
    let launched = sys::cuLaunchKernelEx(&config, function, args.as_mut_ptr(), std::ptr::null_mut())
        .result()
        .map_err(|e| driver_error(op, "cuLaunchKernelEx", e));
    crate::host_profile::mark(Stage::Launch);
    launched
}

#[cfg(test)]
mod tests {
    use super::{SlotTable, SCHEDULE_SLOTS};

    #[test]
    fn streams_keep_their_slot_and_captures_take_fresh_ones() {
        let mut table = SlotTable::default();
        let stream = |handle| Some((handle, None));
        assert_eq!(table.take(stream(7)), 0);
        assert_eq!(table.take(None), 1);
        assert_eq!(table.take(None), 2);
        assert_eq!(table.take(stream(7)), 0, "a stream keeps its slot");
        assert_eq!(table.take(stream(9)), 3);
        // The per-thread default stream is keyed by thread as well.
        let this = std::thread::current().id();
        let other = std::thread::spawn(|| std::thread::current().id()).join().unwrap();
        assert_eq!(table.take(Some((2, Some(this)))), 4);
        assert_eq!(table.take(Some((2, Some(other)))), 5);
        assert_eq!(table.take(Some((2, Some(this)))), 4);
    }

    #[test]
    fn captures_past_the_last_slot_never_take_a_streams_slot() {
        let mut table = SlotTable::default();
        assert_eq!(table.take(Some((100, None))), 0);
        for n in 1..SCHEDULE_SLOTS {
            assert_eq!(table.take(None), n);
        }
        // The round wraps: slot 0 is stream 100's, so captures go on from slot 1.
        assert_eq!(table.take(None), 1);
        assert_eq!(table.take(None), 2);
        // A stream that arrives now keeps the next slot, which later captures skip.
        assert_eq!(table.take(Some((200, None))), 3);
        assert_eq!(table.take(None), 4);
        for _ in 5..SCHEDULE_SLOTS {
            table.take(None);
        }
        assert_eq!(table.take(None), 1);
        assert_eq!(table.take(None), 2);
        assert_eq!(table.take(None), 4);
        assert_eq!(table.take(Some((100, None))), 0);
        assert_eq!(table.take(Some((200, None))), 3);
    }
}
