//! Run-time compilation of the kernels with NVRTC.
//!
//! A specialisation is an entry file (`decode.cu`, `fill.cu`, `prefill.cu`) plus `-D` defines for every
//! template parameter; its key (entry, defines, source hash, architecture, NVRTC version) names
//! the PTX cached in memory and on disk. Set [`KERNEL_DIR_ENV`] to a folder laid out like
//! `kernels/` (entry files at the top, headers under `include/`) to compile edited sources
//! without rebuilding Rust.

use std::ffi::{c_char, CString};
use std::path::PathBuf;

use cudarc::nvrtc::{result, sys};
use rayon::prelude::*;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::layout::CacheLayout;

/// Environment variable naming a folder of kernel sources that replaces the embedded ones.
pub const KERNEL_DIR_ENV: &str = "PAL_KERNEL_DIR";
/// Environment variable naming the on-disk kernel cache (default `~/.cache/pal/kernels`).
pub const CACHE_DIR_ENV: &str = "PAL_CACHE_DIR";

/// Every kernel source file: (name as included, embedded text). Headers are included as `pal/...`.
const SOURCES: &[(&str, &str)] = &[
    ("decode.cu", include_str!("../../kernels/decode.cu")),
    ("fill.cu", include_str!("../../kernels/fill.cu")),
    ("prefill.cu", include_str!("../../kernels/prefill.cu")),
    ("pal/common.cuh", include_str!("../../kernels/include/pal/common.cuh")),
    ("pal/layout.cuh", include_str!("../../kernels/include/pal/layout.cuh")),
    ("pal/decode.cuh", include_str!("../../kernels/include/pal/decode.cuh")),
    ("pal/fill.cuh", include_str!("../../kernels/include/pal/fill.cuh")),
    ("pal/mma.cuh", include_str!("../../kernels/include/pal/mma.cuh")),
    ("pal/prefill.cuh", include_str!("../../kernels/include/pal/prefill.cuh")),
    (
        "pal/prefill_mma.cuh",
        include_str!("../../kernels/include/pal/prefill_mma.cuh"),
    ),
    (
        "pal/prefill_simt.cuh",
        include_str!("../../kernels/include/pal/prefill_simt.cuh"),
    ),
];

/// One compiled unit: an entry file and the defines that pick its template parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Specialization {
    /// Entry file under `kernels/`.
    pub entry_file: &'static str,
    /// `-D` defines, one per template parameter.
    pub defines: Vec<(&'static str, String)>,
    /// The `extern "C"` kernels it exports.
    pub entries: &'static [&'static str],
}

fn device_type(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float",
        DType::F16 => "pal::f16",
        DType::BF16 => "pal::bf16",
        DType::I32 => unreachable!("validated float dtype"),
    }
}

fn layout_constant(layout: CacheLayout) -> &'static str {
    match layout {
        CacheLayout::Pal => "pal::LAYOUT_PAL",
        CacheLayout::Nhd => "pal::LAYOUT_NHD",
        CacheLayout::Hnd => "pal::LAYOUT_HND",
    }
}

impl Specialization {
    /// The decode specialisation for these parameters.
    pub fn decode(dtype: DType, head_dim: usize, page_size: usize, layout: CacheLayout) -> Self {
        Self {
            entry_file: "decode.cu",
            defines: vec![
                ("PAL_DTYPE", device_type(dtype).into()),
                ("PAL_HEAD_DIM", head_dim.to_string()),
                ("PAL_PAGE_SIZE", page_size.to_string()),
                ("PAL_LAYOUT", layout_constant(layout).into()),
            ],
            entries: &["pal_decode", "pal_decode_merge"],
        }
    }

    /// The prefill specialisation for these parameters.
    pub fn prefill(dtype: DType, head_dim: usize, page_size: usize, layout: CacheLayout) -> Self {
        Self {
            entry_file: "prefill.cu",
            entries: &["pal_prefill"],
            ..Self::decode(dtype, head_dim, page_size, layout)
        }
    }

    /// The fill specialisation for a dtype and layout.
    pub fn fill(dtype: DType, layout: CacheLayout) -> Self {
        Self {
            entry_file: "fill.cu",
            defines: vec![
                ("PAL_DTYPE", device_type(dtype).into()),
                ("PAL_LAYOUT", layout_constant(layout).into()),
            ],
            entries: &["pal_fill"],
        }
    }

    /// Every specialisation the library can emit.
    pub fn all() -> Vec<Self> {
        let dtypes = [DType::F32, DType::F16, DType::BF16];
        let mut all = Vec::new();
        for dtype in dtypes {
            for layout in CacheLayout::ALL {
                all.push(Self::fill(dtype, layout));
                for head_dim in super::HEAD_DIMS {
                    for page_size in super::PAGE_SIZES {
                        all.push(Self::decode(dtype, head_dim, page_size, layout));
                        all.push(Self::prefill(dtype, head_dim, page_size, layout));
                    }
                }
            }
        }
        all
    }

