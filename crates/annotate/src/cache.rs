//! The row-level tag cache: one entry per (tagger config, instruction text).

use crate::TagList;
use serde_json::Value;
use std::collections::HashMap;

/// A store of tag lists by [`cache_key`]. The lead's disk implementation lives over the artifact store.
pub trait TagCache {
    fn get(&self, key: &str) -> Option<TagList>;
    fn put(&mut self, key: &str, tags: TagList);
}

/// An in-memory [`TagCache`].
#[derive(Debug, Default, Clone)]
pub struct MemoryTagCache {
    entries: HashMap<String, TagList>,
}

impl MemoryTagCache {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl TagCache for MemoryTagCache {
    fn get(&self, key: &str) -> Option<TagList> {
        self.entries.get(key).cloned()
    }
    fn put(&mut self, key: &str, tags: TagList) {
        self.entries.insert(key.to_string(), tags);
    }
}

/// blake3 (hex) of the canonical JSON of the tagger config, a NUL separator (so that no config/text split
/// is ambiguous), and the instruction text.
pub fn cache_key(tagger_config: &Value, instruction_text: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(canonical_json(tagger_config).as_bytes());
    hasher.update(&[0]);
    hasher.update(instruction_text.as_bytes());
    hasher.finalize().to_hex().to_string()
}

/// The one canonical JSON of the workspace (the store's): compact, object keys sorted at every level.
pub use inscl_store::canonical_json;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = json!({"b": 1, "a": {"z": [true, null, {"y": "x", "c": 2.5}], "m": "é\"q"}});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"m":"é\"q","z":[true,null,{"c":2.5,"y":"x"}]},"b":1}"#
        );
    }

    #[test]
    fn key_depends_on_config_and_text_only() {
        let a = json!({"tagger": "keyphrase", "max_tags": 8});
        let a_reordered: Value = serde_json::from_str(r#"{"max_tags": 8, "tagger": "keyphrase"}"#).unwrap();
        let b = json!({"tagger": "keyphrase", "max_tags": 7});
        assert_eq!(
            cache_key(&a, "Sort the list."),
            cache_key(&a_reordered, "Sort the list.")
        );
        assert_ne!(cache_key(&a, "Sort the list."), cache_key(&b, "Sort the list."));
        assert_ne!(cache_key(&a, "Sort the list."), cache_key(&a, "Sort the list!"));
        assert_eq!(cache_key(&a, "x").len(), 64);
    }

    #[test]
    fn memory_cache_round_trip() {
        let mut cache = MemoryTagCache::new();
        let tags = TagList {
            tags: vec![],
            source: "keyphrase".into(),
        };
        assert!(cache.get("k").is_none());
        cache.put("k", tags.clone());
        assert_eq!(cache.get("k"), Some(tags));
        assert_eq!(cache.len(), 1);
    }
}
