//! The base-model stages that need the model crate: the tiny model's BPE tokenizer and its random init, and
//! every checkpoint's files, streamed into the artifact's staging folder.

use crate::Compute;
use crate::error::ExecError;
use inscl_dag::StageCtx;
use inscl_model::LlamaModel;
use inscl_pipeline::stages::base::{Init0, Tokenizer};
use inscl_pipeline::stages::dataset::{instances, instructions};
use inscl_store::Outputs;

impl Compute for Tokenizer {
    fn run(&self, ctx: &StageCtx) -> Result<Outputs, ExecError> {
        let ingest = ctx.artifact("ingest")?;
        let mut texts: Vec<String> = instructions(ingest)?.into_iter().map(|r| r.text).collect();
        for r in instances(ingest)?.into_iter().filter(|r| r.train()) {
            texts.push(r.input);
            texts.extend(r.outputs);
        }
        let tok = inscl_finetune::train_bpe_tokenizer(&texts, self.params.vocab_size)?;
        let json = tok.to_string(true).map_err(|source| ExecError::Tokenizer { source })?;
        Ok(Outputs::default().file("tokenizer.json", json.into_bytes()))
    }
}

impl Compute for Init0 {
    fn run(&self, ctx: &StageCtx) -> Result<Outputs, ExecError> {
        let m = &self.params;
        let tok_path = ctx.artifact("tokenizer")?.path_of("tokenizer.json")?;
        let tokenizer = inscl_model::llama_model::load_tokenizer(&tok_path)?;
        let mut cfg = inscl_finetune::tiny_config(tokenizer.get_vocab_size(true));
        cfg.hidden_size = m.hidden_size;
        cfg.num_hidden_layers = m.layers;
        cfg.num_attention_heads = m.heads;
        cfg.num_key_value_heads = Some(m.kv_heads);
        cfg.intermediate_size = m.intermediate_size;
        let model = LlamaModel::random_init(cfg, tokenizer, tch::Device::Cpu, m.init_seed)?;
        checkpoint_outputs(ctx, &model)
    }
}

/// The files of a checkpoint artifact, streamed into its staging folder (a checkpoint can be hundreds of MB).
pub fn checkpoint_outputs(ctx: &StageCtx, model: &LlamaModel) -> Result<Outputs, ExecError> {
    model.save_hf(ctx.output_dir())?;
    Ok(model.hf_file_names().into_iter().fold(Outputs::default(), |o, name| o.staged_file(name)))
}
