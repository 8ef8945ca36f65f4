//! Tokenizer, example building, encoding, batching and schedule.

mod common;

use common::{synth_examples, synth_rows, texts};
use inscl_finetune::batching::{epoch_plan, pad_batch, padding_fraction};
use inscl_finetune::examples::{IGNORE_LABEL, encode_all};
use inscl_finetune::optim::{lr_factor, warmup_steps};
use inscl_finetune::tokenizer::{EOS_TOKEN, IM_END_TOKEN, IM_START_TOKEN, encode_text, eos_id};
use inscl_finetune::{Example, FinetuneError, InstanceRow, TrainParams, build_examples, encode, train_bpe_tokenizer};

fn tokenizer() -> tokenizers::Tokenizer {
    train_bpe_tokenizer(&texts(&synth_examples(&["_classification_", "_misc_"], 20)), 600).unwrap()
}

#[test]
fn bpe_training_is_deterministic_and_puts_special_tokens_first() {
    let corpus = texts(&synth_examples(&["_classification_", "_misc_"], 20));
    let a = train_bpe_tokenizer(&corpus, 600).unwrap();
    let b = train_bpe_tokenizer(&corpus, 600).unwrap();
    assert_eq!(a.to_string(false).unwrap(), b.to_string(false).unwrap());
    assert_eq!(a.get_vocab_size(true), 600);
    assert_eq!(a.token_to_id(EOS_TOKEN), Some(0));
    assert_eq!(a.token_to_id(IM_START_TOKEN), Some(1));
    assert_eq!(a.token_to_id(IM_END_TOKEN), Some(2));
    assert_eq!(a.get_padding().map(|p| (p.pad_id, p.pad_token.as_str())), Some((0, EOS_TOKEN)));
    // Byte-level: any text round-trips, even characters never seen in training.
    let text = "Is \"zebra\" an animal? Ünïcödé → yes\n\n";
    let ids = encode_text(&a, text).unwrap();
    assert_eq!(a.decode(&ids, false).unwrap(), text);
    // Special tokens in text are single tokens.
    assert_eq!(encode_text(&a, "<|endoftext|>").unwrap(), vec![0]);
    assert!(train_bpe_tokenizer(&corpus, 100).is_err());
}

#[test]
fn one_example_per_reference_output() {
    let rows = vec![
        InstanceRow { definition: "Answer.".into(), input: "Q1".into(), outputs: vec!["a".into(), "b".into(), "c".into()] },
        InstanceRow { definition: "Answer.".into(), input: "Q2".into(), outputs: vec!["d".into()] },
    ];
    let examples = build_examples(&rows).unwrap();
    let targets: Vec<&str> = examples.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(targets, ["a", "b", "c", "d"]);
    assert!(examples[..3].iter().all(|e| e.prompt == "Answer.\n\nQ1\n\n"));
    assert_eq!(examples[3].prompt, "Answer.\n\nQ2\n\n");

    let empty = vec![rows[0].clone(), InstanceRow { outputs: vec![], ..rows[1].clone() }];
    let err = build_examples(&empty).unwrap_err();
    assert!(matches!(err, FinetuneError::BadRow { row: 1, .. }), "{err}");

    // The synth data has multi-output instances; each output becomes its own example.
    let synth = synth_rows(&["_"], 10);
    let outputs: usize = synth.iter().map(|r| r.outputs.len()).sum();
    assert!(outputs > synth.len(), "the synth data should hold multi-output instances");
    assert_eq!(build_examples(&synth).unwrap().len(), outputs);
}

#[test]
fn encoding_masks_the_prompt_and_ends_the_target_with_eos() {
    let tok = tokenizer();
    let eos = eos_id(&tok).unwrap();
    let example = Example { prompt: "Say the colour.\n\nThe sky\n\n".into(), target: "blue".into() };
    let prompt_ids = encode_text(&tok, &example.prompt).unwrap();
    let target_ids = encode_text(&tok, &example.target).unwrap();
    let encoded = encode(&tok, &example, 512, eos).unwrap();
    assert_eq!(encoded.len(), prompt_ids.len() + target_ids.len() + 1);
    assert!(encoded.labels[..prompt_ids.len()].iter().all(|&l| l == IGNORE_LABEL));
    let target_labels: Vec<i64> = target_ids.iter().map(|&i| i64::from(i)).chain([i64::from(eos)]).collect();
    assert_eq!(&encoded.labels[prompt_ids.len()..], target_labels.as_slice());
    assert_eq!(&encoded.input_ids[prompt_ids.len()..], target_labels.as_slice());
    assert!(!encoded.was_truncated());
}

