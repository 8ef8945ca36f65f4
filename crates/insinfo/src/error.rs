use crate::dbscan::DbscanError;

/// Why InsInfo could not be computed for a pool; every variant names the offending instruction or tag.
#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum InsInfoError {
    #[error(
        "instruction {instruction_id:?} appears in the pool more than once (rows {first} and {second})"
    )]
    DuplicateInstruction {
        instruction_id: String,
        first: usize,
        second: usize,
    },
    #[error("instruction {instruction_id:?} carries an empty tag")]
    EmptyTag { instruction_id: String },
    #[error("instruction {instruction_id:?}: tag {tag:?} has no embedding")]
    MissingEmbedding { instruction_id: String, tag: String },
    #[error("tag {tag:?} has an embedding of dimension 0")]
    ZeroDimension { tag: String },
    #[error(
        "tag {tag:?} has an embedding of dimension {got}, but tag {first_tag:?} has {expected}"
    )]
    DimensionMismatch {
        tag: String,
        got: usize,
        first_tag: String,
        expected: usize,
    },
    #[error("tag {tag:?}: embedding unusable for cosine DBSCAN: {source}")]
    TagEmbedding { tag: String, source: DbscanError },
    #[error("DBSCAN over the pool's tags failed: {0}")]
    Dbscan(DbscanError),
}
