// The tests of this crate link libtorch through tch: give them its rpath and keep CUDA linked.
include!("../model/build_support.rs");

fn main() {
    emit_torch_link_args();
}
