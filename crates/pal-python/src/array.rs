//! Zero-copy views of Python arrays: torch tensors, anything with `__array_interface__` (numpy,
//! including ml_dtypes' bfloat16) and anything with `__dlpack__`. Nothing is ever copied; the
//! Python objects (and DLPack capsules) stay alive for as long as the views are used.

use std::ffi::{c_int, c_void};

use pal_core::{DType, Device, Error, TensorView, TensorViewMut};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCapsule, PyDict, PyTuple, PyType};
use std::borrow::Cow;

use crate::errors::to_py_err;

/// A Python array argument, read off its producer's protocol.
pub struct ArrayArg<'py> {
    name: &'static str,
    address: usize,
    dtype: DType,
    shape: Vec<usize>,
    device: Device,
    read_only: bool,
    /// Keeps a DLPack capsule (and with it the producer's buffer) alive.
    _capsule: Option<Bound<'py, PyAny>>,
}

impl<'py> ArrayArg<'py> {
    /// Reads `object` as argument `name` of `op` (a float or int32 tensor); rejects
    /// non-contiguous data.
    pub fn extract(op: &'static str, name: &'static str, object: &Bound<'py, PyAny>) -> PyResult<Self> {
        Self::read(op, name, object, |dtype| {
            dtype.parse::<DType>().map_err(|_| {
                // What this argument takes (the precise checks come later, on a parsed dtype).
                let expected = match name {
                    "k_cache" | "v_cache" => "float32, float16, bfloat16, float8_e4m3fn or float8_e5m2",
                    "alibi_slopes" | "sinks" | "k_scale" | "v_scale" => "float32",
                    _ => "float32, float16 or bfloat16",
                };
                crate::errors::type_error(format!("{op}: `{name}` must have dtype {expected}, got {dtype}"))
            })
        })
    }

    /// An index argument (SPEC §3.4: page table, lengths, offsets, positions, slots): int32 here
    /// (the Python API narrows int64 before calling); any other dtype is refused naming the
    /// index dtypes only.
    pub fn extract_index(op: &'static str, name: &'static str, object: &Bound<'py, PyAny>) -> PyResult<Self> {
        Self::read(op, name, object, |dtype| match dtype.parse::<DType>() {
            Ok(DType::I32) => Ok(DType::I32),
            // The package narrows int64 where it can read the array (numpy, torch, host arrays,
            // CUDA ones through torch); what reaches here it could not.
            _ if dtype == "int64" => Err(crate::errors::type_error(format!(
                "{op}: `{name}` is an int64 index array that was not narrowed to int32 (`proxy_attention_lab` \
                 narrows host arrays, and CUDA arrays through torch once it is imported): pass int32"
            ))),
            _ => Err(crate::errors::type_error(format!(
                "{op}: `{name}` is an index argument and must have dtype int32 or int64, got {dtype}"
            ))),
        })
    }

    fn read(
        op: &'static str,
        name: &'static str,
        object: &Bound<'py, PyAny>,
        dtype_of: impl FnOnce(&str) -> PyResult<DType>,
    ) -> PyResult<Self> {
        let raw = raw_array(op, name, object)?;
        let dtype = dtype_of(&raw.dtype)?;
        let item_size = dtype.size_in_bytes();
        if let Some(byte_strides) = raw.misfit_byte_strides {
            return Err(to_py_err(Error::value(
                op,
                name,
                format!("C-contiguous, its strides whole {item_size}-byte elements"),
                format!("shape {:?} with byte strides {byte_strides:?}", raw.shape),
            )));
        }
        // Views of PAL's kernels and the CPU backend's slices need elements at their natural
        // alignment (numpy can make unaligned arrays: a buffer at an odd byte offset).
        if raw.address % item_size != 0 && !raw.shape.contains(&0) {
            return Err(to_py_err(Error::value(
                op,
                name,
                format!("aligned to its {item_size}-byte elements"),
                format!("data at address {:#x}", raw.address),
            )));
        }
        if !is_c_contiguous(&raw.shape, &raw.strides) {
            return Err(to_py_err(Error::NotContiguous {
                op,
                arg: name.into(),
                shape: raw.shape,
                strides: raw.strides,
            }));
        }
        Ok(Self {
            name,
            address: raw.address,
            dtype,
            shape: raw.shape,
            device: raw.device,
            read_only: raw.read_only,
            _capsule: raw.capsule,
        })
    }

