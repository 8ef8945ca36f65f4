//! Parsing of the `--device` option shared by every stage that runs a model.

use crate::error::ModelError;
use tch::Device;

/// Parses `auto`, `cpu`, `cuda` or `cuda:N`; `auto` picks the first GPU when libtorch sees one.
pub fn parse_device(spec: &str) -> Result<Device, ModelError> {
    let spec_lower = spec.trim().to_ascii_lowercase();
    match spec_lower.as_str() {
        "auto" => Ok(Device::cuda_if_available()),
        "cpu" => Ok(Device::Cpu),
        "cuda" | "gpu" => cuda_device(0, spec),
        other => match other.strip_prefix("cuda:") {
            Some(index) => {
                let index: usize = index.parse().map_err(|_| ModelError::Device(spec.to_string()))?;
                cuda_device(index, spec)
            }
            None => Err(ModelError::Device(spec.to_string())),
        },
    }
}

fn cuda_device(index: usize, spec: &str) -> Result<Device, ModelError> {
    let available = if tch::Cuda::is_available() { tch::Cuda::device_count() as usize } else { 0 };
    if index >= available {
        return Err(ModelError::Device(format!("{spec} (libtorch sees {available} CUDA device(s))")));
    }
    Ok(Device::Cuda(index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_and_auto_and_rejects_garbage() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        assert_eq!(parse_device(" CPU ").unwrap(), Device::Cpu);
        let auto = parse_device("auto").unwrap();
        assert_eq!(auto.is_cuda(), tch::Cuda::is_available());
        assert!(matches!(parse_device("tpu"), Err(ModelError::Device(_))));
        assert!(matches!(parse_device("cuda:x"), Err(ModelError::Device(_))));
        assert!(parse_device("cuda:99").is_err());
    }
}
