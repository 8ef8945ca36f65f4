//! The evaluate stage computed: greedy answers of one checkpoint on one test set, scored per instance with
//! Rouge-L (the paper's `rouge_metric`) and SuperNI's stemmed `rougeL`.

use crate::Compute;
use crate::error::ExecError;
use inscl_dag::StageCtx;
use inscl_pipeline::stages::evaluate::Evaluate;
use inscl_pipeline::tables::{read, write};
use inscl_store::Outputs;
use inscl_tables::{PredictionRow, TestRow};

impl Compute for Evaluate {
    fn run(&self, ctx: &StageCtx) -> Result<Outputs, ExecError> {
        run_evaluate(ctx, self)
    }
}

fn run_evaluate(ctx: &StageCtx, e: &Evaluate) -> Result<Outputs, ExecError> {
    let p = &e.params;
    let device = crate::device::device(e.device)?;
    let dir = ctx.dir("model")?;
    let model = inscl_model::LlamaModel::load(&dir, device)?;
    let test = read::<TestRow>(ctx.artifact("test")?)?;
    let mut prompts = Vec::with_capacity(test.len());
    for t in &test {
        let mut toks = model.encode(&inscl_finetune::examples::format_prompt(&t.definition, &t.input))?;
        // Keep the end of an over-long prompt, as training does: the input sits right before the answer.
        if toks.len() > p.max_prompt_len {
            toks.drain(..toks.len() - p.max_prompt_len);
        }
        prompts.push(toks);
    }
    let bar = ctx.bar(prompts.len() as u64, "greedy answers");
    let progress = |n: usize| bar.inc(n as u64);
    let generated = inscl_model::generate::generate_greedy(&model, &prompts, p.max_new_tokens, e.batch_size, Some(&progress))
        ?;
    bar.finish_and_clear();
    let mut preds = Vec::with_capacity(generated.len());
    for g in &generated {
        preds.push(model.decode(g)?.trim().to_string());
    }
    let key = ctx.artifact("model").map(|a| a.key().to_string()).unwrap_or_else(|_| format!("source:{}", dir.display()));
    let rows: Vec<PredictionRow> = test
        .iter()
        .zip(&preds)
        .map(|(t, pred)| {
            let s = inscl_evaluate::rouge_l_instance(pred, &t.outputs);
            let refs: Vec<&str> = t.outputs.iter().map(String::as_str).collect();
            PredictionRow {
                checkpoint: key.clone(),
                category: t.category.clone(),
                instance_id: t.instance_id.clone(),
                prediction: pred.clone(),
                rouge_l_p: s.p,
                rouge_l_r: s.r,
                rouge_l_f: s.f,
                rouge_l_stemmed: inscl_evaluate::rouge_score::rouge_l_stemmed(pred, &refs),
            }
        })
        .collect();
    let pairs: Vec<(String, Vec<String>)> = preds.iter().cloned().zip(test.iter().map(|t| t.outputs.clone())).collect();
    let corpus = inscl_evaluate::rouge_l_corpus(&pairs);
    let stemmed_mean = if rows.is_empty() { 0.0 } else { rows.iter().map(|r| r.rouge_l_stemmed).sum::<f64>() / rows.len() as f64 };
    Ok(write(Outputs::default(), &rows)?
        .note("rouge_l", serde_json::json!({ "p": corpus.p, "r": corpus.r, "f": corpus.f }))
        .note("rouge_l_stemmed", stemmed_mean)
        .note("device", format!("{device:?}")))
}
