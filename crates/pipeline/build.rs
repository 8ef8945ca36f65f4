// Names the libtorch version for the model stages' cache keys. This crate does not link libtorch (planning
// and `status` must not pay for loading it); the version is read from the same Python torch that inscl-exec links.
include!("../model/build_support.rs");

fn main() {
    emit_torch_version();
}
