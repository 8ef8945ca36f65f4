//! The tiny LLaMA of the CPU default pipeline.

use inscl_model::{LlamaConfig, TokenIds};

/// Hidden width of the tiny model.
pub const TINY_HIDDEN: usize = 128;
/// Two transformer blocks: enough to learn the generated tasks, cheap enough for ~150 stages on two cores.
pub const TINY_LAYERS: usize = 2;
pub const TINY_HEADS: usize = 4;
pub const TINY_KV_HEADS: usize = 2;
/// ~2.7 x hidden, rounded to a multiple of 32 as LLaMA's sizes are.
pub const TINY_INTERMEDIATE: usize = 352;
pub const TINY_MAX_POSITIONS: usize = 512;

/// The CPU default model: a 2-layer LLaMA with grouped-query attention (4 query heads, 2 key/value heads of
/// width 32), tied input/output embeddings and 512 positions. `vocab_size` is that of the trained tokenizer,
/// whose `<|endoftext|>` (id 0) is BOS, EOS and padding.
pub fn tiny_config(vocab_size: usize) -> LlamaConfig {
    let mut config =
        LlamaConfig::new(vocab_size, TINY_HIDDEN, TINY_INTERMEDIATE, TINY_LAYERS, TINY_HEADS, TINY_KV_HEADS);
    config.max_position_embeddings = TINY_MAX_POSITIONS;
    config.tie_word_embeddings = true;
    config.bos_token_id = Some(0);
    config.eos_token_id = Some(TokenIds::One(0));
    config.pad_token_id = Some(0);
    config
}
