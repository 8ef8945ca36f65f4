//! The stage end to end with the offline default: keyphrase tags, WordNet normalisation, row-level cache.

use inscl_annotate::lemma::DATA_DIR_NAME;
use inscl_annotate::{
    AnnotateError, Instruction, KeyphraseTagger, MemoryTagCache, PhraseEmbedder, TagCache, TagNormaliser, Tagger,
    WordNetLexicon, annotate, cache_key,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Hashed bag of character trigrams; counts the texts it embedded.
struct TrigramEmbedder(Arc<AtomicUsize>);

impl PhraseEmbedder for TrigramEmbedder {
    fn model_id(&self) -> String {
        "test-trigram-256".to_string()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, AnnotateError> {
        self.0.fetch_add(texts.len(), Ordering::SeqCst);
        Ok(texts
            .iter()
            .map(|text| {
                let chars: Vec<char> = format!(" {} ", text.to_lowercase()).chars().collect();
                let mut v = vec![0.0f32; 256];
                for w in chars.windows(3) {
                    let h = w
                        .iter()
                        .fold(0x811c9dc5u32, |h, c| (h ^ *c as u32).wrapping_mul(0x01000193));
                    v[(h % 256) as usize] += 1.0;
                }
                v
            })
            .collect())
    }
}

#[test]
fn keyphrase_annotation_is_cached_and_normalised() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../models")
        .join(DATA_DIR_NAME);
    let normaliser = TagNormaliser::new(WordNetLexicon::load(&dir).unwrap_or_else(|e| panic!("{e}")));
    let embedded = Arc::new(AtomicUsize::new(0));
    let tagger = KeyphraseTagger::new(Box::new(TrigramEmbedder(embedded.clone())));
    let instructions = vec![
        Instruction {
            id: "t1".into(),
            text: "Classify the sentiment of the given movie reviews.".into(),
        },
        Instruction {
            id: "t2".into(),
            text: "Answer the questions about the following stories.".into(),
        },
    ];
    let mut cache = MemoryTagCache::new();
    let rows = annotate(&tagger, &normaliser, &instructions, &mut cache, None).unwrap();

    for id in ["t1", "t2"] {
        let n = rows.iter().filter(|r| r.instruction_id == id).count();
        assert!((3..=8).contains(&n), "{id}: {n} tags");
    }
    for row in &rows {
        assert_eq!(row.source, "keyphrase");
        assert_eq!(row.tag_norm, normaliser.normalise(&row.tag_raw));
        assert!(row.explanation.parse::<f32>().is_ok(), "score as explanation: {row:?}");
    }
    assert!(
        rows.iter()
            .any(|r| r.tag_raw.contains("reviews") && r.tag_norm.contains("review")),
        "{rows:#?}"
    );
    let key = cache_key(&tagger.config(), &instructions[0].text);
    assert_eq!(
        cache.get(&key).map(|l| l.tags.len()),
        Some(rows.iter().filter(|r| r.instruction_id == "t1").count())
    );

    let embedded_once = embedded.load(Ordering::SeqCst);
    let again = annotate(&tagger, &normaliser, &instructions, &mut cache, None).unwrap();
    assert_eq!(again, rows);
    assert_eq!(embedded.load(Ordering::SeqCst), embedded_once, "a rerun embeds nothing");
}