    /// Like [`Self::extract_index`], `None` passing through.
    pub fn extract_index_optional(
        op: &'static str,
        name: &'static str,
        object: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Self>> {
        Self::unless_none(object, |o| Self::extract_index(op, name, o))
    }

    /// Like [`Self::extract`], `None` passing through.
    pub fn extract_optional(
        op: &'static str,
        name: &'static str,
        object: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Self>> {
        Self::unless_none(object, |o| Self::extract(op, name, o))
    }

    fn unless_none(
        object: Option<&Bound<'py, PyAny>>,
        extract: impl FnOnce(&Bound<'py, PyAny>) -> PyResult<Self>,
    ) -> PyResult<Option<Self>> {
        object.filter(|o| !o.is_none()).map(extract).transpose()
    }

    pub fn view(&self) -> TensorView<'_> {
        // SAFETY: the producer guarantees `shape` dense elements of `dtype` at `address` on
        // `device` (contiguity was checked), alive while `self` holds the object or capsule.
        unsafe { TensorView::from_raw_parts(self.address as *const u8, self.dtype, &self.shape, self.device) }
    }

    /// A writable view; fails for read-only arrays.
    pub fn view_mut(&self, op: &'static str) -> PyResult<TensorViewMut<'_>> {
        if self.read_only {
            return Err(to_py_err(Error::value(
                op,
                self.name,
                "a writable array",
                "a read-only array",
            )));
        }
        // SAFETY: as `view`; the bindings never hand out two writable views of one argument,
        // and validation rejects outputs that overlap inputs.
        Ok(unsafe { TensorViewMut::from_raw_parts(self.address as *mut u8, self.dtype, &self.shape, self.device) })
    }
}

/// What a producer protocol says about an array, before PAL interprets it.
struct RawArray<'py> {
    address: usize,
    dtype: Cow<'static, str>,
    shape: Vec<usize>,
    /// In elements.
    strides: Vec<isize>,
    /// The byte strides, where one of a dimension of more than one element is no whole number
    /// of elements (a field of a structured numpy array, `as_strided`): `strides` then mean
    /// nothing, and the array is refused.
    misfit_byte_strides: Option<Vec<isize>>,
    device: Device,
    read_only: bool,
    capsule: Option<Bound<'py, PyAny>>,
}

/// The array behind `object` (argument `name` of `op`): torch, the array-struct and
/// array-interface protocols (numpy, ml_dtypes), or DLPack.
fn raw_array<'py>(op: &str, name: &str, object: &Bound<'py, PyAny>) -> PyResult<RawArray<'py>> {
    if let Some(raw) = from_torch(object)? {
        Ok(raw)
    } else if let Some(raw) = from_array_struct(object)? {
        Ok(raw)
    } else if object.hasattr("__array_interface__")? {
        from_array_interface(object)
    } else if object.hasattr("__dlpack__")? {
        from_dlpack(op, name, object)
    } else {
        Err(crate::errors::type_error(format!(
            "{op}: `{name}` must be a numpy array, a torch tensor or an object with __dlpack__, got {}",
            object.get_type().name()?
        )))
    }
}

/// Shape, dtype name and CUDA device index (None on the host) of argument `name` of `op`: what
/// the facade needs to allocate an output like a producer known only through `__dlpack__`.
pub fn describe(op: &str, name: &str, object: &Bound<'_, PyAny>) -> PyResult<(Vec<usize>, String, Option<usize>)> {
    let raw = raw_array(op, name, object)?;
    let device = match raw.device {
        Device::Cpu => None,
        Device::Cuda(index) => Some(index),
    };
    Ok((raw.shape, raw.dtype.into_owned(), device))
}

