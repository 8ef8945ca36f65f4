//! The ingest artifact read back into plain rows, for the stages downstream of it.

use crate::error::PipelineError;
use crate::tables::{f64s, string_lists, strings};
use inscl_store::Artifact;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct InstanceRow {
    pub id: String,
    pub category: String,
    pub instruction_id: String,
    pub input: String,
    pub outputs: Vec<String>,
    pub train: bool,
}

#[derive(Debug, Clone)]
pub struct InstructionRow {
    pub id: String,
    pub category: String,
    pub text: String,
    pub weight: f64,
}

pub fn instructions(ingest: &Artifact) -> Result<Vec<InstructionRow>, PipelineError> {
    let t = ingest.table("instructions")?;
    let name = "instructions";
    let (id, cat, text) = (strings(&t, name, "instruction_id")?, strings(&t, name, "category")?, strings(&t, name, "text")?);
    let w = f64s(&t, name, "weight")?;
    Ok((0..id.len()).map(|i| InstructionRow { id: id[i].clone(), category: cat[i].clone(), text: text[i].clone(), weight: w[i] }).collect())
}

/// Instruction id → definition text: what the prompt `{definition}\n\n{input}\n\n` needs for each instance.
pub fn definitions(ingest: &Artifact) -> Result<BTreeMap<String, String>, PipelineError> {
    Ok(instructions(ingest)?.into_iter().map(|r| (r.id, r.text)).collect())
}

pub fn instances(ingest: &Artifact) -> Result<Vec<InstanceRow>, PipelineError> {
    let t = ingest.table("instances")?;
    let name = "instances";
    let (id, cat, ins) = (strings(&t, name, "instance_id")?, strings(&t, name, "category")?, strings(&t, name, "instruction_id")?);
    let (input, outputs, split) = (strings(&t, name, "input")?, string_lists(&t, name, "outputs")?, strings(&t, name, "split")?);
    let mut rows = Vec::with_capacity(id.len());
    for (i, ((((id, category), instruction_id), input), outputs)) in
        id.into_iter().zip(cat).zip(ins).zip(input).zip(outputs).enumerate()
    {
        let train = match split[i].as_str() {
            "train" => true,
            "test" => false,
            other => return Err(PipelineError::Invalid(format!("table 'instances': row {i}, field 'split': '{other}'"))),
        };
        rows.push(InstanceRow { id, category, instruction_id, input, outputs, train });
    }
    Ok(rows)
}