#[test]
fn left_truncation_keeps_the_whole_target() {
    let tok = tokenizer();
    let eos = eos_id(&tok).unwrap();
    let example = Example {
        prompt: format!("Count the words.\n\n{}\n\n", "one two three four five six seven eight nine ten ".repeat(4)),
        target: "forty words in all".into(),
    };
    let prompt_ids = encode_text(&tok, &example.prompt).unwrap();
    let target_ids = encode_text(&tok, &example.target).unwrap();
    let max_len = target_ids.len() + 1 + 5;
    assert!(prompt_ids.len() > 5);
    let encoded = encode(&tok, &example, max_len, eos).unwrap();
    assert_eq!(encoded.len(), max_len);
    assert_eq!(encoded.prompt_tokens_dropped, prompt_ids.len() - 5);
    assert!(!encoded.target_truncated && encoded.was_truncated());
    // The kept prompt is the END of the prompt (cut from the left), then the full target and EOS.
    let kept: Vec<i64> = prompt_ids[prompt_ids.len() - 5..].iter().map(|&i| i64::from(i)).collect();
    assert_eq!(&encoded.input_ids[..5], kept.as_slice());
    assert_eq!(encoded.n_target_tokens(), target_ids.len() + 1);
    assert_eq!(encoded.input_ids.last(), Some(&i64::from(eos)));

    // A target longer than max_len keeps its first max_len - 1 tokens and EOS, and is flagged.
    let long = Example { prompt: "P\n\n".into(), target: "one two three four five six seven".into() };
    let long_ids = encode_text(&tok, &long.target).unwrap();
    let encoded = encode(&tok, &long, 4, eos).unwrap();
    assert!(encoded.target_truncated);
    let expected: Vec<i64> = long_ids[..3].iter().map(|&i| i64::from(i)).chain([i64::from(eos)]).collect();
    assert_eq!(encoded.input_ids, expected);
    assert_eq!(encoded.labels, expected);
}

#[test]
fn length_grouped_batches_are_seeded_complete_and_tight() {
    let tok = tokenizer();
    let examples = synth_examples(&["_classification_", "_misc_"], 20);
    let encoded = encode_all(&tok, &examples, 512, 0).unwrap();
    let lengths: Vec<usize> = encoded.iter().map(|e| e.len()).collect();
    let plan = epoch_plan(&lengths, 8, 1, 0);
    assert_eq!(plan, epoch_plan(&lengths, 8, 1, 0), "an epoch's plan is a function of (seed, epoch)");
    assert_ne!(plan, epoch_plan(&lengths, 8, 1, 1));
    assert_ne!(plan, epoch_plan(&lengths, 8, 2, 0));
    let mut seen: Vec<usize> = plan.iter().flatten().copied().collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..encoded.len()).collect::<Vec<_>>());
    assert_eq!(plan.len(), encoded.len().div_ceil(8));

    // Grouping by length pads far less than a random split of the same epoch.
    let grouped = padding_fraction(&encoded, &plan);
    let random: Vec<Vec<usize>> = {
        let mut order: Vec<usize> = plan.iter().flatten().copied().collect();
        order.sort_by_key(|&i| (i * 7919) % encoded.len());
        order.chunks(8).map(<[usize]>::to_vec).collect()
    };
    let ungrouped = padding_fraction(&encoded, &random);
    println!("padding fraction: grouped {grouped:.4}, random {ungrouped:.4}");
    assert!(grouped < 0.5 * ungrouped, "grouped {grouped} vs random {ungrouped}");

    let batch = pad_batch(&encoded, &plan[0], 0);
    assert_eq!(batch.rows * batch.width, batch.input_ids.len());
    for (row, &i) in plan[0].iter().enumerate() {
        let len = encoded[i].len();
        let start = row * batch.width;
        assert_eq!(&batch.input_ids[start..start + len], encoded[i].input_ids.as_slice());
        assert!(batch.labels[start + len..start + batch.width].iter().all(|&l| l == IGNORE_LABEL));
        assert!(batch.attention_mask[start + len..start + batch.width].iter().all(|&m| m == 0));
    }
}

#[test]
fn warmup_then_cosine_matches_the_hf_schedule() {
    assert_eq!(warmup_steps(0.03, 100), 3);
    assert_eq!(warmup_steps(0.03, 10), 1);
    assert_eq!(warmup_steps(0.0, 10), 0);
    // get_cosine_schedule_with_warmup(warmup=3, total=100) multipliers.
    assert_eq!(lr_factor(0, 3, 100), 0.0);
    assert!((lr_factor(1, 3, 100) - 1.0 / 3.0).abs() < 1e-15);
    assert_eq!(lr_factor(3, 3, 100), 1.0);
    let mid = 3 + 97 / 2;
    assert!((lr_factor(mid, 3, 100) - 0.5 * (1.0 + (std::f64::consts::PI * 48.0 / 97.0).cos())).abs() < 1e-15);
    assert!(lr_factor(99, 3, 100) > 0.0 && lr_factor(99, 3, 100) < 1e-3);
    assert_eq!(lr_factor(0, 0, 10), 1.0);
}

#[test]
fn params_default_to_the_paper_and_round_trip_through_json() {
    let params = TrainParams::default();
    assert_eq!(params.lr, 2e-5);
    assert_eq!(params.epochs, 2);
    assert_eq!(params.micro_batch * params.grad_accum, 128);
    assert_eq!(params.max_len, 2048);
    assert_eq!(params.warmup_ratio, 0.03);
    assert_eq!(params.max_grad_norm, 1.0);
    let json = serde_json::to_string(&params).unwrap();
    assert_eq!(serde_json::from_str::<TrainParams>(&json).unwrap(), params);
    let partial: TrainParams = serde_json::from_str(r#"{"lr": 0.001, "epochs": 3}"#).unwrap();
    assert_eq!((partial.lr, partial.epochs, partial.max_len), (1e-3, 3, 2048));
    assert!(serde_json::from_str::<TrainParams>(r#"{"learning_rate": 0.1}"#).is_err());
    let bad = TrainParams { micro_batch: 0, ..TrainParams::default() };
    assert!(bad.validate().unwrap_err().to_string().contains("micro_batch"));
}
