// Only `inscl-exec` links libtorch: it alone gets the rpath and the CUDA backend kept linked. The `inscl`
// binary and the tests must not, or every `inscl status` would pay for loading libtorch.
include!("../model/build_support.rs");

fn main() {
    emit_torch_link_args_for("-bin=inscl-exec");
}
