//! Devices and the precision they imply. The device a stage runs on is a runtime knob (`cuda:0` and `cuda:1`
//! give the same numbers), but its *kind* is not: CUDA trains under bf16 autocast and decodes with bf16 weights,
//! the CPU in f32. So the kind is resolved while the graph is built, turned into a [`Precision`], and the
//! precision enters the keys of the model stages; a GPU artifact is never served to a CPU run or back.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `device = "auto" | "cpu" | "cuda" | "cuda:N"` in a pipeline file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The first GPU libtorch sees, else the CPU.
    Auto,
    Cpu,
    Cuda(usize),
}

impl DeviceChoice {
    pub fn parse(spec: &str) -> Result<DeviceChoice, String> {
        match spec.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
            other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(n)) => Ok(DeviceChoice::Cuda(n)),
                _ => Err(format!("'{spec}' is not a device (expected auto, cpu, cuda or cuda:N)")),
            },
        }
    }

    /// The kind this choice runs on here: `auto` is CUDA when the machine shows a GPU ([`cuda_present`]).
    /// Planning does not load libtorch (so `status` stays fast); the executor checks that libtorch agrees and
    /// refuses to compute an instance in another precision than its key says.
    pub fn kind(self) -> DeviceKind {
        match self {
            DeviceChoice::Cpu => DeviceKind::Cpu,
            DeviceChoice::Cuda(_) => DeviceKind::Cuda,
            DeviceChoice::Auto if cuda_present() => DeviceKind::Cuda,
            DeviceChoice::Auto => DeviceKind::Cpu,
        }
    }
}

/// Whether this machine shows a CUDA GPU to this process: the NVIDIA driver lists one, and
/// `CUDA_VISIBLE_DEVICES` does not hide them all. What libtorch's `cuda::is_available` would say on a machine
/// whose driver works, without loading libtorch.
pub fn cuda_present() -> bool {
    if let Ok(v) = std::env::var("CUDA_VISIBLE_DEVICES") {
        let v = v.trim();
        if v.is_empty() || v.starts_with('-') {
            return false;
        }
    }
    std::fs::read_dir("/proc/driver/nvidia/gpus").is_ok_and(|mut d| d.next().is_some())
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceChoice::Auto => f.write_str("auto"),
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl Serialize for DeviceChoice {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for DeviceChoice {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DeviceChoice::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Cpu,
    Cuda,
}

/// The arithmetic a model stage computes in: part of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    F32,
    /// bf16 autocast (training) and bf16 weights (decoding), as the model and finetune crates do on CUDA.
    Bf16,
}

impl Precision {
    pub fn of(kind: DeviceKind) -> Precision {
        match kind {
            DeviceKind::Cpu => Precision::F32,
            DeviceKind::Cuda => Precision::Bf16,
        }
    }
}

/// The libtorch the binary links, from the build script: another torch may round differently.
pub const LIBTORCH_VERSION: &str = env!("INSCL_LIBTORCH_VERSION");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling_and_refuses_the_rest() {
        assert_eq!(DeviceChoice::parse("auto"), Ok(DeviceChoice::Auto));
        assert_eq!(DeviceChoice::parse(" CPU "), Ok(DeviceChoice::Cpu));
        assert_eq!(DeviceChoice::parse("cuda"), Ok(DeviceChoice::Cuda(0)));
        assert_eq!(DeviceChoice::parse("cuda:3"), Ok(DeviceChoice::Cuda(3)));
        assert!(DeviceChoice::parse("tpu").unwrap_err().contains("'tpu'"));
        assert!(DeviceChoice::parse("cuda:x").is_err());
        assert_eq!(Precision::of(DeviceChoice::Cuda(1).kind()), Precision::Bf16);
        assert_eq!(Precision::of(DeviceChoice::Cpu.kind()), Precision::F32);
        assert!(LIBTORCH_VERSION.starts_with("2."), "{LIBTORCH_VERSION}");
    }
}
