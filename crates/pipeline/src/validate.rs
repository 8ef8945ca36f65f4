//! Every value of every stage section is checked when the pipeline file is read, so `inscl run --dry-run` and
//! `inscl status` refuse what a stage would otherwise refuse hours into a run. A problem names its section and
//! key; [`crate::Pipeline::parse`] adds the file.

use crate::sections::{SectionProblem, Sections, Tagger};
use inscl_sample::{ReplayMethod, Weights};
use std::path::Path;

fn problem(section: &str, key: &str, why: impl Into<String>) -> SectionProblem {
    SectionProblem { section: section.into(), key: Some(key.into()), problem: why.into() }
}

fn at_least(section: &str, key: &str, value: usize, min: usize) -> Result<(), SectionProblem> {
    if value < min { Err(problem(section, key, format!("{value} must be at least {min}"))) } else { Ok(()) }
}

fn positive(section: &str, key: &str, value: f64) -> Result<(), SectionProblem> {
    if value.is_finite() && value > 0.0 { Ok(()) } else { Err(problem(section, key, format!("{value} must be a positive number"))) }
}

fn fraction(section: &str, key: &str, value: f64, upper_inclusive: bool) -> Result<(), SectionProblem> {
    let ok = value.is_finite() && value >= 0.0 && if upper_inclusive { value <= 1.0 } else { value < 1.0 };
    let range = if upper_inclusive { "[0, 1]" } else { "[0, 1)" };
    if ok { Ok(()) } else { Err(problem(section, key, format!("{value} must be in {range}"))) }
}

fn folder(section: &str, key: &str, p: &Path, fetch: &str) -> Result<(), SectionProblem> {
    if p.is_dir() { Ok(()) } else { Err(problem(section, key, format!("{}: no such folder; {fetch}", p.display()))) }
}

/// What the chosen methods make the graph build: the union of their [`inscl_sample::Needs`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Wanted {
    pub w_real: bool,
    pub w_uniform: bool,
    pub insinfo: bool,
    pub instruction_embeddings: bool,
    pub instance_embeddings: bool,
}

impl Wanted {
    pub fn of(methods: &[ReplayMethod]) -> Wanted {
        methods.iter().fold(Wanted::default(), |w, m| {
            let n = m.needs();
            Wanted {
                w_real: w.w_real || n.w == Some(Weights::Real),
                w_uniform: w.w_uniform || n.w == Some(Weights::Uniform),
                insinfo: w.insinfo || n.insinfo,
                // W is computed over the instruction embeddings.
                instruction_embeddings: w.instruction_embeddings || n.instruction_embeddings || n.w.is_some(),
                instance_embeddings: w.instance_embeddings || n.instance_embeddings,
            }
        })
    }
}

