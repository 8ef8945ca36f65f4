//! Tensors written to a safetensors file one at a time, as f32 on the host: a checkpoint or a training state
//! never has to fit in host memory twice (the `safetensors::serialize` route builds the whole file in a `Vec`).

use crate::error::{ModelError, Result};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// A tensor as a safetensors view whose bytes (f32, on the host) are made only when the writer asks for them.
/// `View::data` cannot fail, so a libtorch error goes to `failed` and the view yields zeros.
struct HostView<'a> {
    tensor: &'a Tensor,
    shape: Vec<usize>,
    failed: &'a RefCell<Option<tch::TchError>>,
}

/// The tensor's values as little-endian f32 bytes on the host (a copy of this one tensor).
pub fn host_f32_bytes(tensor: &Tensor) -> std::result::Result<Vec<u8>, tch::TchError> {
    let host = tensor.f_detach()?.f_to_device(Device::Cpu)?.f_to_kind(Kind::Float)?.f_contiguous()?;
    let mut bytes = vec![0u8; host.numel() * 4];
    host.f_copy_data_u8(&mut bytes, host.numel())?;
    Ok(bytes)
}

impl safetensors::View for HostView<'_> {
    fn dtype(&self) -> safetensors::Dtype {
        safetensors::Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        match host_f32_bytes(self.tensor) {
            Ok(bytes) => Cow::Owned(bytes),
            Err(e) => {
                self.failed.borrow_mut().get_or_insert(e);
                Cow::Owned(vec![0u8; self.data_len()])
            }
        }
    }

    fn data_len(&self) -> usize {
        self.shape.iter().product::<usize>() * 4
    }
}

fn views<'a, N: AsRef<str>>(
    tensors: &'a [(N, &'a Tensor)],
    failed: &'a RefCell<Option<tch::TchError>>,
) -> Vec<(&'a str, HostView<'a>)> {
    tensors
        .iter()
        .map(|(name, tensor)| {
            let shape = tensor.size().iter().map(|&d| d as usize).collect();
            (name.as_ref(), HostView { tensor, shape, failed })
        })
        .collect()
}

/// The whole file in memory, for callers that hash or compare it; prefer [`write_f32`] for anything large.
pub fn serialize_f32<N: AsRef<str>>(tensors: &[(N, &Tensor)], metadata: HashMap<String, String>) -> Result<Vec<u8>> {
    let failed = RefCell::new(None);
    let bytes = safetensors::serialize(views(tensors, &failed), Some(metadata))
        .map_err(|e| ModelError::Serialise { what: "safetensors".to_string(), message: e.to_string() })?;
    match failed.into_inner() {
        Some(e) => Err(e.into()),
        None => Ok(bytes),
    }
}

/// Writes `tensors` (f32, in the order given) to `path` in place, streaming one tensor at a time. On error the
/// partial file is removed; atomicity is the caller's (a temp path it renames, or a staging folder).
pub fn write_f32<N: AsRef<str>>(tensors: &[(N, &Tensor)], metadata: HashMap<String, String>, path: &Path) -> Result<()> {
    let failed = RefCell::new(None);
    let written = safetensors::serialize_to_file(views(tensors, &failed), Some(metadata), path).map_err(|e| match e {
        safetensors::SafeTensorError::IoError(source) => ModelError::io(path, source),
        other => ModelError::Serialise { what: path.display().to_string(), message: other.to_string() },
    });
    if let Some(e) = failed.into_inner() {
        // The file holds zeros where that tensor failed: not a file anyone should load.
        let _ = std::fs::remove_file(path);
        return Err(e.into());
    }
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_file_is_the_in_memory_serialisation() {
        let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0]).view([2, 2]);
        let b = Tensor::from_slice(&[0.5f64, -1.5]).view([2]);
        let tensors = [("b/second", &b), ("a/first", &a)];
        let meta = HashMap::from([("k".to_string(), "v".to_string())]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.safetensors");
        write_f32(&tensors, meta.clone(), &path).unwrap();
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(on_disk, serialize_f32(&tensors, meta).unwrap());
        let read = safetensors::SafeTensors::deserialize(&on_disk).unwrap();
        let view = read.tensor("b/second").unwrap();
        assert_eq!(view.dtype(), safetensors::Dtype::F32);
        let values: Vec<f32> = view.data().chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(values, vec![0.5, -1.5]);
    }
}