/// A C-contiguous copy of a host array that is a strided view with a contiguous last dimension
/// (SPEC §3.4: q / k / v rows sliced out of a fused projection), for producers other than numpy
/// and torch (MLX, any `__dlpack__`), which the facade cannot densify itself: its shape, dtype
/// name and bytes. None for anything else (dense already, on a GPU, a dtype or layout PAL does
/// not read): the op then reads the object itself, or names what it refuses.
pub fn dense_host_copy(op: &str, name: &str, object: &Bound<'_, PyAny>) -> PyResult<Option<HostCopy>> {
    let Ok(raw) = raw_array(op, name, object) else {
        return Ok(None);
    };
    let Ok(dtype) = raw.dtype.parse::<DType>() else {
        return Ok(None);
    };
    let item = dtype.size_in_bytes();
    let (shape, strides) = (&raw.shape, &raw.strides);
    let row_view = raw.device == Device::Cpu
        && raw.misfit_byte_strides.is_none()
        && raw.address % item == 0
        && !shape.is_empty()
        && !shape.contains(&0)
        && strides.last() == Some(&1)
        && !is_c_contiguous(shape, strides);
    if !row_view {
        return Ok(None);
    }
    let outer = &shape[..shape.len() - 1];
    let row_bytes = shape[shape.len() - 1] * item;
    let rows: usize = outer.iter().product();
    let mut bytes = Vec::with_capacity(rows * row_bytes);
    let mut index = vec![0usize; outer.len()];
    for _ in 0..rows {
        let offset: isize = index.iter().zip(strides).map(|(&i, &s)| i as isize * s).sum::<isize>() * item as isize;
        // SAFETY: the producer guarantees every element its shape and strides address is
        // readable host memory while `raw` holds the object (or its capsule).
        let row = unsafe { std::slice::from_raw_parts((raw.address as isize + offset) as *const u8, row_bytes) };
        bytes.extend_from_slice(row);
        for d in (0..outer.len()).rev() {
            index[d] += 1;
            if index[d] < outer[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(Some(HostCopy {
        shape: raw.shape.clone(),
        dtype: raw.dtype.to_string(),
        bytes,
    }))
}

/// What [`dense_host_copy`] makes: a C-contiguous array's shape, dtype name and bytes.
pub struct HostCopy {
    pub shape: Vec<usize>,
    pub dtype: String,
    pub bytes: Vec<u8>,
}

fn is_c_contiguous(shape: &[usize], strides: &[isize]) -> bool {
    if shape.contains(&0) {
        return true;
    }
    let mut expected = 1isize;
    for (&extent, &stride) in shape.iter().zip(strides).rev() {
        if extent != 1 && stride != expected {
            return false;
        }
        expected *= extent as isize;
    }
    true
}

/// Byte strides (numpy's) in elements of `item_size` bytes, and the byte strides themselves
/// where a dimension of more than one element has a stride that is no whole number of elements
/// (dividing would truncate it: a field of a structured array would read as dense).
fn element_strides(shape: &[usize], byte_strides: Vec<isize>, item_size: isize) -> (Vec<isize>, Option<Vec<isize>>) {
    let strides = byte_strides.iter().map(|b| b / item_size).collect();
    let misfit = !shape.contains(&0)
        && shape
            .iter()
            .zip(&byte_strides)
            .any(|(&extent, &bytes)| extent > 1 && bytes % item_size != 0);
    (strides, misfit.then_some(byte_strides))
}

fn dense_strides(shape: &[usize]) -> Vec<isize> {
    let mut strides = vec![1isize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1] as isize;
    }
    strides
}

/// What PAL needs of torch, looked up once torch has been imported (by whoever made the
/// tensors; PAL never imports it): its tensor class and its dtype objects, so that reading a
/// tensor is a handful of calls with no string building (a call's host cost matters at decode).
struct Torch {
    tensor: Py<PyType>,
    dtypes: Vec<(Py<PyAny>, DType)>,
    /// torch's DLPack exchange export (torch 2.10 and newer): one C call reads a tensor.
    export: Option<DlTensorFromPyObject>,
}

fn torch(py: Python<'_>) -> PyResult<Option<&'static Torch>> {
    static TORCH: PyOnceLock<Torch> = PyOnceLock::new();
    static MODULES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    if let Some(torch) = TORCH.get(py) {
        return Ok(Some(torch));
    }
    let modules = MODULES.get_or_try_init(py, || -> PyResult<_> {
        Ok(py.import("sys")?.getattr("modules")?.cast_into::<PyDict>()?.unbind())
    })?;
    let Some(module) = modules.bind(py).get_item("torch")? else {
        return Ok(None);
    };
    let dtype = |name: &str| module.getattr(name).map(Bound::unbind);
    let mut dtypes = vec![
        (dtype("float32")?, DType::F32),
        (dtype("float16")?, DType::F16),
        (dtype("bfloat16")?, DType::BF16),
        (dtype("int32")?, DType::I32),
    ];
    // fp8 KV pools (torch 2.1 and newer).
    for (name, kind) in [("float8_e4m3fn", DType::F8E4M3), ("float8_e5m2", DType::F8E5M2)] {
        if let Ok(d) = dtype(name) {
            dtypes.push((d, kind));
        }
    }
    let tensor = module.getattr("Tensor")?;
    let torch = Torch {
        export: exchange_export(&tensor)?,
        tensor: tensor.cast_into::<PyType>()?.unbind(),
        dtypes,
    };
    Ok(Some(TORCH.get_or_init(py, || torch)))
}

/// `object` as a torch tensor, when it is one.
fn from_torch<'py>(object: &Bound<'py, PyAny>) -> PyResult<Option<RawArray<'py>>> {
    let Some(torch) = torch(object.py())? else {
        return Ok(None);
    };
    let tensor_type = torch.tensor.bind(object.py());
    if !object.is_instance(tensor_type)? {
        return Ok(None);
    }
    if let Some(export) = torch.export.filter(|_| object.get_type().is(tensor_type)) {
        if let Some(raw) = exported(export, object) {
            return Ok(Some(raw));
        }
    }
    // Without the exchange table (older torch, subclasses, dtypes or devices PAL does not
    // read, which the messages below name as torch does): torch's own accessors.
    let device = if object.getattr(intern!(object.py(), "is_cuda"))?.is_truthy()? {
        let index: i64 = object.call_method0(intern!(object.py(), "get_device"))?.extract()?;
        Device::Cuda(index.max(0) as usize)
    } else if object.getattr(intern!(object.py(), "is_cpu"))?.is_truthy()? {
        Device::Cpu
    } else {
        let kind = object.getattr("device")?.getattr("type")?.str()?.to_string();
        return Err(crate::errors::type_error(format!(
            "tensors on device type {kind:?} are not supported"
        )));
    };
    let dtype = object.getattr(intern!(object.py(), "dtype"))?;
    let dtype = match torch.dtypes.iter().find(|(d, _)| d.bind(object.py()).is(&dtype)) {
        Some(&(_, dtype)) => Cow::Borrowed(dtype.name()),
        None => Cow::Owned(dtype.str()?.to_string()),
    };
    let shape: Vec<usize> = object.getattr(intern!(object.py(), "shape"))?.extract()?;
    // torch's own test first: strides are only read (and checked by PAL's rule) when it fails.
    let strides = if object
        .call_method0(intern!(object.py(), "is_contiguous"))?
        .is_truthy()?
    {
        dense_strides(&shape)
    } else {
        object.call_method0("stride")?.extract()?
    };
    Ok(Some(RawArray {
        address: object.call_method0(intern!(object.py(), "data_ptr"))?.extract()?,
        dtype,
        shape,
        strides,
        misfit_byte_strides: None,
        device,
        read_only: false,
        capsule: None,
    }))
}

/// A plain torch tensor through the exchange table's export, when it reads as an array PAL
/// takes (`None` otherwise, with any exception the export raised cleared).
fn exported<'py>(export: DlTensorFromPyObject, object: &Bound<'py, PyAny>) -> Option<RawArray<'py>> {
    // SAFETY: all-zero is a valid DLTensor (null pointers, no dimensions).
    let mut tensor: DlTensor = unsafe { std::mem::zeroed() };
    // SAFETY: the GIL is held and `object` is exactly of the type the table was published on.
    if unsafe { export(object.as_ptr().cast(), &mut tensor) } != 0 {
        let _ = PyErr::take(object.py());
        return None;
    }
    let dtype = dl_dtype(&tensor.dtype)?;
    let device = dl_device(&tensor.device)?;
    // SAFETY: torch's shape and strides arrays of the tensor, which the caller's object keeps
    // alive (and unchanged: the GIL is held) while they are copied here.
    Some(unsafe { dl_array(&tensor, Cow::Borrowed(dtype), device, None) })
}

