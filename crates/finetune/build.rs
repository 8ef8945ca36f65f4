// The test binaries of this crate link libtorch; the rpath and CUDA link arguments must come from this crate's
// own build script (see the shared helper for why).
include!("../model/build_support.rs");

fn main() {
    emit_torch_link_args();
}
