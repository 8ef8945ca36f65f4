//! The finetune stage of InsCL: full fine-tuning of the LLaMA on one stage's training mix (the new category's
//! data plus the replay the sample stage chose), starting from the previous stage's weights.
//!
//! * [`examples`]: one supervised example per reference output, prompt `{definition}\n\n{input}\n\n`, target
//!   `{output}` followed by the model folder's EOS token, loss on target tokens only; prompts that do not fit
//!   are cut from the left.
//! * [`batching`]: length-grouped, right-padded micro batches whose order is a pure function of (seed, epoch).
//! * [`train`](train::train): AdamW (0.9, 0.999, 1e-8, no weight decay), linear warmup then cosine decay,
//!   gradient accumulation to the effective batch (the paper's 128) with the loss averaged over all target
//!   tokens of the accumulated batch, global-norm clipping at 1.0; bf16 autocast on CUDA, f32 on CPU.
//! * [`regularize`]: the paper's regularised baselines on top of the cross-entropy, EWC (a diagonal-Fisher
//!   penalty pulling towards the previous stage's weights) and LwF (distillation from the previous stage's model),
//!   applied by [`train_with`](train::train_with).
//! * [`state`]: a crash-safe resumable state (weights, AdamW moments, step, data cursor), so that a killed
//!   stage continues to the weights an uninterrupted run reaches.
//! * [`tokenizer`] and [`config`]: the byte-level BPE and the tiny LLaMA of the CPU default pipeline.

pub mod batching;
pub mod config;
mod error;
pub mod examples;
pub mod optim;
pub mod precision;
pub mod regularize;
pub mod state;
pub mod tokenizer;
pub mod train;

pub use config::tiny_config;
pub use error::{FinetuneError, Result};
pub use examples::{EncodedExample, Example, InstanceRow, build_examples, encode};
pub use regularize::{Regularizer, RegularizerParams, diagonal_fisher, distillation_loss, ewc_penalty};
pub use tokenizer::train_bpe_tokenizer;
pub use train::{StepLog, TrainParams, TrainReport, train, train_with};
