//! The row type of every artifact table, and its schema by way of `encode` and `decode`.

use crate::columns::{Columns, TableBuilder};
use crate::{Table, TableError};
use arrow::record_batch::RecordBatch;

pub use inscl_evaluate::metrics::MetricRow;

/// Implements [`Table`] from one column list: `(column, field, kind)`, so the writer and the reader cannot
/// disagree on a name or a type.
macro_rules! table {
    ($row:ident, $name:literal, [$(($col:literal, $field:ident, $kind:ident)),+ $(,)?]) => {
        impl Table for $row {
            const NAME: &'static str = $name;

            fn encode(rows: &[Self]) -> Result<RecordBatch, TableError> {
                let b = TableBuilder::new($name);
                $( let b = table!(@put b, rows, $col, $field, $kind); )+
                b.finish()
            }

            fn decode(batch: &RecordBatch) -> Result<Vec<Self>, TableError> {
                let c = Columns::new($name, batch);
                $( let mut $field = table!(@get c, $col, $kind).into_iter(); )+
                Ok((0..c.rows())
                    .map(|_| $row { $( $field: $field.next().expect("one value per row") ),+ })
                    .collect())
            }
        }
    };
    (@put $b:ident, $rows:ident, $col:literal, $field:ident, str) => { $b.str($col, $rows.iter().map(|r| &r.$field)) };
    (@put $b:ident, $rows:ident, $col:literal, $field:ident, opt_str) => { $b.opt_str($col, $rows.iter().map(|r| r.$field.as_deref())) };
    (@put $b:ident, $rows:ident, $col:literal, $field:ident, f64) => { $b.f64($col, $rows.iter().map(|r| r.$field)) };
    (@put $b:ident, $rows:ident, $col:literal, $field:ident, u64) => { $b.i64($col, $rows.iter().map(|r| r.$field as i64)) };
    (@put $b:ident, $rows:ident, $col:literal, $field:ident, usize) => { $b.i64($col, $rows.iter().map(|r| r.$field as i64)) };
    (@put $b:ident, $rows:ident, $col:literal, $field:ident, opt_usize) => { $b.opt_i64($col, $rows.iter().map(|r| r.$field.map(|v| v as i64))) };
    (@put $b:ident, $rows:ident, $col:literal, $field:ident, bool) => { $b.bool($col, $rows.iter().map(|r| r.$field)) };
    (@put $b:ident, $rows:ident, $col:literal, $field:ident, str_lists) => { $b.str_lists($col, $rows.iter().map(|r| &r.$field)) };
    (@get $c:ident, $col:literal, str) => { $c.str($col)? };
    (@get $c:ident, $col:literal, opt_str) => { $c.opt_str($col)? };
    (@get $c:ident, $col:literal, f64) => { $c.f64($col)? };
    (@get $c:ident, $col:literal, u64) => { $c.usize($col)?.into_iter().map(|v| v as u64).collect::<Vec<u64>>() };
    (@get $c:ident, $col:literal, usize) => { $c.usize($col)? };
    (@get $c:ident, $col:literal, opt_usize) => { $c.opt_usize($col)? };
    (@get $c:ident, $col:literal, bool) => { $c.bool($col)? };
    (@get $c:ident, $col:literal, str_lists) => { $c.str_lists($col)? };
}

/// Every instance of the dataset: `split` is `train` or `test`.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceRow {
    pub id: String,
    pub category: String,
    pub task: String,
    pub instruction_id: String,
    pub input: String,
    pub outputs: Vec<String>,
    pub split: Split,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl InstanceRow {
    pub fn train(&self) -> bool {
        self.split == Split::Train
    }
}

impl Table for InstanceRow {
    const NAME: &'static str = "instances";

    fn encode(rows: &[Self]) -> Result<RecordBatch, TableError> {
        TableBuilder::new(Self::NAME)
            .str("instance_id", rows.iter().map(|r| &r.id))
            .str("category", rows.iter().map(|r| &r.category))
            .str("task", rows.iter().map(|r| &r.task))
            .str("instruction_id", rows.iter().map(|r| &r.instruction_id))
            .str("input", rows.iter().map(|r| &r.input))
            .str_lists("outputs", rows.iter().map(|r| &r.outputs))
            .str("split", rows.iter().map(|r| if r.train() { "train" } else { "test" }))
            .finish()
    }

