//! The lemmatiser and normaliser on the real WordNet 3.0 tables (fetched by scripts/fetch_wordnet.py into
//! models/), and parity of morphy with NLTK 3.10.4 (fixtures/make_morphy_fixture.py).

use inscl_annotate::lemma::DATA_DIR_NAME;
use inscl_annotate::{Pos, TagNormaliser, WordNetLexicon};
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::OnceLock;

fn lexicon() -> &'static WordNetLexicon {
    static LEXICON: OnceLock<WordNetLexicon> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../models")
            .join(DATA_DIR_NAME);
        WordNetLexicon::load(&dir).unwrap_or_else(|e| panic!("{e}"))
    })
}

#[test]
fn tables_are_wordnet_sized() {
    let [nouns, verbs, adjs, advs] = lexicon().lemma_counts();
    assert_eq!(
        [nouns, verbs, adjs, advs],
        [57528, 8700, 20993, 3775],
        "single-word WordNet 3.0 lemmas"
    );
}

#[test]
fn plurals_verb_forms_and_unchanged_words() {
    for (word, lemma) in [
        ("tasks", "task"),
        ("classes", "class"),
        ("queries", "query"),
        ("analyses", "analysis"),
        ("children", "child"),
        ("running", "run"),
        ("identifies", "identify"),
        ("generated", "generate"),
        ("translating", "translate"),
        ("is", "be"),
        ("was", "be"),
        ("news", "news"),
        ("boss", "boss"),
        ("data", "data"),
        ("spelling", "spelling"),
        ("mathematics", "mathematics"),
        ("cosplay", "cosplay"),
    ] {
        assert_eq!(lexicon().lemmatize(word), lemma, "{word}");
    }
}

#[test]
fn whole_normaliser() {
    let normaliser = TagNormaliser::new(lexicon().clone());
    for (tag, expected) in [
        ("Spelling & Grammar-Checks!!", "spelling grammar check"),
        ("Text Summarization", "text summarization"),
        ("Sentiment analyses (movie reviews)", "sentiment analysis movie review"),
        ("Identifying Named-Entities", "identify name entity"),
        ("  Q&A  ", "q a"),
        ("2 + 2", ""),
    ] {
        assert_eq!(normaliser.normalise(tag), expected, "{tag}");
    }
}

#[derive(Deserialize)]
struct Fixture {
    nltk: String,
    tables: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    word: String,
    pos: String,
    morphy: Vec<String>,
    lemmatize: String,
}

#[test]
fn morphy_matches_nltk() {
    let text = include_str!("../fixtures/morphy_nltk.json");
    let fixture: Fixture = serde_json::from_str(text).unwrap();
    assert_eq!(
        (fixture.nltk.as_str(), fixture.tables.as_str()),
        ("3.10.4", DATA_DIR_NAME)
    );
    assert!(fixture.cases.len() > 600);
    for case in &fixture.cases {
        let pos = match case.pos.as_str() {
            "noun" => Pos::Noun,
            "verb" => Pos::Verb,
            "adj" => Pos::Adj,
            "adv" => Pos::Adv,
            other => panic!("unknown pos {other}"),
        };
        assert_eq!(
            lexicon().morphy(&case.word, pos),
            case.morphy,
            "morphy({}, {})",
            case.word,
            case.pos
        );
        assert_eq!(
            lexicon().lemmatize_as(&case.word, pos),
            case.lemmatize,
            "lemmatize({}, {})",
            case.word,
            case.pos
        );
    }
}
