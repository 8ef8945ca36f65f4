//! GGML tensor types and dequantisation to f32 (F32, F16, Q4_1, Q8_0).

use half::f16;

use crate::GgufError;
use crate::reader::{TensorInfo, bad_tensor};

/// Elements per Q4_1 / Q8_0 block.
pub const QK: usize = 32;
/// Q4_1 block: f16 scale `d`, f16 minimum `m`, 16 bytes of packed 4-bit quants.
pub const Q4_1_BLOCK_BYTES: usize = 2 + 2 + QK / 2;
/// Q8_0 block: f16 scale `d`, 32 signed 8-bit quants.
pub const Q8_0_BLOCK_BYTES: usize = 2 + QK;

/// A GGML tensor type id. The supported ones are named; others keep their id for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32,
    F16,
    Q4_1,
    Q8_0,
    Other(u32),
}

impl GgmlType {
    pub fn from_id(id: u32) -> Self {
        match id {
            0 => Self::F32,
            1 => Self::F16,
            3 => Self::Q4_1,
            8 => Self::Q8_0,
            other => Self::Other(other),
        }
    }

    pub fn id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_1 => 3,
            Self::Q8_0 => 8,
            Self::Other(id) => id,
        }
    }

    /// ggml's name for the type (ggml.h `enum ggml_type`).
    pub fn name(self) -> String {
        const NAMES: [&str; 40] = [
            "F32",
            "F16",
            "Q4_0",
            "Q4_1",
            "Q4_2",
            "Q4_3",
            "Q5_0",
            "Q5_1",
            "Q8_0",
            "Q8_1",
            "Q2_K",
            "Q3_K",
            "Q4_K",
            "Q5_K",
            "Q6_K",
            "Q8_K",
            "IQ2_XXS",
            "IQ2_XS",
            "IQ3_XXS",
            "IQ1_S",
            "IQ4_NL",
            "IQ3_S",
            "IQ2_S",
            "IQ4_XS",
            "I8",
            "I16",
            "I32",
            "I64",
            "F64",
            "IQ1_M",
            "BF16",
            "Q4_0_4_4",
            "Q4_0_4_8",
            "Q4_0_8_8",
            "TQ1_0",
            "TQ2_0",
            "IQ4_NL_4_4",
            "IQ4_NL_4_8",
            "IQ4_NL_8_8",
            "MXFP4",
        ];
        let id = self.id();
        match NAMES.get(id as usize) {
            Some(name) => format!("{name} (id {id})"),
            None => format!("unknown (id {id})"),
        }
    }

    fn unsupported(self, info: &TensorInfo) -> GgufError {
        GgufError::UnsupportedType {
            tensor: info.name.clone(),
            type_name: self.name(),
        }
    }

    /// Bytes the tensor occupies in the data section; also checks that rows split into whole blocks.
    pub fn byte_size(self, info: &TensorInfo) -> Result<u64, GgufError> {
        let n = info.n_elements();
        let (block_elements, block_bytes) = match self {
            Self::F32 => (1, 4),
            Self::F16 => (1, 2),
            Self::Q4_1 => (QK as u64, Q4_1_BLOCK_BYTES as u64),
            Self::Q8_0 => (QK as u64, Q8_0_BLOCK_BYTES as u64),
            Self::Other(_) => return Err(self.unsupported(info)),
        };
        let row = info.dims.first().copied().unwrap_or(1);
        if !row.is_multiple_of(block_elements) {
            let reason = format!(
                "row length {row} is not a multiple of the {} block size {block_elements}",
                self.name()
            );
            return Err(bad_tensor(info, reason));
        }
        Ok(n / block_elements * block_bytes)
    }
}

/// Dequantises a tensor's raw bytes to f32, in storage order (which is row-major in the PyTorch shape).
pub fn dequantize(info: &TensorInfo, bytes: &[u8]) -> Result<Vec<f32>, GgufError> {
    let expected = info.ggml_type.byte_size(info)?;
    if bytes.len() as u64 != expected {
        return Err(bad_tensor(
            info,
            format!("{} data bytes, expected {expected}", bytes.len()),
        ));
    }
    Ok(match info.ggml_type {
        GgmlType::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        GgmlType::F16 => bytes.chunks_exact(2).map(|b| f16_at(b, 0)).collect(),
        GgmlType::Q4_1 => dequantize_q4_1(bytes),
        GgmlType::Q8_0 => dequantize_q8_0(bytes),
        other @ GgmlType::Other(_) => return Err(other.unsupported(info)),
    })
}

fn f16_at(bytes: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32()
}

/// Q4_1: `y = d·q + m` with unsigned 4-bit `q`; the low nibbles of the 16 bytes are elements 0–15 and
/// the high nibbles elements 16–31 (ggml's `dequantize_row_q4_1`). Trailing partial blocks are ignored.
pub fn dequantize_q4_1(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / Q4_1_BLOCK_BYTES * QK);
    for block in bytes.chunks_exact(Q4_1_BLOCK_BYTES) {
        let d = f16_at(block, 0);
        let m = f16_at(block, 2);
        let quants = &block[4..];
        out.extend(quants.iter().map(|&q| d * f32::from(q & 0x0F) + m));
        out.extend(quants.iter().map(|&q| d * f32::from(q >> 4) + m));
    }
    out
}

