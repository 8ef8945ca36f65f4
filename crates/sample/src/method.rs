use std::fmt;
use std::str::FromStr;

use crate::SampleError;

/// How a stage replays earlier categories: InsCL, its ablations, and the baselines. `ewc` and `lwf` replay
/// nothing (they train on No Replay's mixes) and regularise the training instead ([`ReplayMethod::regularizer`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayMethod {
    /// No replay: plain sequential fine-tuning.
    None,
    /// `alpha` uniformly random train instances from each earlier category.
    Random,
    /// InsCL: the dynamic budget from W, and InsInfo-guided sampling inside each category.
    Inscl,
    /// The dynamic budget, with uniform sampling inside each category.
    Dynamic,
    /// `alpha` per category, with InsInfo-guided sampling.
    Insinfo,
    /// InsCL with W computed under uniform instruction weights (the caller passes that W).
    InsclUniform,
    /// The `alpha` train instances nearest their category's centroid.
    PrototypeData,
    /// Instances of the instructions nearest their category's instruction centroid.
    PrototypeInstruction,
    /// Instances of the instructions least similar to the current category's (Dynosaur-style).
    DiverseInstruction,
    /// No replay; Elastic Weight Consolidation: a diagonal-Fisher penalty towards the previous stage's weights.
    Ewc,
    /// No replay; Learning without Forgetting: distillation to the previous stage's model on the current data.
    Lwf,
}

/// The training regulariser a method adds (the pipeline's `[ewc]` and `[lwf]` sections give its values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegularizerKind {
    Ewc,
    Lwf,
}

impl ReplayMethod {
    pub const ALL: [ReplayMethod; 11] = [
        Self::None,
        Self::Random,
        Self::Inscl,
        Self::Dynamic,
        Self::Insinfo,
        Self::InsclUniform,
        Self::PrototypeData,
        Self::PrototypeInstruction,
        Self::DiverseInstruction,
        Self::Ewc,
        Self::Lwf,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Random => "random",
            Self::Inscl => "inscl",
            Self::Dynamic => "dynamic",
            Self::Insinfo => "insinfo",
            Self::InsclUniform => "inscl-uniform",
            Self::PrototypeData => "prototype-data",
            Self::PrototypeInstruction => "prototype-instruction",
            Self::DiverseInstruction => "diverse-instruction",
            Self::Ewc => "ewc",
            Self::Lwf => "lwf",
        }
    }

    /// The method whose mixes this one trains on: itself, except for the regularising methods, which replay
    /// nothing and so share No Replay's mixes (the same rows, computed once).
    pub fn replay(self) -> ReplayMethod {
        match self {
            Self::Ewc | Self::Lwf => Self::None,
            m => m,
        }
    }

    /// The regulariser the method adds to training from stage 2 on, if any.
    pub fn regularizer(self) -> Option<RegularizerKind> {
        match self {
            Self::Ewc => Some(RegularizerKind::Ewc),
            Self::Lwf => Some(RegularizerKind::Lwf),
            _ => None,
        }
    }

    /// What the method consumes beyond the dataset. The pipeline builds and wires exactly these inputs, so a
    /// method's key never changes with an artifact it does not read, and nothing it does not need is computed.
    /// A new method declares them here, next to its variant.
    pub fn needs(self) -> Needs {
        let none = Needs::default();
        match self {
            Self::None | Self::Random | Self::Ewc | Self::Lwf => none,
            Self::Inscl => Needs { w: Some(Weights::Real), insinfo: true, ..none },
            Self::Dynamic => Needs { w: Some(Weights::Real), ..none },
            Self::Insinfo => Needs { insinfo: true, ..none },
            Self::InsclUniform => Needs { w: Some(Weights::Uniform), insinfo: true, ..none },
            Self::PrototypeData => Needs { instance_embeddings: true, ..none },
            Self::PrototypeInstruction | Self::DiverseInstruction => Needs { instruction_embeddings: true, ..none },
        }
    }

    /// Whether the per-category budget comes from W rather than being `alpha` each.
    pub fn uses_dynamic_budget(self) -> bool {
        self.needs().w.is_some()
    }

    /// Whether instances are drawn by InsInfo shares.
    pub fn uses_insinfo(self) -> bool {
        self.needs().insinfo
    }

    /// Whether the method reads embeddings.
    pub fn uses_embeddings(self) -> bool {
        let n = self.needs();
        n.instruction_embeddings || n.instance_embeddings
    }
}

/// The instance weights W is computed under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Weights {
    /// Each instruction weighted by its share of the category's instances (the paper).
    Real,
    /// Every instruction weighted alike (the ablation).
    Uniform,
}

impl Weights {
    pub fn name(self) -> &'static str {
        match self {
            Weights::Real => "real",
            Weights::Uniform => "uniform",
        }
    }
}

/// The inputs a replay method reads beyond the dataset (see [`ReplayMethod::needs`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// W(i, j) between the current and each earlier category, under these weights.
    pub w: Option<Weights>,
    /// InsInfo shares of the earlier categories' instructions (and so the tags and their embeddings).
    pub insinfo: bool,
    /// The instruction embeddings.
    pub instruction_embeddings: bool,
    /// Embeddings of every train instance (instruction + input).
    pub instance_embeddings: bool,
}

impl fmt::Display for ReplayMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ReplayMethod {
    type Err = SampleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| SampleError::UnknownMethod(s.to_string()))
    }
}