/// numpy's `PyArrayInterface` (`__array_struct__`): the array's description without building
/// the `__array_interface__` dict (a few microseconds per array, six arrays per call).
#[repr(C)]
struct ArrayInterface {
    two: i32,
    nd: i32,
    typekind: u8,
    itemsize: i32,
    flags: i32,
    shape: *const isize,
    strides: *const isize,
    data: *mut c_void,
    _descr: *mut pyo3::ffi::PyObject,
}

const NPY_ARRAY_NOTSWAPPED: i32 = 0x0200;
const NPY_ARRAY_WRITEABLE: i32 = 0x0400;

/// `array` through `__array_struct__` when it has one (numpy); `None` otherwise.
fn from_array_struct<'py>(array: &Bound<'py, PyAny>) -> PyResult<Option<RawArray<'py>>> {
    let Some(capsule) = array.getattr_opt(intern!(array.py(), "__array_struct__"))? else {
        return Ok(None);
    };
    let Ok(capsule_ref) = capsule.cast::<PyCapsule>() else {
        return Ok(None);
    };
    // SAFETY: a valid capsule; numpy's has no name, and a NULL return (with an exception set)
    // means it is not that kind of capsule, which we then do not use.
    let pointer = unsafe { pyo3::ffi::PyCapsule_GetPointer(capsule_ref.as_ptr(), std::ptr::null()) };
    if pointer.is_null() {
        let _ = PyErr::take(array.py());
        return Ok(None);
    }
    // SAFETY: numpy's `__array_struct__` capsule holds a PyArrayInterface that lives as long as
    // the capsule, which `RawArray` keeps.
    let interface = unsafe { &*(pointer as *const ArrayInterface) };
    if interface.two != 2 || interface.nd < 0 || interface.itemsize <= 0 {
        return Ok(None);
    }
    let nd = interface.nd as usize;
    // SAFETY: `nd` entries behind `shape` and, when not NULL, `strides` (numpy's contract).
    let shape: Vec<usize> = unsafe { (0..nd).map(|i| *interface.shape.add(i) as usize).collect() };
    let item_size = interface.itemsize as isize;
    let (strides, misfit_byte_strides) = if interface.strides.is_null() {
        (dense_strides(&shape), None)
    } else {
        let byte_strides: Vec<isize> = unsafe { (0..nd).map(|i| *interface.strides.add(i)).collect() };
        element_strides(&shape, byte_strides, item_size)
    };
    let swapped = interface.flags & NPY_ARRAY_NOTSWAPPED == 0;
    let dtype = match kind_name(interface.typekind, interface.itemsize) {
        Some(name) if !swapped => Cow::Borrowed(name),
        // Extension types (ml_dtypes' bfloat16 is "V2" here, its float8 types "V1" or "f1", a
        // size no standard float has): numpy names them.
        _ if interface.typekind == b'V' || (interface.typekind == b'f' && interface.itemsize == 1) => {
            Cow::Owned(extension_dtype_name(array, interface.itemsize as isize)?)
        }
        // The typestr numpy would write, byte order included: a swapped array keeps it as its
        // name, which no kernel accepts (only error paths build this string).
        _ => {
            let byte_order = if cfg!(target_endian = "little") != swapped {
                '<'
            } else {
                '>'
            };
            Cow::Owned(format!(
                "{byte_order}{}{}",
                interface.typekind as char, interface.itemsize
            ))
        }
    };
    Ok(Some(RawArray {
        address: interface.data as usize,
        dtype,
        shape,
        strides,
        misfit_byte_strides,
        device: Device::Cpu,
        read_only: interface.flags & NPY_ARRAY_WRITEABLE == 0,
        capsule: Some(capsule),
    }))
}

