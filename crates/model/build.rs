include!("build_support.rs");

fn main() {
    emit_torch_link_args();
}
