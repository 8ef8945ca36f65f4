//! The weights of a Hugging Face folder as users have them: one `model.safetensors`, or shards listed by
//! `model.safetensors.index.json`, in f32, f16 or bf16. Files are memory-mapped and each tensor is copied once,
//! straight into the model's variable (converting its dtype there), so loading never holds a second copy of
//! the whole checkpoint.

use crate::error::{ModelError, Result};
use memmap2::Mmap;
use safetensors::SafeTensors;
use safetensors::tensor::Metadata;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

/// The index file `transformers` writes next to sharded weights.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

struct Shard {
    path: PathBuf,
    map: Mmap,
    header_len: usize,
    metadata: Metadata,
}

/// Memory-mapped safetensors files and which of them holds each tensor.
pub struct Checkpoint {
    dir: PathBuf,
    shards: Vec<Shard>,
    location: BTreeMap<String, usize>,
}

/// The libtorch kind of a safetensors dtype (tch's own mapping is for another safetensors version).
pub fn torch_kind(dtype: safetensors::Dtype) -> Option<Kind> {
    use safetensors::Dtype as D;
    Some(match dtype {
        D::BOOL => Kind::Bool,
        D::U8 => Kind::Uint8,
        D::I8 => Kind::Int8,
        D::I16 => Kind::Int16,
        D::I32 => Kind::Int,
        D::I64 => Kind::Int64,
        D::BF16 => Kind::BFloat16,
        D::F16 => Kind::Half,
        D::F32 => Kind::Float,
        D::F64 => Kind::Double,
        _ => return None,
    })
}

/// The weight files of `dir`: the shards the index names, else every `*.safetensors` in name order.
fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index = dir.join(INDEX_FILE);
    if index.is_file() {
        let text = std::fs::read_to_string(&index).map_err(|e| ModelError::io(&index, e))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| ModelError::Json { path: index.clone(), source })?;
        let map = value.get("weight_map").and_then(|m| m.as_object()).ok_or_else(|| ModelError::Weights {
            dir: dir.to_path_buf(),
            message: format!("{INDEX_FILE} has no weight_map object"),
        })?;
        let mut files: Vec<PathBuf> = Vec::new();
        for (name, file) in map {
            let file = file.as_str().ok_or_else(|| ModelError::Weights {
                dir: dir.to_path_buf(),
                message: format!("{INDEX_FILE}: weight_map.{name} is not a file name"),
            })?;
            let path = dir.join(file);
            if !files.contains(&path) {
                files.push(path);
            }
        }
        files.sort();
        return Ok(files);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| ModelError::io(dir, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ModelError::Weights { dir: dir.to_path_buf(), message: "no *.safetensors file".to_string() });
    }
    Ok(files)
}

impl Checkpoint {
    pub fn open(dir: &Path) -> Result<Self> {
        let mut shards = Vec::new();
        let mut location = BTreeMap::new();
        for path in weight_files(dir)? {
            let file = std::fs::File::open(&path).map_err(|e| ModelError::io(&path, e))?;
            // SAFETY: checkpoint folders are not written while a model loads from them (the store publishes
            // finished folders only); a concurrent writer could change the bytes under the map.
            let map = unsafe { Mmap::map(&file) }.map_err(|e| ModelError::io(&path, e))?;
            let bad = |e: safetensors::SafeTensorError| ModelError::Safetensors { path: path.clone(), message: e.to_string() };
            // `deserialize` checks that every tensor's bytes lie inside the file; only offsets are kept.
            SafeTensors::deserialize(&map).map_err(bad)?;
            let (header_len, metadata) = SafeTensors::read_metadata(&map).map_err(bad)?;
            for name in metadata.tensors().keys() {
                if let Some(previous) = location.insert(name.clone(), shards.len()) {
                    let other: &Shard = &shards[previous];
                    return Err(ModelError::Weights {
                        dir: dir.to_path_buf(),
                        message: format!("tensor {name} is in both {} and {}", other.path.display(), path.display()),
                    });
                }
            }
            shards.push(Shard { path, map, header_len, metadata });
        }
        Ok(Checkpoint { dir: dir.to_path_buf(), shards, location })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every tensor name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.location.keys().map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.location.contains_key(name)
    }

    /// The shape of `name`, without reading its data.
    pub fn shape(&self, name: &str) -> Option<Vec<i64>> {
        let shard = &self.shards[*self.location.get(name)?];
        shard.metadata.info(name).map(|info| info.shape.iter().map(|&d| d as i64).collect())
    }

    /// `name` as a host tensor of its stored dtype (one copy of that tensor's bytes), or `None` if absent.
    pub fn tensor(&self, name: &str) -> Result<Option<Tensor>> {
        let Some(&index) = self.location.get(name) else { return Ok(None) };
        let shard = &self.shards[index];
        let bad = |message: String| ModelError::Safetensors { path: shard.path.clone(), message: format!("tensor {name}: {message}") };
        let info = shard.metadata.info(name).ok_or_else(|| bad("vanished from the header".to_string()))?;
        let kind = torch_kind(info.dtype).ok_or_else(|| bad(format!("unsupported dtype {:?}", info.dtype)))?;
        let start = 8 + shard.header_len + info.data_offsets.0;
        let end = 8 + shard.header_len + info.data_offsets.1;
        let size: Vec<i64> = info.shape.iter().map(|&d| d as i64).collect();
        let tensor = Tensor::f_from_data_size(&shard.map[start..end], &size, kind).map_err(|e| bad(e.to_string()))?;
        Ok(Some(tensor))
    }

    /// Copies every variable from the checkpoint (converting dtypes), refusing missing tensors, tensors of
    /// another shape, and tensors the model would not use. `ignorable` names checkpoint tensors that
    /// `transformers` itself ignores for this model (a tied `lm_head.weight`, cached rotary tables).
    pub fn copy_into(&self, variables: &HashMap<String, Tensor>, ignorable: &dyn Fn(&str) -> bool) -> Result<()> {
        let weights_error = |message: String| ModelError::Weights { dir: self.dir.clone(), message };
        let mut missing: Vec<&str> = variables.keys().filter(|n| !self.contains(n)).map(String::as_str).collect();
        if !missing.is_empty() {
            missing.sort();
            return Err(weights_error(format!("missing tensor(s) {}", missing.join(", "))));
        }
        let unused: Vec<&str> = self.names().filter(|n| !variables.contains_key(*n) && !ignorable(n)).collect();
        if !unused.is_empty() {
            return Err(weights_error(format!(
                "tensor(s) {} are not used by this configuration (a config field may be missing)",
                unused.join(", ")
            )));
        }
        let mut sorted: Vec<(&String, &Tensor)> = variables.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        for (name, variable) in sorted {
            let shape = self.shape(name).unwrap_or_default();
            if shape != variable.size() {
                return Err(weights_error(format!(
                    "tensor {name} has shape {shape:?}, config implies {:?}",
                    variable.size()
                )));
            }
            let source = self.tensor(name)?.ok_or_else(|| weights_error(format!("missing tensor {name}")))?;
            let mut variable = variable.shallow_clone();
            tch::no_grad(|| variable.f_copy_(&source))?;
        }
        Ok(())
    }
}