/// numpy's name of an extension dtype (ml_dtypes' bfloat16 and float8 types, or a void): its
/// `dtype.name` runs Python code (2-3 us, a third of a small bfloat16 call's host cost), so
/// names are kept per dtype class and item size, which fix them.
fn extension_dtype_name(array: &Bound<'_, PyAny>, item_size: isize) -> PyResult<String> {
    static NAMES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
    let py = array.py();
    let names = NAMES.get_or_init(py, || PyDict::new(py).unbind()).bind(py);
    let dtype = array.getattr(intern!(py, "dtype"))?;
    let key = (dtype.get_type(), item_size);
    if let Some(name) = names.get_item(&key)? {
        return name.extract();
    }
    let name = dtype.getattr(intern!(py, "name"))?;
    names.set_item(key, &name)?;
    name.extract()
}

fn from_array_interface<'py>(array: &Bound<'py, PyAny>) -> PyResult<RawArray<'py>> {
    let interface = array.getattr("__array_interface__")?;
    let interface = interface.cast::<PyDict>()?;
    let item = |key: &str| -> PyResult<Bound<'py, PyAny>> {
        interface
            .get_item(key)?
            .ok_or_else(|| crate::errors::type_error(format!("__array_interface__ lacks {key:?}")))
    };
    let (address, read_only): (usize, bool) = item("data")?.extract()?;
    let shape: Vec<usize> = item("shape")?.extract()?;
    let typestr: String = item("typestr")?.extract()?;
    // The typestr names the standard types (asking numpy for `dtype.name` costs microseconds);
    // extension types (ml_dtypes' bfloat16) are only "<V2" there, and numpy names them.
    // Byte-swapped arrays keep their typestr as the name, which no kernel accepts.
    let item_size: isize = typestr[2..].parse().unwrap_or(1);
    let dtype = match typestr_name(&typestr) {
        Some(name) => Cow::Borrowed(name),
        None if typestr[1..].starts_with('V') || &typestr[1..] == "f1" => {
            match extension_dtype_name(array, item_size) {
                Ok(name) => Cow::Owned(name),
                Err(_) => Cow::Owned(typestr),
            }
        }
        None => Cow::Owned(typestr),
    };
    let (strides, misfit_byte_strides) = match item("strides") {
        Ok(s) if !s.is_none() => element_strides(&shape, s.extract::<Vec<isize>>()?, item_size),
        _ => (dense_strides(&shape), None),
    };
    Ok(RawArray {
        address,
        dtype,
        shape,
        strides,
        misfit_byte_strides,
        device: Device::Cpu,
        read_only,
        capsule: None,
    })
}

