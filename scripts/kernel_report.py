"""Compiles one kernel specialisation with NVRTC to a CUBIN, without a GPU, and prints what the
assembler reports (registers, spills, shared memory, serialised wgmma); optionally writes the
CUBIN and the PTX, and with `--sass` counts the SASS of every loop (instructions, tensor-core
ops, async copies, exponentials, barriers) with `cuobjdump` (`pip install nvidia-cuda-cuobjdump`).
The kernel-development loop's first step: count before timing.

    python scripts/kernel_report.py decode_mma.cu -D PAL_HEAD_DIM=128 ... [--arch sm_90a] [--sass]
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

KERNELS = pathlib.Path(__file__).resolve().parent.parent / "crates" / "pal-core" / "kernels"


def nvrtc() -> ctypes.CDLL:
    if os.environ.get("PAL_NVRTC"):  # another NVRTC, e.g. the oldest PAL supports (scripts/nvrtc_floor.sh)
        return ctypes.CDLL(os.environ["PAL_NVRTC"])
    import nvidia

    for root in nvidia.__path__:
        library = pathlib.Path(root) / "cu13" / "lib" / "libnvrtc.so.13"
        if library.exists():
            return ctypes.CDLL(str(library))
    return ctypes.CDLL("libnvrtc.so.13")


def compile_cubin(
    entry: str, defines: list[str], arch: str, kernel_dir: pathlib.Path
) -> tuple[bytes, str, str]:
    lib = nvrtc()
    headers = sorted((kernel_dir / "include" / "pal").glob("*.cuh"))
    names = [f"pal/{h.name}".encode() for h in headers]
    texts = [h.read_bytes() for h in headers]
    program = ctypes.c_void_p()
    arr = ctypes.c_char_p * len(headers)
    source = (kernel_dir / entry).read_bytes()
    status = lib.nvrtcCreateProgram(
        ctypes.byref(program), source, entry.encode(), len(headers), arr(*texts), arr(*names)
    )
    assert status == 0, status
    options = [f"--gpu-architecture={arch}", "--std=c++17", "--device-as-default-execution-space"]
    options.append("-Xptxas=-v")
    options += [f"-D{d}" for d in defines]
    option_array = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
    status = lib.nvrtcCompileProgram(program, len(options), option_array)
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(program, log)
    if status != 0:
        return b"", "", log.value.decode()
    lib.nvrtcGetCUBINSize(program, ctypes.byref(size))
    cubin = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetCUBIN(program, cubin)
    lib.nvrtcGetPTXSize(program, ctypes.byref(size))
    ptx = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetPTX(program, ptx)
    return cubin.raw, ptx.value.decode(), log.value.decode()


# Opcode families worth counting per loop (a prefix of the SASS opcode).
COUNTED = ("HGMMA", "HMMA", "LDGSTS", "LDG", "LDSM", "LDS", "STS", "MUFU", "BAR", "SHFL")


def cuobjdump() -> str | None:
    found = shutil.which("cuobjdump")
    if found:
        return found
    import nvidia

    for root in nvidia.__path__:
        tool = pathlib.Path(root) / "cu13" / "bin" / "cuobjdump"
        if tool.exists():
            return str(tool)
    return None


def sass_report(cubin: bytes) -> str:
    """Instruction counts of the whole kernel and of each loop: a backward branch's span, static
    (the code of every branch inside it counts)."""
    tool = cuobjdump()
    if tool is None:
        return "no cuobjdump: pip install nvidia-cuda-cuobjdump"
    with tempfile.NamedTemporaryFile(suffix=".cubin") as file:
        file.write(cubin)
        file.flush()
        text = subprocess.run([tool, "-sass", file.name], capture_output=True, text=True, check=True).stdout
    line = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)(.*?);")
    code = [(int(m[1], 16), m[2], m[3]) for m in map(line.search, text.splitlines()) if m]

    def counts(span) -> str:
        tally = collections.Counter(next((c for c in COUNTED if op.startswith(c)), None) for _, op, _ in span)
        return ", ".join(f"{c} {tally[c]}" for c in COUNTED if tally[c])

    rows = [f"kernel: {len(code)} instructions; {counts(code)}"]
    for address, op, operands in code:
        target = re.search(r"0x([0-9a-f]+)", operands)
        start = int(target[1], 16) if target else address
        if op.startswith("BRA") and start < address:
            body = [c for c in code if start <= c[0] <= address]
            rows.append(f"loop 0x{start:x}-0x{address:x}: {len(body)} instructions; {counts(body)}")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("entry", help="entry file under the kernel folder, e.g. decode_mma.cu")
    parser.add_argument("-D", dest="defines", action="append", default=[], help="NAME=VALUE")
    parser.add_argument("--arch", default="sm_90a")
    parser.add_argument("--kernel-dir", type=pathlib.Path, default=KERNELS)
    parser.add_argument("--cubin", type=pathlib.Path, help="write the CUBIN here")
    parser.add_argument("--ptx", type=pathlib.Path, help="write the PTX here (ptxas reports cite its lines)")
    parser.add_argument("--sass", action="store_true", help="count the SASS of the kernel and of each loop")
    args = parser.parse_args()
    cubin, ptx, log = compile_cubin(args.entry, args.defines, args.arch, args.kernel_dir)
    print(log)
    if not cubin:
        return 1
    if args.cubin:
        args.cubin.write_bytes(cubin)
    if args.ptx:
        args.ptx.write_text(ptx)
    if args.sass:
        print(sass_report(cubin))
    return 0


if __name__ == "__main__":
    sys.exit(main())
