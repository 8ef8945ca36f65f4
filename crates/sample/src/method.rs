use std::fmt;
use std::str::FromStr;

use crate::SampleError;

/// How a stage replays earlier categories: InsCL, its ablations, and the baselines.
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
}

impl ReplayMethod {
    pub const ALL: [ReplayMethod; 9] = [
        Self::None,
        Self::Random,
        Self::Inscl,
        Self::Dynamic,
        Self::Insinfo,
        Self::InsclUniform,
        Self::PrototypeData,
        Self::PrototypeInstruction,
        Self::DiverseInstruction,
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
        }
    }

    /// Whether the per-category budget comes from W rather than being `alpha` each.
    pub fn uses_dynamic_budget(self) -> bool {
        matches!(self, Self::Inscl | Self::Dynamic | Self::InsclUniform)
    }

    /// Whether instances are drawn by InsInfo shares.
    pub fn uses_insinfo(self) -> bool {
        matches!(self, Self::Inscl | Self::Insinfo | Self::InsclUniform)
    }

    /// Whether the method reads embeddings.
    pub fn uses_embeddings(self) -> bool {
        matches!(
            self,
            Self::PrototypeData | Self::PrototypeInstruction | Self::DiverseInstruction
        )
    }
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
