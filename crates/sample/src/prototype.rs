//! The embedding-based baselines: `prototype-data`, `prototype-instruction`, `diverse-instruction`.
//!
//! Cosines are computed in f64 over the embeddings as given (unit length is not required).

use std::collections::HashMap;

use rand_chacha::ChaCha8Rng;

use crate::pools::{CategoryPool, InstructionGroup};
use crate::rng::shuffled;
use crate::{SampleError, TrainInstance};

const INSTANCE: &str = "instance";
const INSTRUCTION: &str = "instruction";

/// Looks up embeddings of one kind, checking they are usable and share one dimension.
pub(crate) struct VectorTable<'e> {
    kind: &'static str,
    map: &'e HashMap<String, Vec<f32>>,
    dim: Option<(usize, &'e str)>,
}

impl<'e> VectorTable<'e> {
    pub(crate) fn instances(map: &'e HashMap<String, Vec<f32>>) -> Self {
        Self {
            kind: INSTANCE,
            map,
            dim: None,
        }
    }

    pub(crate) fn instructions(map: &'e HashMap<String, Vec<f32>>) -> Self {
        Self {
            kind: INSTRUCTION,
            map,
            dim: None,
        }
    }

    fn get(&mut self, id: &str) -> Result<&'e [f32], SampleError> {
        let (key, v) = self
            .map
            .get_key_value(id)
            .ok_or_else(|| SampleError::MissingEmbedding {
                kind: self.kind,
                id: id.to_string(),
            })?;
        if v.is_empty() || v.iter().any(|x| !x.is_finite()) || v.iter().all(|&x| x == 0.0) {
            return Err(SampleError::UnusableEmbedding {
                kind: self.kind,
                id: id.to_string(),
            });
        }
        match self.dim {
            None => self.dim = Some((v.len(), key.as_str())),
            Some((dim, _)) if dim != v.len() => {
                return Err(SampleError::EmbeddingDimension {
                    kind: self.kind,
                    id: id.to_string(),
                    got: v.len(),
                    expected: dim,
                });
            }
            Some(_) => {}
        }
        Ok(v)
    }
}

fn cosine(a: &[f32], b: &[f64]) -> f64 {
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let x = f64::from(x);
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    dot / (na.sqrt() * nb.sqrt())
}

fn centroid(rows: &[&[f32]], kind: &'static str, category: &str) -> Result<Vec<f64>, SampleError> {
    let dim = rows.first().map_or(0, |r| r.len());
    let mut c = vec![0.0f64; dim];
    for row in rows {
        for (s, &x) in c.iter_mut().zip(*row) {
            *s += f64::from(x);
        }
    }
    for s in &mut c {
        *s /= rows.len() as f64;
    }
    if c.iter().all(|&x| x == 0.0) {
        return Err(SampleError::ZeroCentroid {
            kind,
            category: category.to_string(),
        });
    }
    Ok(c)
}

/// The `n` instances of `pool` nearest (cosine) the mean of its instance embeddings; ties keep train
/// order. No randomness.
pub(crate) fn prototype_data(
    pool: &CategoryPool<'_>,
    train: &[TrainInstance],
    table: &mut VectorTable<'_>,
    n: usize,
) -> Result<Vec<usize>, SampleError> {
    let rows = pool
        .instances
        .iter()
        .map(|&i| table.get(&train[i].instance_id))
        .collect::<Result<Vec<_>, _>>()?;
    let c = centroid(&rows, INSTANCE, pool.name)?;
    let mut ranked: Vec<(usize, f64)> = pool
        .instances
        .iter()
        .zip(&rows)
        .map(|(&i, row)| (i, cosine(row, &c)))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(ranked.into_iter().take(n).map(|(i, _)| i).collect())
}

/// Instructions of `pool` ranked by cosine to their centroid, nearest first (ties by id).
pub(crate) fn rank_prototype_instructions<'p, 'a>(
    pool: &'p CategoryPool<'a>,
    table: &mut VectorTable<'_>,
) -> Result<Vec<&'p InstructionGroup<'a>>, SampleError> {
    let rows = pool
        .instructions
        .iter()
        .map(|g| table.get(g.id))
        .collect::<Result<Vec<_>, _>>()?;
    let c = centroid(&rows, INSTRUCTION, pool.name)?;
    let mut ranked: Vec<(&InstructionGroup, f64)> = pool
        .instructions
        .iter()
        .zip(&rows)
        .map(|(g, row)| (g, cosine(row, &c)))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(ranked.into_iter().map(|(g, _)| g).collect())
}

/// Instructions of `pool` ranked by their largest cosine to any instruction of `current`, least
/// similar first (ties by id): Dynosaur's diverse-instruction replay.
pub(crate) fn rank_diverse_instructions<'p, 'a>(
    pool: &'p CategoryPool<'a>,
    current: &CategoryPool<'_>,
    table: &mut VectorTable<'_>,
) -> Result<Vec<&'p InstructionGroup<'a>>, SampleError> {
    let mut targets: Vec<Vec<f64>> = Vec::with_capacity(current.instructions.len());
    for g in &current.instructions {
        targets.push(table.get(g.id)?.iter().map(|&x| f64::from(x)).collect());
    }
    let mut ranked = Vec::with_capacity(pool.instructions.len());
    for g in &pool.instructions {
        let row = table.get(g.id)?;
        let nearest = targets
            .iter()
            .map(|t| cosine(row, t))
            .fold(f64::NEG_INFINITY, f64::max);
        ranked.push((g, nearest));
    }
    ranked.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(ranked.into_iter().map(|(g, _)| g).collect())
}

/// Fills `n` picks round-robin over `ranked` instructions, each instruction's instances in a seeded
/// random order: the first instance of every instruction in rank order, then the second, and so on.
/// With `limit = Some(k)` only the top `k` instructions take part until they run out; the rest then
/// continue the same way.
pub(crate) fn round_robin(
    rng: &mut ChaCha8Rng,
    ranked: &[&InstructionGroup<'_>],
    n: usize,
    limit: Option<usize>,
) -> Vec<usize> {
    let queues: Vec<Vec<usize>> = ranked.iter().map(|g| shuffled(rng, &g.instances)).collect();
    let split = limit.unwrap_or(queues.len()).min(queues.len());
    let mut out = Vec::with_capacity(n);
    for tier in [&queues[..split], &queues[split..]] {
        let mut round = 0;
        loop {
            let mut progressed = false;
            for queue in tier {
                if out.len() == n {
                    return out;
                }
                if let Some(&i) = queue.get(round) {
                    out.push(i);
                    progressed = true;
                }
            }
            if !progressed {
                break;
            }
            round += 1;
        }
    }
    out
}
