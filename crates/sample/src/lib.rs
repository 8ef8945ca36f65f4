//! The sample stage of InsCL: the training mix of stage `i` of a task order, i.e. the train split of
//! category `order[i-1]` plus data replayed from the earlier categories `order[..i-1]`.
//!
//! InsCL decides *how much* to replay from each earlier category with a dynamic budget: the total
//! `(i−1)·α` (α = 200) is split in proportion to the Wasserstein distance `W(current, j)` between
//! the instruction embeddings of the current and the earlier category ([`dynamic_budget`]). It decides
//! *which* instances with InsInfo (scores and per-category shares from `inscl-insinfo`). To draw `n`
//! instances from a category whose instructions are ranked by share (descending, ties by id):
//! * `n` below the number of instructions: one random instance of each of the top `n`;
//! * otherwise quota `floor(share · n)` per instruction, at least 1 and at most its supply, drawn
//!   without replacement; a shortfall is topped up with random unpicked instances of the category,
//!   an excess loses random picks but never an instruction's last one.
//!
//! A category with no more than `n` train instances gives all of them and the rest is reported as
//! its shortfall (budgets are not moved to other categories).
//! [`ReplayMethod`] lists InsCL, its ablations (`dynamic`, `insinfo`, `inscl-uniform`) and the
//! baselines (`none`, `random`, two prototype methods and Dynosaur-style diverse instructions).
//!
//! Every draw is reproducible: a ChaCha8 generator per (seed, order name, stage, method, earlier
//! category), keyed by a stable hash, so the same input gives the same picks on every run and
//! platform (with the `rand` 0.9 pinned by the lock file).

mod budget;
mod error;
mod insinfo_sampling;
mod method;
mod pools;
mod prototype;
mod rng;
mod stage;

pub use budget::dynamic_budget;
pub use error::SampleError;
pub use method::{Needs, RegularizerKind, ReplayMethod, Weights};
pub use stage::{
    CategoryBudget, DEFAULT_ALPHA, Embeddings, ReplayPick, StageInput, StageSample, TrainInstance,
    sample_stage,
};