/// Checks every value, and the folders that the chosen methods will read.
pub fn check_sections(s: &Sections, base_dir: &Path, models: &Path, methods: &[ReplayMethod], trains: bool) -> Result<(), SectionProblem> {
    let a = &s.annotate;
    at_least("annotate", "min_tags", a.min_tags, 1)?;
    if a.max_tags < a.min_tags {
        return Err(problem("annotate", "max_tags", format!("{} is below min_tags = {}", a.max_tags, a.min_tags)));
    }
    fraction("annotate", "diversity", a.diversity as f64, true)?;
    at_least("annotate", "concurrency", a.concurrency, 1)?;
    if a.tagger != Tagger::Openai && a.on_failure != inscl_annotate::OnFailure::Fail {
        return Err(problem("annotate", "on_failure", format!("only the openai tagger has a failure policy (tagger is {})", a.tagger.name())));
    }
    at_least("annotate", "max_new_tokens", a.max_new_tokens, 1)?;
    if let Some(cap) = a.max_tokens {
        if a.tagger != Tagger::Openai {
            return Err(problem("annotate", "max_tokens", format!("only the openai tagger sends max_tokens (tagger is {}; the local tagger's cap is max_new_tokens)", a.tagger.name())));
        }
        at_least("annotate", "max_tokens", cap, 1)?;
    }
    if a.tagger == Tagger::Openai {
        for (key, v) in [("api_base", &a.api_base), ("model", &a.model)] {
            if v.as_deref().is_none_or(str::is_empty) {
                return Err(problem("annotate", key, "tagger = 'openai' needs it"));
            }
        }
    }
    at_least("embed", "batch_size", s.embed.batch_size, 1)?;
    positive("distance", "sinkhorn_reg", s.distance.sinkhorn_reg)?;
    positive("insinfo", "eps", s.insinfo.eps)?;
    at_least("insinfo", "min_samples", s.insinfo.min_samples, 1)?;
    at_least("replay", "alpha", s.replay.alpha, 1)?;

    let m = &s.model;
    if m.base.trim().is_empty() {
        return Err(problem("model", "base", "is empty (\"tiny\", a model folder or a .gguf file)"));
    }
    if m.base == "tiny" {
        at_least("model", "vocab_size", m.vocab_size, 260)?;
        at_least("model", "layers", m.layers, 1)?;
        at_least("model", "heads", m.heads, 1)?;
        at_least("model", "kv_heads", m.kv_heads, 1)?;
        at_least("model", "intermediate_size", m.intermediate_size, 1)?;
        if m.hidden_size == 0 || m.hidden_size % m.heads != 0 || (m.hidden_size / m.heads) % 2 != 0 {
            return Err(problem("model", "hidden_size", format!("{} must be a positive multiple of 2·heads = {}", m.hidden_size, 2 * m.heads)));
        }
        if m.heads % m.kv_heads != 0 {
            return Err(problem("model", "kv_heads", format!("{} must divide heads = {}", m.kv_heads, m.heads)));
        }
    } else if trains {
        let p = base_dir.join(&m.base);
        let ok = if p.extension().is_some_and(|e| e == "gguf") { p.is_file() } else { p.join("config.json").is_file() };
        if !ok {
            return Err(problem("model", "base", format!("{}: no such model folder (with config.json) or .gguf file", p.display())));
        }
    }

    let f = &s.finetune;
    positive("finetune", "lr", f.lr)?;
    at_least("finetune", "epochs", f.epochs, 1)?;
    at_least("finetune", "micro_batch", f.micro_batch, 1)?;
    at_least("finetune", "grad_accum", f.grad_accum, 1)?;
    at_least("finetune", "max_len", f.max_len, 2)?;
    fraction("finetune", "warmup_ratio", f.warmup_ratio, false)?;
    if !(f.max_grad_norm.is_finite() && f.max_grad_norm >= 0.0) {
        return Err(problem("finetune", "max_grad_norm", format!("{} must be >= 0 (0 disables clipping)", f.max_grad_norm)));
    }
    at_least("finetune", "save_every_secs", f.save_every_secs as usize, 1)?;

    if !(s.ewc.lambda.is_finite() && s.ewc.lambda >= 0.0) {
        return Err(problem("ewc", "lambda", format!("{} must be >= 0", s.ewc.lambda)));
    }
    positive("lwf", "temperature", s.lwf.temperature)?;
    if !(s.lwf.weight.is_finite() && s.lwf.weight >= 0.0) {
        return Err(problem("lwf", "weight", format!("{} must be >= 0", s.lwf.weight)));
    }

    let e = &s.evaluate;
    at_least("evaluate", "max_new_tokens", e.max_new_tokens, 1)?;
    at_least("evaluate", "batch_size", e.batch_size, 1)?;
    at_least("evaluate", "max_prompt_len", e.max_prompt_len, 1)?;
    if let Some(n) = e.max_test_per_category {
        at_least("evaluate", "max_test_per_category", n, 1)?;
    }

    if !trains {
        return Ok(());
    }
    let wanted = Wanted::of(methods);
    let tags = wanted.insinfo;
    // Tags are embedded with MiniLM, the keyphrase and local taggers rank phrases with it, and the instance
    // embeddings of Prototype Data use it too.
    let minilm_read = wanted.instruction_embeddings && s.embed.encoder == crate::sections::Encoder::Minilm
        || tags
        || wanted.instance_embeddings;
    if minilm_read {
        folder("embed", "minilm", &s.embed.minilm_path(base_dir, models), "run `make setup` to fetch MiniLM (or give --models DIR)")?;
    }
    if tags {
        folder("annotate", "wordnet", &a.wordnet_path(base_dir, models), "run `make setup` to fetch the WordNet tables (or give --models DIR)")?;
        if a.tagger == Tagger::Local {
            let p = a.local_model_path(base_dir, models);
            if !p.join("config.json").is_file() {
                return Err(problem("annotate", "local_model", format!("{}: no model folder; `make smollm2` converts SmolLM2", p.display())));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(section: &str, body: &str) -> Result<(), SectionProblem> {
        let mut raw = std::collections::BTreeMap::new();
        raw.insert(section.to_string(), toml::Value::Table(toml::from_str(body).unwrap()));
        let s = Sections::parse(&raw)?;
        check_sections(&s, Path::new("/nonexistent"), Path::new("/nonexistent"), &[ReplayMethod::None], false)
    }

    #[test]
    fn every_bad_value_names_its_section_and_key() {
        let cases = [
            ("finetune", "lr = -1.0", "lr"),
            ("finetune", "lr = 0.0", "lr"),
            ("finetune", "epochs = 0", "epochs"),
            ("finetune", "micro_batch = 0", "micro_batch"),
            ("finetune", "grad_accum = 0", "grad_accum"),
            ("finetune", "max_len = 1", "max_len"),
            ("finetune", "warmup_ratio = 1.5", "warmup_ratio"),
            ("finetune", "max_grad_norm = -1.0", "max_grad_norm"),
            ("finetune", "save_every_secs = 0", "save_every_secs"),
            ("finetune", "device = \"tpu\"", "device"),
            ("evaluate", "max_new_tokens = 0", "max_new_tokens"),
            ("evaluate", "batch_size = 0", "batch_size"),
            ("evaluate", "max_prompt_len = 0", "max_prompt_len"),
            ("evaluate", "max_test_per_category = 0", "max_test_per_category"),
            ("evaluate", "device = \"cuda:x\"", "device"),
            ("annotate", "min_tags = 0", "min_tags"),
            ("annotate", "max_tags = 1", "max_tags"),
            ("annotate", "diversity = 2.0", "diversity"),
            ("annotate", "concurrency = 0", "concurrency"),
            ("annotate", "max_new_tokens = 0", "max_new_tokens"),
            ("annotate", "tagger = \"gpt\"", "tagger"),
            ("annotate", "tagger = \"openai\"", "api_base"),
            ("annotate", "on_failure = \"keyphrase\"", "on_failure"),
            ("annotate", "on_failure = \"retry\"", "on_failure"),
            ("annotate", "max_tokens = 512", "max_tokens"),
            ("embed", "batch_size = 0", "batch_size"),
            ("embed", "encoder = \"bert\"", "encoder"),
            ("distance", "solver = \"greedy\"", "solver"),
            ("distance", "sinkhorn_reg = 0.0", "sinkhorn_reg"),
            ("insinfo", "eps = -0.1", "eps"),
            ("insinfo", "min_samples = 0", "min_samples"),
            ("replay", "alpha = 0", "alpha"),
            ("model", "layers = 0", "layers"),
            ("model", "heads = 0", "heads"),
            ("model", "kv_heads = 3", "kv_heads"),
            ("model", "hidden_size = 130", "hidden_size"),
            ("model", "vocab_size = 10", "vocab_size"),
            ("model", "intermediate_size = 0", "intermediate_size"),
            ("model", "base = \"\"", "base"),
            ("finetune", "lrr = 1.0", "lrr"),
        ];
        for (section, body, key) in cases {
            let e = with(section, body).expect_err(body);
            assert_eq!(e.section, section, "{body}: {e}");
            let text = e.to_string();
            assert!(text.starts_with(&format!("[{section}]")) && text.contains(key), "{body}: {text}");
        }
    }

    #[test]
    fn defaults_pass() {
        check_sections(&Sections::default(), Path::new("."), Path::new("."), &[], false).unwrap();
    }
}