    fn decode(batch: &RecordBatch) -> Result<Vec<Self>, TableError> {
        let c = Columns::new(Self::NAME, batch);
        let (id, category, task) = (c.str("instance_id")?, c.str("category")?, c.str("task")?);
        let (instruction_id, input, outputs, split) = (c.str("instruction_id")?, c.str("input")?, c.str_lists("outputs")?, c.str("split")?);
        let mut rows = Vec::with_capacity(id.len());
        let parts = id.into_iter().zip(category).zip(task).zip(instruction_id).zip(input).zip(outputs).zip(split);
        for (row, ((((((id, category), task), instruction_id), input), outputs), split)) in parts.enumerate() {
            let split = match split.as_str() {
                "train" => Split::Train,
                "test" => Split::Test,
                other => {
                    let problem = format!("'{other}' (expected train or test)");
                    return Err(TableError::Value { table: Self::NAME, row, column: "split".into(), problem });
                }
            };
            rows.push(InstanceRow { id, category, task, instruction_id, input, outputs, split });
        }
        Ok(rows)
    }
}

/// One instruction (a task definition) of a category. `weight` is its share of the category's train instances:
/// the mass the paper's Wasserstein distance puts on it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstructionRow {
    pub id: String,
    pub category: String,
    /// The first task with this definition; `tasks` lists them all.
    pub task: String,
    pub tasks: Vec<String>,
    pub text: String,
    pub n_train: usize,
    pub n_test: usize,
    pub weight: f64,
}

table!(InstructionRow, "instructions", [
    ("instruction_id", id, str), ("category", category, str), ("task", task, str), ("tasks", tasks, str_lists),
    ("text", text, str), ("n_train", n_train, usize), ("n_test", n_test, usize), ("weight", weight, f64),
]);

/// One SuperNI task and where the mapping put it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub task: String,
    pub category: String,
    pub superni_category: String,
    pub instruction_id: String,
    pub n_train: usize,
    pub n_test: usize,
}

table!(TaskRow, "tasks", [
    ("task", task, str), ("category", category, str), ("superni_category", superni_category, str),
    ("instruction_id", instruction_id, str), ("n_train", n_train, usize), ("n_test", n_test, usize),
]);

/// One intention tag of an instruction; `source` says which tagger (or fallback) wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct TagRow {
    pub instruction_id: String,
    pub tag_raw: String,
    pub explanation: String,
    pub tag_norm: String,
    pub source: String,
}

table!(TagRow, "tags", [
    ("instruction_id", instruction_id, str), ("tag_raw", tag_raw, str), ("explanation", explanation, str),
    ("tag_norm", tag_norm, str), ("source", source, str),
]);

/// W(a, b) between two categories' instruction embeddings.
#[derive(Debug, Clone, PartialEq)]
pub struct DistanceRow {
    pub category_a: String,
    pub category_b: String,
    pub w: f64,
    pub n_a: usize,
    pub n_b: usize,
    pub weights: String,
    pub solver: String,
}

table!(DistanceRow, "distances", [
    ("category_a", category_a, str), ("category_b", category_b, str), ("w", w, f64), ("n_a", n_a, usize),
    ("n_b", n_b, usize), ("weights", weights, str), ("solver", solver, str),
]);

/// An instruction's InsInfo score and its sampling share within its category, at one stage of an order.
#[derive(Debug, Clone, PartialEq)]
pub struct InsInfoRow {
    pub order: String,
    pub stage: usize,
    pub category: String,
    pub instruction_id: String,
    pub score: f64,
    pub share: f64,
    pub merged_tags: Vec<String>,
}

table!(InsInfoRow, "insinfo", [
    ("order", order, str), ("stage", stage, usize), ("category", category, str), ("instruction_id", instruction_id, str),
    ("score", score, f64), ("share", share, f64), ("merged_tags", merged_tags, str_lists),
]);

/// A tag DBSCAN merged into another.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeRow {
    pub tag: String,
    pub merged_into: String,
}

table!(MergeRow, "merges", [("tag", tag, str), ("merged_into", merged_into, str)]);

/// One replayed instance and the earlier category it was drawn from.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayRow {
    pub order: String,
    pub stage: usize,
    pub method: String,
    pub source_category: String,
    pub instance_id: String,
}

table!(ReplayRow, "replay", [
    ("order", order, str), ("stage", stage, usize), ("method", method, str), ("source_category", source_category, str),
    ("instance_id", instance_id, str),
]);

/// A row the finetune stage trains on, self-contained.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainMixRow {
    pub instance_id: String,
    pub category: String,
    pub instruction_id: String,
    pub definition: String,
    pub input: String,
    pub outputs: Vec<String>,
    pub replayed: bool,
}

