//! Length-grouped micro batches. Each epoch shuffles the examples, sorts them by length within large chunks so
//! that a micro batch holds examples of similar length (little padding), and shuffles the order of the micro
//! batches. The plan of an epoch is a pure function of (seed, epoch), which is what makes a training run
//! resumable from a (epoch, batch index) cursor.

use crate::examples::{EncodedExample, IGNORE_LABEL};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Chunks sorted by length hold this many micro batches (HF's `LengthGroupedSampler` uses 50).
const MICRO_BATCHES_PER_CHUNK: usize = 50;

/// The example indices of every micro batch of one epoch, in training order.
pub fn epoch_plan(lengths: &[usize], micro_batch: usize, seed: u64, epoch: usize) -> Vec<Vec<usize>> {
    let micro_batch = micro_batch.max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch as u64);
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.shuffle(&mut rng);

    let mut batches: Vec<Vec<usize>> = Vec::with_capacity(lengths.len().div_ceil(micro_batch));
    for chunk in order.chunks(micro_batch * MICRO_BATCHES_PER_CHUNK) {
        let mut chunk = chunk.to_vec();
        // Stable sort on a shuffled chunk: ties keep their random order.
        chunk.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
        batches.extend(chunk.chunks(micro_batch).map(<[usize]>::to_vec));
    }
    batches.shuffle(&mut rng);
    batches
}

/// A right-padded micro batch, row-major `[rows, width]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaddedBatch {
    pub rows: usize,
    pub width: usize,
    pub input_ids: Vec<i64>,
    /// 1 on real tokens, 0 on padding.
    pub attention_mask: Vec<i64>,
    pub labels: Vec<i64>,
    pub n_real_tokens: usize,
    /// Tokens that enter the loss: targets whose predecessor is in the batch (every target token but a first
    /// token at position 0, which nothing predicts).
    pub n_loss_tokens: usize,
}

impl PaddedBatch {
    pub fn n_pad_tokens(&self) -> usize {
        self.rows * self.width - self.n_real_tokens
    }
}

/// Pads the examples at `indices` on the right to the longest of them with `pad_id`; padded labels are ignored.
pub fn pad_batch(examples: &[EncodedExample], indices: &[usize], pad_id: i64) -> PaddedBatch {
    let width = indices.iter().map(|&i| examples[i].len()).max().unwrap_or(0);
    let rows = indices.len();
    let mut input_ids = vec![pad_id; rows * width];
    let mut attention_mask = vec![0i64; rows * width];
    let mut labels = vec![IGNORE_LABEL; rows * width];
    let mut n_real_tokens = 0;
    let mut n_loss_tokens = 0;
    for (row, &i) in indices.iter().enumerate() {
        let example = &examples[i];
        let start = row * width;
        let len = example.len();
        input_ids[start..start + len].copy_from_slice(&example.input_ids);
        labels[start..start + len].copy_from_slice(&example.labels);
        attention_mask[start..start + len].fill(1);
        n_real_tokens += len;
        n_loss_tokens += example.labels.iter().skip(1).filter(|&&l| l != IGNORE_LABEL).count();
    }
    PaddedBatch { rows, width, input_ids, attention_mask, labels, n_real_tokens, n_loss_tokens }
}

/// Padding tokens over all tokens of the padded micro batches of `plan`.
pub fn padding_fraction(examples: &[EncodedExample], plan: &[Vec<usize>]) -> f64 {
    let mut total = 0usize;
    let mut real = 0usize;
    for batch in plan {
        let width = batch.iter().map(|&i| examples[i].len()).max().unwrap_or(0);
        total += width * batch.len();
        real += batch.iter().map(|&i| examples[i].len()).sum::<usize>();
    }
    if total == 0 { 0.0 } else { (total - real) as f64 / total as f64 }
}