/// Q8_0: `y = d·q` with signed 8-bit `q` (ggml's `dequantize_row_q8_0`). Trailing partial blocks are ignored.
pub fn dequantize_q8_0(bytes: &[u8]) -> Vec<f32> {
    let mut out = Vec::with_capacity(bytes.len() / Q8_0_BLOCK_BYTES * QK);
    for block in bytes.chunks_exact(Q8_0_BLOCK_BYTES) {
        let d = f16_at(block, 0);
        out.extend(block[2..].iter().map(|&q| d * f32::from(q as i8)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, dims: Vec<u64>, ggml_type: GgmlType) -> TensorInfo {
        TensorInfo {
            name: name.into(),
            dims,
            ggml_type,
            offset: 0,
        }
    }

    /// d = 0.5 (f16 0x3800), m = -1.0 (f16 0xBC00); byte j holds q = j in its low nibble and 15 - j in its high one.
    fn q4_1_block() -> Vec<u8> {
        let mut block = vec![0x00, 0x38, 0x00, 0xBC];
        block.extend((0u8..16).map(|j| j | ((15 - j) << 4)));
        block
    }

    #[test]
    fn q4_1_block_low_nibbles_first_then_high_nibbles() {
        // y = 0.5·q − 1: elements 0–15 from q = 0..15, elements 16–31 from q = 15..0.
        let expected = [
            -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0,
            6.5, //
            6.5, 6.0, 5.5, 5.0, 4.5, 4.0, 3.5, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0,
        ];
        assert_eq!(dequantize_q4_1(&q4_1_block()), expected);
    }

    #[test]
    fn q4_1_second_block_uses_its_own_scale_and_minimum() {
        let mut bytes = q4_1_block();
        // d = 2.0 (0x4000), m = 0.25 (0x3400), every byte 0x31: low nibble 1, high nibble 3.
        bytes.extend([0x00, 0x40, 0x00, 0x34]);
        bytes.extend([0x31; 16]);
        let values = dequantize_q4_1(&bytes);
        assert_eq!(values.len(), 64);
        assert!(
            values[32..48].iter().all(|&v| v == 2.25),
            "{:?}",
            &values[32..48]
        );
        assert!(
            values[48..64].iter().all(|&v| v == 6.25),
            "{:?}",
            &values[48..64]
        );
    }

    #[test]
    fn q8_0_block_is_scale_times_signed_quant() {
        // d = 0.25 (f16 0x3400); quants −128, −1, 0, 1, 127, 4, then 26 × 8.
        let mut block = vec![0x00, 0x34];
        block.extend([-128i8, -1, 0, 1, 127, 4].map(|q| q as u8));
        block.extend([8u8; 26]);
        let values = dequantize_q8_0(&block);
        assert_eq!(values[..6], [-32.0, -0.25, 0.0, 0.25, 31.75, 1.0]);
        assert!(values[6..].iter().all(|&v| v == 2.0));
        assert_eq!(values.len(), 32);
    }

    #[test]
    fn dequantize_dispatches_on_type_and_checks_length() {
        let t = info("blk.0.attn_q.weight", vec![32, 1], GgmlType::Q4_1);
        assert_eq!(dequantize(&t, &q4_1_block()).unwrap()[15], 6.5);
        let err = dequantize(&t, &q4_1_block()[..19]).unwrap_err().to_string();
        assert!(
            err.contains("blk.0.attn_q.weight") && err.contains("19 data bytes, expected 20"),
            "{err}"
        );

        let f16s = info("norm", vec![3], GgmlType::F16);
        assert_eq!(
            dequantize(&f16s, &[0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38]).unwrap(),
            [1.0, -2.0, 0.5]
        );
        let f32s = info("norm", vec![2], GgmlType::F32);
        let bytes: Vec<u8> = [1.5f32, -3.25]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(dequantize(&f32s, &bytes).unwrap(), [1.5, -3.25]);
    }

    #[test]
    fn unsupported_type_error_names_tensor_and_type() {
        let t = info("blk.3.ffn_down.weight", vec![256, 2], GgmlType::from_id(14));
        let err = dequantize(&t, &[]).unwrap_err().to_string();
        assert!(
            err.contains("blk.3.ffn_down.weight") && err.contains("Q6_K (id 14)"),
            "{err}"
        );
        let unknown = info("x", vec![1], GgmlType::from_id(200));
        assert!(
            dequantize(&unknown, &[])
                .unwrap_err()
                .to_string()
                .contains("unknown (id 200)")
        );
    }

    #[test]
    fn rows_must_hold_whole_blocks() {
        let t = info("token_embd.weight", vec![48, 2], GgmlType::Q8_0);
        let err = t.ggml_type.byte_size(&t).unwrap_err().to_string();
        assert!(
            err.contains("token_embd.weight") && err.contains("row length 48"),
            "{err}"
        );
        let ok = info("token_embd.weight", vec![64, 3], GgmlType::Q8_0);
        assert_eq!(ok.ggml_type.byte_size(&ok).unwrap(), 6 * 34);
    }
}
