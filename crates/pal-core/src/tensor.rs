//! Borrowed, dense, row-major tensor views: a pointer, a dtype, a shape and a device.
//!
//! PAL never owns or copies the caller's memory. Safe constructors borrow Rust slices; the raw
//! constructors serve bindings (numpy, torch, DLPack) and device buffers.

use std::fmt;
use std::marker::PhantomData;

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};

/// Where a tensor's memory lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Device {
    /// Host memory.
    Cpu,
    /// A CUDA device, by ordinal.
    Cuda(usize),
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(ordinal) => write!(f, "cuda:{ordinal}"),
        }
    }
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

fn check_len(len: usize, shape: &[usize]) -> Result<()> {
    // (A shape whose element count overflows describes no slice: refused, never wrapped.)
    match shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) {
        Some(n) if n == len => Ok(()),
        Some(n) => Err(Error::value(
            "tensor",
            "data",
            format!("{n} elements for shape {shape:?}"),
            format!("{len} elements"),
        )),
        None => Err(Error::value(
            "tensor",
            "shape",
            "dimensions whose product fits in usize",
            format!("{shape:?}"),
        )),
    }
}

/// A read-only view of a dense row-major tensor.
#[derive(Clone, Debug)]
pub struct TensorView<'a> {
    ptr: *const u8,
    dtype: DType,
    shape: Vec<usize>,
    device: Device,
    _borrow: PhantomData<&'a [u8]>,
}

/// A writable view of a dense row-major tensor.
#[derive(Debug)]
pub struct TensorViewMut<'a> {
    ptr: *mut u8,
    dtype: DType,
    shape: Vec<usize>,
    device: Device,
    _borrow: PhantomData<&'a mut [u8]>,
}

// SAFETY: a view is a borrow of plain numeric data; sharing it across threads is as safe as
// sharing `&[T]` (and `&mut [T]` for the mutable view, which is not `Clone`).
unsafe impl Send for TensorView<'_> {}
unsafe impl Sync for TensorView<'_> {}
unsafe impl Send for TensorViewMut<'_> {}
unsafe impl Sync for TensorViewMut<'_> {}

impl<'a> TensorView<'a> {
    /// Views a host slice with the given shape.
    pub fn from_slice<T: Element>(data: &'a [T], shape: &[usize]) -> Result<Self> {
        check_len(data.len(), shape)?;
        Ok(Self {
            ptr: data.as_ptr().cast(),
            dtype: T::DTYPE,
            shape: shape.to_vec(),
            device: Device::Cpu,
            _borrow: PhantomData,
        })
    }

    /// Views memory PAL does not own (a numpy buffer, a CUDA allocation).
    ///
    /// # Safety
    /// `ptr` must point to `product(shape)` dense row-major elements of `dtype` on `device`,
    /// aligned for `dtype`, valid and not written by anyone else for the lifetime `'a`.
    pub unsafe fn from_raw_parts(ptr: *const u8, dtype: DType, shape: &[usize], device: Device) -> Self {
        Self {
            ptr,
            dtype,
            shape: shape.to_vec(),
            device,
            _borrow: PhantomData,
        }
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    /// Extent of each dimension.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Where the memory lives.
    pub fn device(&self) -> Device {
        self.device
    }
    /// Number of elements.
    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }
    /// Address of the first element (a device address for device tensors).
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr
    }

    pub(crate) fn byte_range(&self) -> std::ops::Range<usize> {
        let start = self.ptr as usize;
        start..start + self.numel() * self.dtype.size_in_bytes()
    }

    /// The elements as a host slice.
    ///
    /// # Safety
    /// The view must be on the CPU and hold `T` (both checked by validation before any backend
    /// calls this).
    pub(crate) unsafe fn host_slice<T: Element>(&self) -> &'a [T] {
        debug_assert_eq!(self.dtype, T::DTYPE);
        debug_assert_eq!(self.device, Device::Cpu);
        if self.numel() == 0 {
            return &[];
        }
        std::slice::from_raw_parts(self.ptr.cast(), self.numel())
    }
}

impl<'a> TensorViewMut<'a> {
    /// Views a mutable host slice with the given shape.
    pub fn from_slice<T: Element>(data: &'a mut [T], shape: &[usize]) -> Result<Self> {
        check_len(data.len(), shape)?;
        Ok(Self {
            ptr: data.as_mut_ptr().cast(),
            dtype: T::DTYPE,
            shape: shape.to_vec(),
            device: Device::Cpu,
            _borrow: PhantomData,
        })
    }

    /// Views writable memory PAL does not own.
    ///
    /// # Safety
    /// As [`TensorView::from_raw_parts`], and nobody else reads or writes the memory for `'a`.
    pub unsafe fn from_raw_parts(ptr: *mut u8, dtype: DType, shape: &[usize], device: Device) -> Self {
        Self {
            ptr,
            dtype,
            shape: shape.to_vec(),
            device,
            _borrow: PhantomData,
        }
    }

    /// A read-only view of the same memory, for validation that treats all arguments alike.
    pub fn as_view(&self) -> TensorView<'_> {
        TensorView {
            ptr: self.ptr,
            dtype: self.dtype,
            shape: self.shape.clone(),
            device: self.device,
            _borrow: PhantomData,
        }
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    /// Extent of each dimension.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    /// Where the memory lives.
    pub fn device(&self) -> Device {
        self.device
    }
    /// Number of elements.
    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }
    /// Address of the first element (a device address for device tensors).
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr
    }

    /// The elements as a mutable host slice.
    ///
    /// # Safety
    /// As [`TensorView::host_slice`].
    pub(crate) unsafe fn host_slice_mut<T: Element>(&mut self) -> &mut [T] {
        debug_assert_eq!(self.dtype, T::DTYPE);
        debug_assert_eq!(self.device, Device::Cpu);
        if self.numel() == 0 {
            return &mut [];
        }
        std::slice::from_raw_parts_mut(self.ptr.cast(), self.numel())
    }
}
