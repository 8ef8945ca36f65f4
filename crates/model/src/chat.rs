//! Chat prompts as the model folder defines them: the Jinja `chat_template` of `tokenizer_config.json`,
//! rendered with minijinja the way `transformers`' `apply_chat_template` does (variables `messages`,
//! `add_generation_prompt`, `bos_token`, `eos_token`, function `raise_exception`). A folder without a template
//! gets SmolLM2's ChatML ([`crate::generate::chat_prompt`]), the format InsCL's prompts were written for.

use crate::error::{ModelError, Result};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

/// A folder's chat template with the special tokens it may refer to.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatTemplate {
    source: String,
    bos_token: String,
    eos_token: String,
    /// The file the template came from, for errors.
    path: PathBuf,
}

/// A special token in `tokenizer_config.json`: a string, or an added-token object with `content`.
fn token_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o.get("content").and_then(Value::as_str).unwrap_or_default().to_string(),
        _ => String::new(),
    }
}

impl ChatTemplate {
    /// The template of a `tokenizer_config.json`, `None` when the file or its `chat_template` is absent. A list
    /// of named templates (older transformers) gives the one named `default`.
    pub fn from_tokenizer_config(path: &Path) -> Result<Option<Self>> {
        if !path.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        let config: Value =
            serde_json::from_str(&text).map_err(|source| ModelError::Json { path: path.to_path_buf(), source })?;
        let source = match config.get("chat_template") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(named)) => named
                .iter()
                .find(|t| t.get("name").and_then(Value::as_str) == Some("default"))
                .and_then(|t| t.get("template").and_then(Value::as_str))
                .ok_or_else(|| {
                    ModelError::Config(format!("{}: chat_template lists no template named \"default\"", path.display()))
                })?
                .to_string(),
            Some(other) => {
                return Err(ModelError::Config(format!("{}: chat_template = {other} is not a string", path.display())));
            }
        };
        Ok(Some(ChatTemplate {
            source,
            bos_token: token_text(config.get("bos_token")),
            eos_token: token_text(config.get("eos_token")),
            path: path.to_path_buf(),
        }))
    }

    /// The template applied to `messages`; with `add_generation_prompt`, ending where the assistant answers.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        let fail = |e: minijinja::Error| {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                message.push_str(&format!(": {inner}"));
                source = inner.source();
            }
            ModelError::Config(format!("{}: chat_template: {message}", self.path.display()))
        };
        let mut env = minijinja::Environment::new();
        // transformers renders with trim_blocks and lstrip_blocks on.
        let syntax = minijinja::syntax::SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build().map_err(fail)?;
        env.set_syntax(syntax);
        // Templates call Python string and dict methods (`.strip()`, `.startswith()`, `.items()`).
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |message: String| -> std::result::Result<String, minijinja::Error> {
            Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, message))
        });
        env.add_template("chat", &self.source).map_err(fail)?;
        let template = env.get_template("chat").map_err(fail)?;
        let messages: Vec<minijinja::Value> = messages
            .iter()
            .map(|m| {
                let turn: BTreeMap<&str, minijinja::Value> =
                    BTreeMap::from([("role", m.role.as_str().into()), ("content", m.content.as_str().into())]);
                minijinja::Value::from(turn)
            })
            .collect();
        template
            .render(minijinja::context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
            })
            .map_err(fail)
    }
}

/// The prompt for one user turn, ready for the assistant's answer, in the format of the folder `model_dir`
/// (its `tokenizer_config.json` chat template), or ChatML when the folder has none.
pub fn chat_prompt_for(model_dir: &Path, user: &str) -> Result<String> {
    let template = ChatTemplate::from_tokenizer_config(&model_dir.join("tokenizer_config.json"))?;
    prompt_with(template.as_ref(), user)
}

/// [`chat_prompt_for`] with an already read template.
pub fn prompt_with(template: Option<&ChatTemplate>, user: &str) -> Result<String> {
    match template {
        Some(template) => {
            template.render(&[Message { role: "user".to_string(), content: user.to_string() }], true)
        }
        None => Ok(crate::generate::chat_prompt(user)),
    }
}
