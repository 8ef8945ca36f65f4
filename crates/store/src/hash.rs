use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A blake3 digest, shown and stored as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    pub fn of(bytes: &[u8]) -> Self {
        ContentHash(*blake3::hash(bytes).as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The first 12 hex digits: enough to name an artifact to a person.
    pub fn short(&self) -> String {
        self.hex()[..12].to_string()
    }

    pub fn parse(hex: &str) -> Option<Self> {
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, chunk) in hex.as_bytes().chunks(2).enumerate() {
            let s = std::str::from_utf8(chunk).ok()?;
            out[i] = u8::from_str_radix(s, 16).ok()?;
        }
        Some(ContentHash(out))
    }
}

/// Size and blake3 of the file at `path`, read in chunks (never whole into memory). Errors name the file.
pub fn hash_file_streaming(path: &std::path::Path) -> Result<(u64, ContentHash), crate::StoreError> {
    let file = std::fs::File::open(path).map_err(crate::StoreError::io(path))?;
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(file).map_err(crate::StoreError::io(path))?;
    Ok((hasher.count(), ContentHash::from(hasher.finalize())))
}

impl From<blake3::Hash> for ContentHash {
    fn from(h: blake3::Hash) -> Self {
        ContentHash(*h.as_bytes())
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", self.short())
    }
}

impl Serialize for ContentHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

impl<'de> Deserialize<'de> for ContentHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ContentHash::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a blake3 hex digest: {s}")))
    }
}

/// The key of a row-cache entry: blake3 over the canonical JSON of a typed value (the same canonical form as
/// a stage's params in [`crate::Spec::key`]), so that every cache keys what decides it the same way.
pub fn key_of<T: serde::Serialize + ?Sized>(value: &T) -> ContentHash {
    let json = serde_json::to_value(value).expect("a row key serialises to JSON");
    let mut h = blake3::Hasher::new();
    h.update(b"inscl-row-key-v1\0");
    h.update(canonical_json(&json).as_bytes());
    ContentHash::from(h.finalize())
}

/// JSON with object keys sorted (serde_json's default map is a BTreeMap) and no whitespace, so equal params
/// always hash equally whatever order a TOML file or a struct listed them in.
pub fn canonical_json(value: &serde_json::Value) -> String {
    fn sort(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let sorted: std::collections::BTreeMap<_, _> = m.iter().map(|(k, v)| (k.clone(), sort(v))).collect();
                serde_json::Value::Object(sorted.into_iter().collect())
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&sort(value)).expect("a JSON value always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let h = ContentHash::of(b"abc");
        assert_eq!(ContentHash::parse(&h.hex()), Some(h));
        assert_eq!(h.hex(), blake3::hash(b"abc").to_hex().to_string());
        assert_eq!(ContentHash::parse("zz"), None);
    }

    #[test]
    fn canonical_json_ignores_key_order() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":{"y":2,"x":[1,{"q":1,"p":2}]}}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"a":{"x":[1,{"p":2,"q":1}],"y":2},"b":1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":[1,{"p":2,"q":1}],"y":2},"b":1}"#);
    }
}
