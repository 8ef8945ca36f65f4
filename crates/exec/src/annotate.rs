//! The annotate stage computed: intention tags for every instruction, through the tagger of `[annotate]`.
//! The models enter the annotate crate through its traits, implemented here over the model crate; tags are
//! cached per (tagger config, instruction text) in the store's row cache, so a new task costs only its own
//! instructions and a rerun makes no model or API call.

use crate::Compute;
use crate::error::ExecError;
use inscl_annotate::{AnnotateError, ChatGenerator, Instruction, PhraseEmbedder, TagCache, TagList};
use inscl_dag::StageCtx;
use inscl_pipeline::sections::{AnnotateSection, Tagger};
use inscl_pipeline::stages::annotate::Annotate;
use inscl_pipeline::stages::dataset::instructions;
use inscl_pipeline::tables::write;
use inscl_store::{Outputs, RowCache};
use inscl_tables::TagRow;
use std::sync::Mutex;

impl Compute for Annotate {
    fn run(&self, ctx: &StageCtx) -> Result<Outputs, ExecError> {
        run(ctx, &self.section)
    }
}

struct MiniLmPhrases {
    model: inscl_model::MiniLm,
    /// The content hash of the model files: another MiniLM must not reuse cached tags.
    id: String,
}

impl PhraseEmbedder for MiniLmPhrases {
    fn model_id(&self) -> String {
        format!("all-MiniLM-L6-v2@{}", self.id)
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, AnnotateError> {
        self.model.encode(texts).map_err(|e| AnnotateError::Embedder(e.to_string()))
    }
}

struct LlamaChat {
    model: inscl_model::LlamaModel,
    id: String,
}

impl ChatGenerator for LlamaChat {
    fn model_id(&self) -> String {
        // The prompt is the folder's chat template (ChatML without one): cached replies name which.
        let prompt = if self.model.chat_template.is_some() { "folder-chat-template" } else { "chatml" };
        format!("llama@{}:{prompt}", self.id)
    }

    fn chat(&self, user_messages: &[String], max_new_tokens: usize) -> Result<Vec<String>, AnnotateError> {
        let prompts = user_messages
            .iter()
            .map(|m| self.model.chat_prompt(m))
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| AnnotateError::Generator(e.to_string()))?;
        let refs: Vec<&str> = prompts.iter().map(String::as_str).collect();
        inscl_model::generate::generate_text(&self.model, &refs, max_new_tokens, 8).map_err(|e| AnnotateError::Generator(e.to_string()))
    }
}

/// The annotate crate's cache trait over the store's row cache. A failed write is kept and reported after the
/// stage, so it cannot pass silently.
struct StoreTagCache {
    rows: RowCache,
    error: Mutex<Option<inscl_store::StoreError>>,
}

impl TagCache for StoreTagCache {
    fn get(&self, key: &str) -> Option<TagList> {
        self.rows.get(key).ok().flatten().and_then(|b| serde_json::from_slice(&b).ok())
    }

    fn put(&mut self, key: &str, tags: TagList) {
        let bytes = serde_json::to_vec(&tags).expect("tag lists serialise");
        if let Err(e) = self.rows.put(key, &bytes) {
            self.error.lock().expect("not poisoned").get_or_insert(e);
        }
    }
}

fn source_id(ctx: &StageCtx, role: &str) -> Result<String, ExecError> {
    Ok(ctx.source(role)?.content().hex()[..16].to_string())
}

fn keyphrase(ctx: &StageCtx, a: &AnnotateSection) -> Result<inscl_annotate::KeyphraseTagger, ExecError> {
    let dir = ctx.dir("encoder")?;
    let model = inscl_model::MiniLm::load(&dir, tch::Device::Cpu)?;
    let mut t = inscl_annotate::KeyphraseTagger::new(Box::new(MiniLmPhrases { model, id: source_id(ctx, "encoder")? }));
    t.min_tags = a.min_tags;
    t.max_tags = a.max_tags;
    t.mmr_diversity = a.diversity;
    Ok(t)
}

fn tagger(ctx: &StageCtx, a: &AnnotateSection) -> Result<Box<dyn inscl_annotate::Tagger>, ExecError> {
    Ok(match a.tagger {
        Tagger::Local => {
            let dir = ctx.dir("chat_model")?;
            let device = inscl_model::device::parse_device("auto")?;
            let model = inscl_model::LlamaModel::load(&dir, device)?;
            let mut t = inscl_annotate::LocalTagger::new(Box::new(LlamaChat { model, id: source_id(ctx, "chat_model")? }), keyphrase(ctx, a)?);
            t.max_new_tokens = a.max_new_tokens;
            Box::new(t)
        }
        Tagger::Openai => {
            let base = a.api_base.clone().unwrap_or_default();
            let model = a.model.clone().unwrap_or_default();
            let mut t = inscl_annotate::OpenAiTagger::from_env(&base, &model)?;
            t.concurrency = a.concurrency;
            t.on_failure = a.on_failure;
            t.max_tokens = a.openai_max_tokens();
            if a.on_failure == inscl_annotate::OnFailure::Keyphrase {
                t.fallback = Some(keyphrase(ctx, a)?);
            }
            Box::new(t)
        }
        Tagger::Keyphrase => Box::new(keyphrase(ctx, a)?),
    })
}

fn run(ctx: &StageCtx, a: &AnnotateSection) -> Result<Outputs, ExecError> {
    let lexicon = inscl_annotate::WordNetLexicon::load(&ctx.source("wordnet")?.root)?;
    let normaliser = inscl_annotate::TagNormaliser::new(lexicon);
    let rows = instructions(ctx.artifact("ingest")?)?;
    let items: Vec<Instruction> = rows.into_iter().map(|r| Instruction { id: r.id, text: r.text }).collect();
    let tagger = tagger(ctx, a)?;
    let mut cache = StoreTagCache { rows: ctx.store.rows("annotate")?, error: Mutex::new(None) };
    let bar = ctx.bar(items.len() as u64, "tagging instructions");
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let tags = inscl_annotate::annotate(tagger.as_ref(), &normaliser, &items, &mut cache, Some(&progress))?;
    bar.finish_and_clear();
    if let Some(e) = cache.error.lock().expect("not poisoned").take() {
        return Err(e.into());
    }
    let sources: std::collections::BTreeMap<&str, usize> = tags.iter().fold(Default::default(), |mut m, t| {
        *m.entry(t.source.as_str()).or_default() += 1;
        m
    });
    let sources = serde_json::to_value(&sources).expect("counts serialise");
    let rows: Vec<TagRow> = tags
        .into_iter()
        .map(|t| TagRow {
            instruction_id: t.instruction_id,
            tag_raw: t.tag_raw,
            explanation: t.explanation,
            tag_norm: t.tag_norm,
            source: t.source,
        })
        .collect();
    Ok(write(Outputs::default(), &rows)?.note("tags_by_source", sources).note("tagger", tagger.config()))
}
