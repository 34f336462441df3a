//! Lists the kernel keys CI compiles (`KernelKey::representative`), one JSON object a line: the
//! key's name, its entry file, the architecture it is bound to (`null`: any), the GPU it was
//! chosen for (`gpu`, which CI compiles it for) and its `-D` defines. `scripts/sass_compare.py`
//! compiles them from two kernel folders and compares the SASS, so that a kernel refactor can
//! show it changes nothing without a GPU.
//!
//! Run with `cargo run -q -p pal-core --example kernel_keys [NAME_SUBSTRING]`.

use pal_core::cuda::jit::KernelKey;

/// `text` as a JSON string (names and defines hold no control characters).
fn json(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn main() {
    let filter = std::env::args().nth(1).unwrap_or_default();
    for (key, (major, minor)) in KernelKey::representative() {
        let name = key.name();
        if !name.contains(&filter) {
            continue;
        }
        let arch = key.family.arch_specific().map_or("null".to_string(), |(major, minor)| {
            json(&format!("sm_{major}{minor}a"))
        });
        let defines: Vec<String> = key.defines().iter().map(|(k, v)| json(&format!("{k}={v}"))).collect();
        println!(
            "{{\"name\": {}, \"entry\": {}, \"arch\": {arch}, \"gpu\": \"sm_{major}{minor}\", \"defines\": [{}]}}",
            json(&name),
            json(key.family.entry_file()),
            defines.join(", ")
        );
    }
}
