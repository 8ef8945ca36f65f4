//! The API key comes from INSCL_API_KEY. Its own test binary: it changes the process environment.

use inscl_annotate::openai::API_KEY_ENV;
use inscl_annotate::{AnnotateError, OpenAiTagger, Tagger};

#[test]
fn key_from_environment_and_clear_error_without_it() {
    // SAFETY: the only test of this binary, so no other thread reads the environment meanwhile.
    unsafe { std::env::remove_var(API_KEY_ENV) };
    let err = OpenAiTagger::from_env("http://127.0.0.1:9", "m").unwrap_err();
    assert!(matches!(err, AnnotateError::MissingApiKey(API_KEY_ENV)));
    assert!(err.to_string().contains("INSCL_API_KEY"), "{err}");

    unsafe { std::env::set_var(API_KEY_ENV, "sk-env-secret-42") };
    let tagger = OpenAiTagger::from_env("http://127.0.0.1:9/v1/", "m").unwrap();
    assert!(!tagger.config().to_string().contains("sk-env-secret-42"));
    assert!(!format!("{tagger:?}").contains("sk-env-secret-42"));
    assert_eq!(tagger.config()["endpoint"], "http://127.0.0.1:9/v1/chat/completions");
    unsafe { std::env::remove_var(API_KEY_ENV) };
}
