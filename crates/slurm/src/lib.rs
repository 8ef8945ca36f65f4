//! The Slurm executor of the InsCL pipeline: the stage instances of the continual-learning matrix (orders ×
//! methods × stages, and the experts) run as Slurm jobs on a cluster that shares the store. The driver keeps
//! the DAG and submits an instance as soon as all its inputs are committed artifacts; the store, not Slurm,
//! decides what is done (no `--dependency`: on Slurm 22.05 an `afterok` on a purged job runs at once, and a
//! failed parent leaves its children pending forever). Slurm states only report failures. Each job runs the
//! worker (`inscl-exec build P --instance ID...`), which builds and commits atomically.

mod driver;
mod error;
mod sbatch;

pub use driver::{DriveSummary, Driver};
pub use error::SlurmError;
pub use sbatch::{Cluster, Output, SystemCluster, sbatch_args};