table!(TrainMixRow, "train_mix", [
    ("instance_id", instance_id, str), ("category", category, str), ("instruction_id", instruction_id, str),
    ("definition", definition, str), ("input", input, str), ("outputs", outputs, str_lists), ("replayed", replayed, bool),
]);

/// A test instance with the prompt fields the model sees.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRow {
    pub instance_id: String,
    pub category: String,
    pub definition: String,
    pub input: String,
    pub outputs: Vec<String>,
}

table!(TestRow, "test", [
    ("instance_id", instance_id, str), ("category", category, str), ("definition", definition, str),
    ("input", input, str), ("outputs", outputs, str_lists),
]);

/// One greedy answer and its scores.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionRow {
    pub checkpoint: String,
    pub category: String,
    pub instance_id: String,
    pub prediction: String,
    pub rouge_l_p: f64,
    pub rouge_l_r: f64,
    pub rouge_l_f: f64,
    pub rouge_l_stemmed: f64,
}

table!(PredictionRow, "predictions", [
    ("checkpoint", checkpoint, str), ("category", category, str), ("instance_id", instance_id, str),
    ("prediction", prediction, str), ("rouge_l_p", rouge_l_p, f64), ("rouge_l_r", rouge_l_r, f64),
    ("rouge_l_f", rouge_l_f, f64), ("rouge_l_stemmed", rouge_l_stemmed, f64),
]);

table!(MetricRow, "metrics", [
    ("seed", seed, u64), ("order", order, str), ("method", method, str), ("stage", stage, opt_usize), ("category", category, opt_str),
    ("metric", metric, str), ("value", value, f64),
]);

/// An embeddings table: one vector per row, with the columns that say what each row is.
macro_rules! vectors {
    ($row:ident, [$(($col:literal, $field:ident, $kind:ident)),+]) => {
        impl Table for $row {
            const NAME: &'static str = "embeddings";

            fn encode(rows: &[Self]) -> Result<RecordBatch, TableError> {
                let b = TableBuilder::new(Self::NAME);
                $( let b = table!(@put b, rows, $col, $field, $kind); )+
                let dim = rows.first().map_or(0, |r| r.vector.len());
                if let Some(row) = rows.iter().position(|r| r.vector.len() != dim) {
                    let problem = format!("{} values, the first row has {dim}", rows[row].vector.len());
                    return Err(TableError::Value { table: Self::NAME, row, column: "embedding".into(), problem });
                }
                b.vectors("embedding", dim, rows.iter().map(|r| r.vector.as_slice())).finish()
            }

            fn decode(batch: &RecordBatch) -> Result<Vec<Self>, TableError> {
                let c = Columns::new(Self::NAME, batch);
                $( let mut $field = table!(@get c, $col, $kind).into_iter(); )+
                let (data, dim) = c.vectors("embedding")?;
                Ok((0..c.rows())
                    .map(|i| $row {
                        $( $field: $field.next().expect("one value per row"), )+
                        vector: data[i * dim..(i + 1) * dim].to_vec(),
                    })
                    .collect())
            }
        }
    };
}

/// An instruction's embedding, with its category and W mass: one point of a category's point set.
#[derive(Debug, Clone, PartialEq)]
pub struct InstructionVector {
    pub instruction_id: String,
    pub category: String,
    pub weight: f64,
    pub vector: Vec<f32>,
}

vectors!(InstructionVector, [("instruction_id", instruction_id, str), ("category", category, str), ("weight", weight, f64)]);

/// A unique tag's embedding: DBSCAN's points.
#[derive(Debug, Clone, PartialEq)]
pub struct TagVector {
    pub tag: String,
    pub vector: Vec<f32>,
}

vectors!(TagVector, [("tag", tag, str)]);

/// A train instance's embedding (instruction + input), for Prototype Data.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceVector {
    pub instance_id: String,
    pub category: String,
    pub vector: Vec<f32>,
}

vectors!(InstanceVector, [("instance_id", instance_id, str), ("category", category, str)]);

/// One optimiser step of a training: the finetune artifact's `train_log` (volatile: it holds timings).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainLogRow {
    pub step: usize,
    pub epoch: usize,
    pub loss: f64,
    pub lr: f64,
    pub grad_norm: f64,
    pub tokens: usize,
    pub tokens_per_s: f64,
}

table!(TrainLogRow, "train_log", [
    ("step", step, usize), ("epoch", epoch, usize), ("loss", loss, f64), ("lr", lr, f64), ("grad_norm", grad_norm, f64),
    ("tokens", tokens, usize), ("tokens_per_s", tokens_per_s, f64),
]);

#[cfg(test)]
mod tests;
