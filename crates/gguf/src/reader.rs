//! The GGUF container: header, typed key/value metadata, tensor infos and the aligned data section.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::GgufError;
use crate::dequant::GgmlType;

const MAGIC: [u8; 4] = *b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;

/// One metadata value, with every GGUF value type (0 = u8 … 12 = f64).
#[derive(Debug, Clone, PartialEq)]
pub enum MetadataValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(Vec<MetadataValue>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl MetadataValue {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::U8(_) => "u8",
            Self::I8(_) => "i8",
            Self::U16(_) => "u16",
            Self::I16(_) => "i16",
            Self::U32(_) => "u32",
            Self::I32(_) => "i32",
            Self::F32(_) => "f32",
            Self::Bool(_) => "bool",
            Self::String(_) => "string",
            Self::Array(_) => "array",
            Self::U64(_) => "u64",
            Self::I64(_) => "i64",
            Self::F64(_) => "f64",
        }
    }

    /// Any integer type, widened; writers disagree on u32 versus i32 for counts and ids.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Self::U8(v) => Some(v.into()),
            Self::I8(v) => Some(v.into()),
            Self::U16(v) => Some(v.into()),
            Self::I16(v) => Some(v.into()),
            Self::U32(v) => Some(v.into()),
            Self::I32(v) => Some(v.into()),
            Self::U64(v) => i64::try_from(v).ok(),
            Self::I64(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::F32(v) => Some(v.into()),
            Self::F64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }
}

/// A tensor's entry in the GGUF index. `dims` is in GGUF order (`dims[0]` is the fastest-varying axis).
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub dims: Vec<u64>,
    pub ggml_type: GgmlType,
    /// Offset of the tensor's bytes from the start of the data section.
    pub offset: u64,
}

impl TensorInfo {
    /// The PyTorch shape: GGUF dims reversed, so the last axis is the contiguous one.
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }

    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// A parsed GGUF file: everything but the tensor data, which [`Gguf::tensor_bytes`] reads on demand.
#[derive(Debug, Clone)]
pub struct Gguf {
    pub path: PathBuf,
    pub version: u32,
    /// Key/value pairs in file order.
    pub metadata: Vec<(String, MetadataValue)>,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    /// Absolute file offset of the data section.
    pub data_offset: u64,
    pub file_len: u64,
}

/// Parses the header, metadata and tensor infos of a GGUF (version 2 or 3) file.
pub fn read_gguf(path: &Path) -> Result<Gguf, GgufError> {
    let io_err = |source| GgufError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let file_len = file.metadata().map_err(io_err)?.len();
    let mut reader = GgufReader {
        inner: BufReader::new(file),
        pos: 0,
        file_len,
        path,
    };

    let magic: [u8; 4] = reader.array()?;
    if magic != MAGIC {
        return Err(GgufError::BadMagic {
            path: path.to_path_buf(),
            found: magic,
        });
    }
    let version = u32::from_le_bytes(reader.array()?);
    if !(2..=3).contains(&version) {
        return Err(GgufError::UnsupportedVersion {
            path: path.to_path_buf(),
            version,
        });
    }
    let tensor_count = reader.u64()?;
    let kv_count = reader.u64()?;
    // Every entry takes at least 8 bytes, so larger counts can only come from a corrupt header.
    for (what, count) in [("tensor", tensor_count), ("key/value", kv_count)] {
        if count > file_len / 8 {
            return Err(reader.malformed(format!("{what} count {count} exceeds the file size")));
        }
    }

    let mut metadata = Vec::with_capacity(kv_count as usize);
    for _ in 0..kv_count {
        let key = reader.string()?;
        let value_type = u32::from_le_bytes(reader.array()?);
        let value = reader.value(value_type, &key)?;
        metadata.push((key, value));
    }

    let mut tensors = Vec::with_capacity(tensor_count as usize);
    for _ in 0..tensor_count {
        let name = reader.string()?;
        let n_dims = u32::from_le_bytes(reader.array()?);
        if n_dims > 8 {
            return Err(reader.malformed(format!("tensor `{name}` has {n_dims} dimensions")));
        }
        let dims = (0..n_dims)
            .map(|_| reader.u64())
            .collect::<Result<Vec<_>, _>>()?;
        let ggml_type = GgmlType::from_id(u32::from_le_bytes(reader.array()?));
        let offset = reader.u64()?;
        tensors.push(TensorInfo {
            name,
            dims,
            ggml_type,
            offset,
        });
    }

    let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some((_, value)) => match value.as_i64() {
            Some(a) if a > 0 => a as u64,
            _ => return Err(reader.malformed(format!("general.alignment is {value:?}"))),
        },
    };
    let data_offset = reader.pos.div_ceil(alignment) * alignment;
    Ok(Gguf {
        path: path.to_path_buf(),
        version,
        metadata,
        tensors,
        alignment,
        data_offset,
        file_len,
    })
}

impl Gguf {
    pub fn get(&self, key: &str) -> Option<&MetadataValue> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn require(&self, key: &str) -> Result<&MetadataValue, GgufError> {
        self.get(key).ok_or_else(|| GgufError::MissingKey {
            key: key.to_string(),
        })
    }

    fn wrong_type(key: &str, expected: &'static str, found: &MetadataValue) -> GgufError {
        GgufError::WrongKeyType {
            key: key.to_string(),
            expected,
            found: found.type_name(),
        }
    }

    pub fn get_i64(&self, key: &str) -> Result<i64, GgufError> {
        let value = self.require(key)?;
        value
            .as_i64()
            .ok_or_else(|| Self::wrong_type(key, "integer", value))
    }

