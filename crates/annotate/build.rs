// The keyphrase benchmark example links libtorch through its dev-dependency on the model crate: give it the
// torch rpath (and keep CUDA linked), so it runs without LD_LIBRARY_PATH. The library itself does not link it.
include!("../model/build_support.rs");

fn main() {
    emit_torch_link_args_for("-examples");
}