fn typestr_name(typestr: &str) -> Option<&'static str> {
    let native = if cfg!(target_endian = "little") { '<' } else { '>' };
    if !typestr.starts_with([native, '|', '=']) {
        return None;
    }
    let kind = *typestr.as_bytes().get(1)?;
    kind_name(kind, typestr.get(2..)?.parse().ok()?)
}

/// The name of numpy's standard type of this kind (`f`, `i`, `u`, `c`, `b`) and size in bytes.
fn kind_name(kind: u8, size: i32) -> Option<&'static str> {
    Some(match (kind, size) {
        (b'f', 4) => "float32",
        (b'f', 2) => "float16",
        (b'f', 8) => "float64",
        (b'i', 4) => "int32",
        (b'i', 8) => "int64",
        (b'i', 2) => "int16",
        (b'i', 1) => "int8",
        (b'u', 1) => "uint8",
        (b'u', 2) => "uint16",
        (b'u', 4) => "uint32",
        (b'u', 8) => "uint64",
        (b'c', 8) => "complex64",
        (b'c', 16) => "complex128",
        (b'b', 1) => "bool",
        _ => return None,
    })
}

// DLPack's C ABI (dlpack.h, v0.8 "legacy" capsules named "dltensor").
#[repr(C)]
struct DlDevice {
    device_type: i32,
    device_id: i32,
}
#[repr(C)]
struct DlDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}
#[repr(C)]
struct DlTensor {
    data: *mut c_void,
    device: DlDevice,
    ndim: i32,
    dtype: DlDataType,
    shape: *const i64,
    strides: *const i64,
    byte_offset: u64,
}