    pub fn get_f64(&self, key: &str) -> Result<f64, GgufError> {
        let value = self.require(key)?;
        value
            .as_f64()
            .ok_or_else(|| Self::wrong_type(key, "number", value))
    }

    pub fn get_str(&self, key: &str) -> Result<&str, GgufError> {
        match self.require(key)? {
            MetadataValue::String(s) => Ok(s),
            other => Err(Self::wrong_type(key, "string", other)),
        }
    }

    pub fn get_array(&self, key: &str) -> Result<&[MetadataValue], GgufError> {
        match self.require(key)? {
            MetadataValue::Array(items) => Ok(items),
            other => Err(Self::wrong_type(key, "array", other)),
        }
    }

    pub fn get_str_array(&self, key: &str) -> Result<Vec<&str>, GgufError> {
        self.get_array(key)?
            .iter()
            .map(|item| match item {
                MetadataValue::String(s) => Ok(s.as_str()),
                other => Err(Self::wrong_type(key, "array of strings", other)),
            })
            .collect()
    }

    pub fn get_i64_array(&self, key: &str) -> Result<Vec<i64>, GgufError> {
        self.get_array(key)?
            .iter()
            .map(|item| {
                item.as_i64()
                    .ok_or_else(|| Self::wrong_type(key, "array of integers", item))
            })
            .collect()
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Reads one tensor's raw (possibly quantised) bytes from the data section.
    pub fn tensor_bytes(&self, info: &TensorInfo) -> Result<Vec<u8>, GgufError> {
        let len = info.ggml_type.byte_size(info)?;
        let start = self.data_offset.checked_add(info.offset);
        let end = start.and_then(|s| s.checked_add(len));
        let (Some(start), Some(end)) = (start, end) else {
            return Err(bad_tensor(info, "offset overflows".into()));
        };
        if end > self.file_len {
            let reason = format!(
                "data [{start}, {end}) runs past the end of the file ({} bytes)",
                self.file_len
            );
            return Err(bad_tensor(info, reason));
        }
        let io_err = |source| GgufError::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = File::open(&self.path).map_err(io_err)?;
        file.seek(SeekFrom::Start(start)).map_err(io_err)?;
        let mut bytes = vec![0u8; len as usize];
        file.read_exact(&mut bytes).map_err(io_err)?;
        Ok(bytes)
    }
}

pub(crate) fn bad_tensor(info: &TensorInfo, reason: String) -> GgufError {
    GgufError::BadTensor {
        tensor: info.name.clone(),
        reason,
    }
}

/// Little-endian reader that tracks its position, for error messages and for locating the data section.
struct GgufReader<'p, R> {
    inner: R,
    pos: u64,
    file_len: u64,
    path: &'p Path,
}

impl<R: Read> GgufReader<'_, R> {
    fn malformed(&self, reason: String) -> GgufError {
        GgufError::Malformed {
            path: self.path.to_path_buf(),
            offset: self.pos,
            reason,
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], GgufError> {
        let mut buf = [0u8; N];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| self.malformed(format!("truncated header ({e})")))?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u64(&mut self) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A length that must fit in what remains of the file (guards allocations against corrupt lengths).
    fn length(&mut self, unit_bytes: u64) -> Result<usize, GgufError> {
        let len = self.u64()?;
        if len.saturating_mul(unit_bytes) > self.file_len.saturating_sub(self.pos) {
            return Err(self.malformed(format!("length {len} exceeds the remaining file size")));
        }
        Ok(len as usize)
    }

    fn string(&mut self) -> Result<String, GgufError> {
        let len = self.length(1)?;
        let mut buf = vec![0u8; len];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| self.malformed(format!("truncated string ({e})")))?;
        self.pos += len as u64;
        String::from_utf8(buf).map_err(|e| self.malformed(format!("string is not UTF-8 ({e})")))
    }

    fn value(&mut self, value_type: u32, key: &str) -> Result<MetadataValue, GgufError> {
        use MetadataValue as V;
        Ok(match value_type {
            0 => V::U8(u8::from_le_bytes(self.array()?)),
            1 => V::I8(i8::from_le_bytes(self.array()?)),
            2 => V::U16(u16::from_le_bytes(self.array()?)),
            3 => V::I16(i16::from_le_bytes(self.array()?)),
            4 => V::U32(u32::from_le_bytes(self.array()?)),
            5 => V::I32(i32::from_le_bytes(self.array()?)),
            6 => V::F32(f32::from_le_bytes(self.array()?)),
            7 => match self.array::<1>()?[0] {
                0 => V::Bool(false),
                1 => V::Bool(true),
                b => return Err(self.malformed(format!("key `{key}`: bool byte {b}"))),
            },
            8 => V::String(self.string()?),
            9 => {
                let item_type = u32::from_le_bytes(self.array()?);
                // A nested array element is at least its own 12-byte header (type + length).
                let min_item_bytes = if item_type == 9 { 12 } else { 1 };
                let len = self.length(min_item_bytes)?;
                V::Array(
                    (0..len)
                        .map(|_| self.value(item_type, key))
                        .collect::<Result<_, _>>()?,
                )
            }
            10 => V::U64(u64::from_le_bytes(self.array()?)),
            11 => V::I64(i64::from_le_bytes(self.array()?)),
            12 => V::F64(f64::from_le_bytes(self.array()?)),
            other => {
                return Err(self.malformed(format!("key `{key}` has unknown value type {other}")));
            }
        })
    }
}