    /// Name built from every parameter: `decode.cu[PAL_DTYPE=pal::bf16,PAL_HEAD_DIM=128,...]`.
    pub fn key(&self) -> String {
        let defines: Vec<String> = self.defines.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}[{}]", self.entry_file, defines.join(","))
    }

    /// A readable name for messages.
    pub fn describe(&self) -> String {
        format!("kernel {}", self.key())
    }
}

/// The kernel sources in use: embedded, or read from `PAL_KERNEL_DIR`.
fn sources(op: &'static str) -> Result<Vec<(&'static str, String)>> {
    let Some(dir) = std::env::var_os(KERNEL_DIR_ENV) else {
        return Ok(SOURCES.iter().map(|&(name, text)| (name, text.to_string())).collect());
    };
    let dir = PathBuf::from(dir);
    SOURCES
        .iter()
        .map(|&(name, _)| {
            let path = if name.ends_with(".cu") {
                dir.join(name)
            } else {
                dir.join("include").join(name)
            };
            std::fs::read_to_string(&path)
                .map(|text| (name, text))
                .map_err(|e| Error::value(op, KERNEL_DIR_ENV, format!("a folder holding {}", path.display()), e))
        })
        .collect()
}

/// FNV-1a: a stable hash for cache keys (std's hasher may change between Rust versions).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for part in parts {
        for &byte in part.iter().chain(&[0xff]) {
            hash ^= byte as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

fn nvrtc_available() -> Result<()> {
    // SAFETY: only probes whether the shared library can be loaded.
    if unsafe { sys::is_culib_present() } {
        Ok(())
    } else {
        Err(Error::BackendUnavailable {
            backend: "cuda",
            reason:
                "NVRTC (libnvrtc.so.13) was not found: install the CUDA 13 toolkit or `pip install nvidia-cuda-nvrtc`, \
                     or add its lib folder to LD_LIBRARY_PATH"
                    .into(),
        })
    }
}

fn nvrtc_version() -> (i32, i32) {
    let (mut major, mut minor) = (0, 0);
    // SAFETY: plain out-parameters; the library was found by `nvrtc_available`.
    unsafe { sys::nvrtcVersion(&mut major, &mut minor) };
    (major, minor)
}

fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV) {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("pal").join("kernels"))
}

/// The disk-cache key of a compiled specialisation: its name (entry file and defines; two entry
/// files may share defines), the compiler options, every source text and the NVRTC version.
fn cache_key(spec: &Specialization, options: &[String], sources: &[(&str, String)], nvrtc: (i32, i32)) -> u64 {
    let version = format!("{}.{}", nvrtc.0, nvrtc.1);
    let name = spec.key();
    let mut parts: Vec<&[u8]> = vec![version.as_bytes(), name.as_bytes()];
    parts.extend(options.iter().map(|o| o.as_bytes()));
    parts.extend(
        sources
            .iter()
            .flat_map(|(name, text)| [name.as_bytes(), text.as_bytes()]),
    );
    fnv1a(&parts)
}

/// PTX (NUL-terminated) of `spec` for compute capability `arch`, from the disk cache when present.
pub(crate) fn ptx_for(op: &'static str, spec: &Specialization, arch: (i32, i32)) -> Result<Vec<u8>> {
    nvrtc_available()?;
    let sources = sources(op)?;
    let options = options(spec, arch);
    let key = cache_key(spec, &options, &sources, nvrtc_version());
    let file = cache_dir().map(|dir| dir.join(format!("{key:016x}.ptx")));
    if let Some(cached) = file.as_ref().and_then(|f| std::fs::read(f).ok()) {
        if cached.last() == Some(&0) {
            return Ok(cached);
        }
    }
    let ptx = compile(op, spec, &sources, &options)?;
    if let Some(file) = file {
        // Best effort: a cache that cannot be written only costs a recompilation next time.
        let temporary = file.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::create_dir_all(file.parent().unwrap_or(&file)).is_ok() && std::fs::write(&temporary, &ptx).is_ok() {
            let _ = std::fs::rename(&temporary, &file);
        }
    }
    Ok(ptx)
}

fn options(spec: &Specialization, arch: (i32, i32)) -> Vec<String> {
    let mut options = vec![
        format!("--gpu-architecture=compute_{}{}", arch.0, arch.1),
        "--std=c++17".into(),
        "--device-as-default-execution-space".into(),
    ];
    options.extend(spec.defines.iter().map(|(k, v)| format!("-D{k}={v}")));
    options
}