const DL_CPU: i32 = 1;
const DL_CUDA: i32 = 2;
const DL_CUDA_HOST: i32 = 3;

/// Argument `name` of `op`, read through its `__dlpack__`.
fn from_dlpack<'py>(op: &str, name: &str, object: &Bound<'py, PyAny>) -> PyResult<RawArray<'py>> {
    let (capsule, pointer) = dltensor_capsule(object).map_err(|error| unreadable_dlpack(op, name, error))?;
    // SAFETY: a "dltensor" capsule holds a DLManagedTensor, whose first member is the DLTensor;
    // it stays valid while the capsule lives (we keep it, unconsumed, so its destructor frees it).
    let tensor = unsafe { &*(pointer as *const DlTensor) };
    let dtype = match dl_dtype(&tensor.dtype) {
        Some(name) => Cow::Borrowed(name),
        None => {
            let DlDataType { code, bits, lanes } = tensor.dtype;
            Cow::Owned(format!("DLPack type code {code} with {bits} bits x {lanes} lanes"))
        }
    };
    let Some(device) = dl_device(&tensor.device) else {
        return Err(crate::errors::type_error(format!(
            "{op}: `{name}` must be on the CPU or a CUDA device, got DLPack device type {}",
            tensor.device.device_type
        )));
    };
    // SAFETY: the capsule keeps the tensor's shape, strides and data alive.
    Ok(unsafe { dl_array(tensor, dtype, device, Some(capsule)) })
}

/// The unconsumed "dltensor" capsule that `object.__dlpack__()` returns and the pointer it holds
/// (not NULL), or the exception that asking for it raised (the producer's own, or CPython's
/// refusal of a capsule of another kind).
fn dltensor_capsule<'py>(object: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, *mut c_void)> {
    let capsule = object.call_method0("__dlpack__")?;
    // SAFETY: a valid capsule object; the name check makes CPython return NULL (with an
    // exception set) for anything but an unconsumed DLPack tensor.
    let pointer =
        unsafe { pyo3::ffi::PyCapsule_GetPointer(capsule.cast::<PyCapsule>()?.as_ptr(), c"dltensor".as_ptr()) };
    if pointer.is_null() {
        return Err(PyErr::fetch(object.py()));
    }
    Ok((capsule, pointer))
}

/// The `PalTypeError` for argument `name` of `op` whose `__dlpack__` gave no DLPack tensor,
/// naming `op` and `name` once: what was raised (the producer's exception, or CPython's refusal
/// of a capsule of another kind) follows by its class and message, and is kept as the cause. A
/// PAL error that already names `op` and `name` (a producer that read this argument through PAL
/// itself) is raised as it is, not under a second such prefix.
fn unreadable_dlpack(op: &str, name: &str, error: PyErr) -> PyErr {
    Python::attach(|py| {
        if crate::errors::is_pal_error(py, &error)
            && error.value(py).to_string().starts_with(&format!("{op}: `{name}` "))
        {
            return error;
        }
        let wrapped = crate::errors::type_error(format!(
            "{op}: `{name}` could not be read through __dlpack__ (an unconsumed DLPack tensor capsule \
             named \"dltensor\", DLPack 0.8): {error}"
        ));
        wrapped.set_cause(py, Some(error));
        wrapped
    })
}

