//! The tokenizer of the tiny CPU model: a byte-level BPE trained on the stage texts themselves, so that a model
//! of a few layers spends its small vocabulary on the words the generated tasks actually use.

use crate::error::{FinetuneError, Result};
use std::collections::HashSet;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, PaddingParams, Tokenizer};

/// End of a sequence; also the padding token. Always id 0.
pub const EOS_TOKEN: &str = "<|endoftext|>";
/// Chat markers (ids 1 and 2), reserved so that the vocabulary has the same special tokens as SmolLM2's.
pub const IM_START_TOKEN: &str = "<|im_start|>";
pub const IM_END_TOKEN: &str = "<|im_end|>";
pub const SPECIAL_TOKENS: [&str; 3] = [EOS_TOKEN, IM_START_TOKEN, IM_END_TOKEN];

/// Smallest vocabulary that holds the special tokens and the 256 byte symbols.
pub const MIN_VOCAB_SIZE: usize = SPECIAL_TOKENS.len() + 256;

/// Trains a byte-level BPE on `texts`: the special tokens take ids 0, 1, 2, then the 256 byte symbols, then
/// merges until `vocab_size` (fewer if the texts run out of pairs). The same texts always give the same
/// tokenizer: the trainer breaks count ties by pair ids, which are fixed once the alphabet is sorted.
pub fn train_bpe_tokenizer(texts: &[String], vocab_size: usize) -> Result<Tokenizer> {
    if vocab_size < MIN_VOCAB_SIZE {
        return Err(FinetuneError::Tokenizer(format!(
            "vocab_size {vocab_size} is below {MIN_VOCAB_SIZE} (3 special tokens + 256 bytes)"
        )));
    }
    if texts.is_empty() {
        return Err(FinetuneError::Tokenizer("no texts to train the tokenizer on".to_string()));
    }
    let specials: Vec<AddedToken> = SPECIAL_TOKENS.iter().map(|t| AddedToken::from(*t, true)).collect();
    let alphabet: HashSet<char> = ByteLevel::alphabet().into_iter().collect();
    let trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(specials)
        .initial_alphabet(alphabet)
        .build();
    let mut trainer = TrainerWrapper::BpeTrainer(trainer);

    // No prefix space: a prompt and its target are encoded separately and concatenated, exactly as at
    // generation time, so neither may gain a leading space.
    let byte_level = ByteLevel::default().add_prefix_space(false);
    let mut tokenizer = Tokenizer::new(BPE::default());
    tokenizer.with_pre_tokenizer(Some(byte_level));
    tokenizer.with_decoder(Some(byte_level));
    tokenizer.train(&mut trainer, texts.iter()).map_err(|e| FinetuneError::Tokenizer(e.to_string()))?;
    tokenizer.with_padding(Some(PaddingParams {
        pad_id: 0,
        pad_token: EOS_TOKEN.to_string(),
        ..PaddingParams::default()
    }));
    for (expected_id, token) in SPECIAL_TOKENS.iter().enumerate() {
        if tokenizer.token_to_id(token) != Some(expected_id as u32) {
            return Err(FinetuneError::Tokenizer(format!(
                "special token {token} did not get id {expected_id} (got {:?})",
                tokenizer.token_to_id(token)
            )));
        }
    }
    Ok(tokenizer)
}

/// The id of the end-of-sequence token, which ends every training target.
pub fn eos_id(tokenizer: &Tokenizer) -> Result<u32> {
    tokenizer
        .token_to_id(EOS_TOKEN)
        .ok_or(FinetuneError::MissingToken { token: EOS_TOKEN.to_string(), role: "end of sequence" })
}

/// Token ids of `text`, without special tokens added around it.
pub fn encode_text(tokenizer: &Tokenizer, text: &str) -> Result<Vec<u32>> {
    let encoding = tokenizer.encode(text, false).map_err(|e| FinetuneError::Tokenizer(e.to_string()))?;
    Ok(encoding.get_ids().to_vec())
}
