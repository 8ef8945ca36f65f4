// Binaries and tests of this crate link libtorch through tch: give them its rpath and keep CUDA linked, and
// name the libtorch version for the model stages' cache keys.
include!("../model/build_support.rs");

fn main() {
    emit_torch_link_args();
    emit_torch_version();
}
