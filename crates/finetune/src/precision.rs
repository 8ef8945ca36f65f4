//! bf16 autocast on CUDA. `tch::autocast` switches CUDA autocast on but leaves its dtype at libtorch's default,
//! float16, which overflows in LLM training; tch 0.24 has no binding for `at::autocast::set_autocast_dtype`, so
//! it is declared here by its (Itanium-mangled) symbol in libtorch_cpu, which tch already links. Both enum
//! arguments are `int8_t`-backed, so the C calling convention matches. The dtype is read back after setting it,
//! and training refuses to start if it did not take.

use crate::error::{FinetuneError, Result};

mod ffi {
    unsafe extern "C" {
        /// `void at::autocast::set_autocast_dtype(c10::DeviceType, c10::ScalarType)`
        #[link_name = "_ZN2at8autocast18set_autocast_dtypeEN3c1010DeviceTypeENS1_10ScalarTypeE"]
        pub fn set_autocast_dtype(device_type: i8, dtype: i8);
        /// `c10::ScalarType at::autocast::get_autocast_dtype(c10::DeviceType)`
        #[link_name = "_ZN2at8autocast18get_autocast_dtypeEN3c1010DeviceTypeE"]
        pub fn get_autocast_dtype(device_type: i8) -> i8;
    }
}

/// `c10::DeviceType::CUDA`.
const DEVICE_TYPE_CUDA: i8 = 1;
/// `c10::ScalarType::BFloat16`.
const SCALAR_TYPE_BFLOAT16: i8 = 15;

/// The dtype CUDA autocast casts to, as a `c10::ScalarType` code (5 = Half, 15 = BFloat16).
pub fn cuda_autocast_dtype() -> i8 {
    // SAFETY: a plain read of a thread-local array in libtorch; no pointers cross the boundary.
    unsafe { ffi::get_autocast_dtype(DEVICE_TYPE_CUDA) }
}

/// Makes CUDA autocast on this thread cast to bf16 (the setting is thread-local in libtorch, so this is called
/// on the training thread before every forward pass that runs under `tch::autocast`).
pub fn use_bf16_cuda_autocast() -> Result<()> {
    // SAFETY: writes one entry of a thread-local array in libtorch; both arguments are valid enum values.
    unsafe { ffi::set_autocast_dtype(DEVICE_TYPE_CUDA, SCALAR_TYPE_BFLOAT16) };
    let now = cuda_autocast_dtype();
    if now != SCALAR_TYPE_BFLOAT16 {
        return Err(FinetuneError::Autocast(format!(
            "CUDA autocast dtype is c10::ScalarType {now} after setting BFloat16 ({SCALAR_TYPE_BFLOAT16})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_autocast_dtype_round_trips_through_libtorch() {
        // libtorch's default for CUDA autocast is float16; the setter must change it (works without a GPU).
        assert_eq!(cuda_autocast_dtype(), 5);
        use_bf16_cuda_autocast().unwrap();
        assert_eq!(cuda_autocast_dtype(), SCALAR_TYPE_BFLOAT16);
    }
}