/// The name of a DLPack dtype PAL reads, if it is one.
fn dl_dtype(dtype: &DlDataType) -> Option<&'static str> {
    Some(match (dtype.code, dtype.bits, dtype.lanes) {
        (0, 32, 1) => "int32",
        (0, 64, 1) => "int64",
        (2, 32, 1) => "float32",
        (2, 16, 1) => "float16",
        (4, 16, 1) => "bfloat16",
        // DLPack 1.1's kDLFloat8_e4m3fn and kDLFloat8_e5m2.
        (10, 8, 1) => "float8_e4m3fn",
        (12, 8, 1) => "float8_e5m2",
        _ => return None,
    })
}

/// The device of a DLPack tensor, if PAL runs there (pinned host memory is the host's).
fn dl_device(device: &DlDevice) -> Option<Device> {
    match device.device_type {
        DL_CPU | DL_CUDA_HOST => Some(Device::Cpu),
        DL_CUDA => Some(Device::Cuda(device.device_id as usize)),
        _ => None,
    }
}

/// The array a DLTensor describes.
///
/// # Safety
/// `tensor`'s shape and (when not NULL) strides hold `ndim` entries each.
unsafe fn dl_array<'py>(
    tensor: &DlTensor,
    dtype: Cow<'static, str>,
    device: Device,
    capsule: Option<Bound<'py, PyAny>>,
) -> RawArray<'py> {
    let ndim = tensor.ndim.max(0) as usize;
    let shape: Vec<usize> = (0..ndim).map(|i| *tensor.shape.add(i) as usize).collect();
    let strides = if tensor.strides.is_null() {
        dense_strides(&shape)
    } else {
        (0..ndim).map(|i| *tensor.strides.add(i) as isize).collect()
    };
    RawArray {
        address: tensor.data as usize + tensor.byte_offset as usize,
        dtype,
        shape,
        strides,
        misfit_byte_strides: None,
        device,
        read_only: false,
        capsule,
    }
}

/// DLPack 1.2's exchange table (`DLPackExchangeAPI`), which a producer publishes on its tensor
/// type as `__dlpack_c_exchange_api__` (a capsule named "dlpack_exchange_api"; torch 2.10 and
/// newer): here only its version and its non-owning, allocation-free `DLTensor` export.
#[repr(C)]
struct DlExchangeApi {
    major: u32,
    minor: u32,
    prev_api: *const c_void,
    managed_tensor_allocator: *const c_void,
    managed_tensor_from_py_object_no_sync: *const c_void,
    managed_tensor_to_py_object_no_sync: *const c_void,
    dltensor_from_py_object_no_sync: Option<DlTensorFromPyObject>,
    current_work_stream: *const c_void,
}

/// `DLPackDLTensorFromPyObjectNoSync`: fills `out` with a view of `py_object` (valid while the
/// object lives unchanged); 0, or -1 with a Python exception set.
type DlTensorFromPyObject = unsafe extern "C" fn(py_object: *mut c_void, out: *mut DlTensor) -> c_int;

/// The exchange table's `DLTensor` export published on `tensor_type`, if it has a usable one.
fn exchange_export(tensor_type: &Bound<'_, PyAny>) -> PyResult<Option<DlTensorFromPyObject>> {
    let Some(capsule) = tensor_type.getattr_opt("__dlpack_c_exchange_api__")? else {
        return Ok(None);
    };
    let Ok(capsule) = capsule.cast::<PyCapsule>() else {
        return Ok(None);
    };
    // SAFETY: a capsule; CPython returns NULL (with an exception set) unless it has this name.
    let pointer = unsafe { pyo3::ffi::PyCapsule_GetPointer(capsule.as_ptr(), c"dlpack_exchange_api".as_ptr()) };
    if pointer.is_null() {
        let _ = PyErr::take(tensor_type.py());
        return Ok(None);
    }
    // SAFETY: a "dlpack_exchange_api" capsule points at the producer's table, which lives for
    // the process; major version 1 fixes the members read here.
    let api = unsafe { &*(pointer as *const DlExchangeApi) };
    Ok(if api.major == 1 {
        api.dltensor_from_py_object_no_sync
    } else {
        None
    })
}

/// Shape helpers return tuples, like numpy's and torch's `.shape`.
pub fn shape_tuple<'py>(py: Python<'py>, shape: Vec<usize>) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, shape)
}
