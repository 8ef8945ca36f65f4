/// Why a stage's training mix could not be built; every variant names the offending item.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum SampleError {
    #[error(
        "unknown replay method {0:?}; expected one of none, random, inscl, dynamic, insinfo, \
         inscl-uniform, prototype-data, prototype-instruction, diverse-instruction"
    )]
    UnknownMethod(String),
    #[error("the order is empty")]
    EmptyOrder,
    #[error("stage {stage} is outside 1..={len} for an order of {len} categories")]
    StageOutOfRange { stage: usize, len: usize },
    #[error("category {category:?} appears twice in the order (positions {first} and {second})")]
    DuplicateCategory {
        category: String,
        first: usize,
        second: usize,
    },
    #[error(
        "instance {instance_id:?} appears twice in the train split (rows {first} and {second})"
    )]
    DuplicateInstance {
        instance_id: String,
        first: usize,
        second: usize,
    },
    #[error("category {category:?} of the order has no train instances")]
    NoTrainInstances { category: String },
    #[error("method {method} needs W (a distance per earlier category), none was given")]
    MissingW { method: String },
    #[error("W has {got} values but stage {stage} has {expected} earlier categories")]
    WLength {
        stage: usize,
        expected: usize,
        got: usize,
    },
    #[error("W for earlier category {category:?} is {value}; it must be finite and non-negative")]
    BadW { category: String, value: f64 },
    #[error("method {method} needs InsInfo shares, none were given")]
    MissingShares { method: String },
    #[error("no InsInfo share for instruction {instruction_id:?} of category {category:?}")]
    MissingShare {
        category: String,
        instruction_id: String,
    },
    #[error(
        "InsInfo share of instruction {instruction_id:?} is {value}; it must be finite and non-negative"
    )]
    BadShare { instruction_id: String, value: f64 },
    #[error("method {method} needs embeddings, none were given")]
    MissingEmbeddings { method: String },
    #[error("no {kind} embedding for {id:?}")]
    MissingEmbedding { kind: &'static str, id: String },
    #[error("{kind} embedding of {id:?} has dimension {got}, expected {expected}")]
    EmbeddingDimension {
        kind: &'static str,
        id: String,
        got: usize,
        expected: usize,
    },
    #[error("{kind} embedding of {id:?} is zero, empty or not finite; it has no cosine")]
    UnusableEmbedding { kind: &'static str, id: String },
    #[error(
        "the {kind} embeddings of category {category:?} average to zero; there is no centroid direction"
    )]
    ZeroCentroid {
        kind: &'static str,
        category: String,
    },
    #[error("instruction_limit must be at least 1 (or absent for all instructions)")]
    ZeroInstructionLimit,
}
