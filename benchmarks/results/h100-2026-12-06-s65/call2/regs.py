"""regs.py DIR [FILTER...]: registers / spills of kv_b/device_keys.jsonl's keys from kernel folder DIR (sm_90a)."""
import json, os, re, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
lib = os.path.abspath(".venv/nvrtc-13.0/nvidia/cu13/lib")
env = dict(os.environ, PAL_NVRTC=lib + "/libnvrtc.so.13", LD_LIBRARY_PATH=lib)
folder, filters = sys.argv[1], sys.argv[2:]
keys = [json.loads(l) for l in open("kv_b/device_keys.jsonl")]
keys = [k for k in keys if all(f in k["name"] for f in filters)]
def one(k):
    cmd = [".venv/bin/python", "scripts/kernel_report.py", k["entry"], "--arch", "sm_90", "--kernel-dir", folder]
    for d in k["defines"]: cmd += ["-D", d]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env).stdout
    out = out.split("function 'pal_prefill'")[-1]
    m = re.findall(r"(\d+) registers|(\d+) bytes spill stores|(\d+) bytes spill loads", out)
    regs = re.search(r"(\d+) registers", out); st = re.search(r"(\d+) bytes spill stores", out); ld = re.search(r"(\d+) bytes spill loads", out)
    return f"{k['name'].split('[')[0]:45s} regs {regs and regs.group(1)} spill st {st and st.group(1)} ld {ld and ld.group(1)}" if regs else k["name"] + "\n" + out[-800:]
with ThreadPoolExecutor(2) as ex:
    for line in ex.map(one, keys): print(line)