fn compile(op: &'static str, spec: &Specialization, sources: &[(&str, String)], options: &[String]) -> Result<Vec<u8>> {
    let fail = |what: &str, log: String| Error::Internal {
        op,
        backend: "cuda",
        message: format!("NVRTC {what} {}:\n{log}", spec.describe()),
    };
    let entry = sources
        .iter()
        .find(|(name, _)| *name == spec.entry_file)
        .expect("entry files are listed");
    let headers: Vec<&(&str, String)> = sources.iter().filter(|(name, _)| name.ends_with(".cuh")).collect();
    let c = |s: &str| CString::new(s).expect("kernel sources have no NUL");
    let entry_text = c(&entry.1);
    let entry_name = c(entry.0);
    let header_texts: Vec<CString> = headers.iter().map(|(_, text)| c(text)).collect();
    let header_names: Vec<CString> = headers.iter().map(|(name, _)| c(name)).collect();
    let text_ptrs: Vec<*const c_char> = header_texts.iter().map(|s| s.as_ptr()).collect();
    let name_ptrs: Vec<*const c_char> = header_names.iter().map(|s| s.as_ptr()).collect();
    let mut program = std::mem::MaybeUninit::uninit();
    // SAFETY: every pointer refers to a NUL-terminated string alive until the program is destroyed.
    let program = unsafe {
        sys::nvrtcCreateProgram(
            program.as_mut_ptr(),
            entry_text.as_ptr(),
            entry_name.as_ptr(),
            headers.len() as i32,
            text_ptrs.as_ptr(),
            name_ptrs.as_ptr(),
        )
        .result()
        .map_err(|e| fail("could not create a program for", format!("{e:?}")))?;
        program.assume_init()
    };
    // SAFETY: a program created above, destroyed exactly once below.
    let outcome = unsafe { result::compile_program(program, options) };
    let ptx = match outcome {
        Ok(()) => unsafe { result::get_ptx(program) }.map_err(|e| fail("produced no PTX for", format!("{e:?}"))),
        Err(_) => {
            let log = unsafe { result::get_program_log(program) }
                .map(|log| log.iter().map(|&c| c as u8 as char).collect::<String>())
                .unwrap_or_default();
            Err(fail("failed to compile", log.trim_end_matches('\0').to_string()))
        }
    };
    // SAFETY: see above.
    unsafe { result::destroy_program(program) }
        .map_err(|e| fail("could not destroy the program of", format!("{e:?}")))?;
    let mut ptx: Vec<u8> = ptx?.into_iter().map(|c| c as u8).collect();
    if ptx.last() != Some(&0) {
        ptx.push(0);
    }
    Ok(ptx)
}

/// Compiles every specialisation the library can emit for each architecture (e.g. `(8, 0)`,
/// `(9, 0)`), in parallel, without a GPU: the kernel compile check of CI and kernel authors.
/// Returns the number of modules compiled.
pub fn compile_all_kernels(architectures: &[(i32, i32)]) -> Result<usize> {
    const OP: &str = "compile_all_kernels";
    nvrtc_available()?;
    let sources = sources(OP)?;
    let jobs: Vec<(Specialization, (i32, i32))> = Specialization::all()
        .into_iter()
        .flat_map(|spec| architectures.iter().map(move |&arch| (spec.clone(), arch)))
        .collect();
    jobs.par_iter()
        .try_for_each(|(spec, arch)| compile(OP, spec, &sources, &options(spec, *arch)).map(drop))?;
    Ok(jobs.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_tell_every_input_apart() {
        let sources: Vec<(&str, String)> = SOURCES.iter().map(|&(n, t)| (n, t.to_string())).collect();
        let decode = Specialization::decode(DType::BF16, 128, 16, CacheLayout::Pal);
        let key = |spec: &Specialization, sources: &[(&str, String)], nvrtc| {
            cache_key(spec, &options(spec, (9, 0)), sources, nvrtc)
        };
        let base = key(&decode, &sources, (13, 0));
        let same_defines_other_entry = Specialization {
            entry_file: "fill.cu",
            ..decode.clone()
        };
        assert_ne!(base, key(&same_defines_other_entry, &sources, (13, 0)));
        assert_ne!(
            base,
            key(
                &Specialization::decode(DType::F16, 128, 16, CacheLayout::Pal),
                &sources,
                (13, 0)
            )
        );
        assert_ne!(base, key(&decode, &sources, (13, 1)));
        assert_ne!(base, cache_key(&decode, &options(&decode, (8, 0)), &sources, (13, 0)));
        let mut edited = sources.clone();
        edited[0].1.push(' ');
        assert_ne!(base, key(&decode, &edited, (13, 0)));
        assert_eq!(base, key(&decode, &sources, (13, 0)));
    }
}
