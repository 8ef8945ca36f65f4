//! EWC and LwF (crate::regularize): the penalty, the distillation loss and the Fisher against hand computations,
//! and their effect on a training stage of the tiny model (CPU).

mod common;

use common::{synth_examples, tiny_model, weights};
use inscl_finetune::batching::{epoch_plan, pad_batch};
use inscl_finetune::examples::{IGNORE_LABEL, encode_all};
use inscl_finetune::{
    Example, FinetuneError, Regularizer, RegularizerParams, TrainParams, diagonal_fisher, distillation_loss,
    ewc_penalty, train, train_with,
};
use inscl_model::LlamaModel;
use inscl_model::tch::{Kind, Reduction, Tensor};
use std::collections::BTreeMap;

fn vec_of(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(&t.detach().flatten(0, -1).to_kind(Kind::Double)).unwrap()
}

fn map(entries: &[(&str, &[f32])]) -> BTreeMap<String, Tensor> {
    entries.iter().map(|(n, v)| (n.to_string(), Tensor::from_slice(v))).collect()
}

#[test]
fn ewc_penalty_is_half_lambda_times_the_fisher_weighted_squared_distance() {
    let fisher = map(&[("w", &[1.0, 2.0, 0.5]), ("b", &[3.0])]);
    let current = map(&[("w", &[1.0, 0.0, 2.0]), ("b", &[0.5])]);
    let anchor = map(&[("w", &[0.0, 1.0, 1.0]), ("b", &[0.5])]);
    // 4/2 · (1·1² + 2·(−1)² + 0.5·1²) + 4/2 · 3·0² = 2 · 3.5 = 7.
    assert_eq!(ewc_penalty(4.0, &fisher, &current, &anchor).unwrap(), 7.0);
    assert_eq!(ewc_penalty(0.0, &fisher, &current, &anchor).unwrap(), 0.0);
    // At the anchor the penalty vanishes.
    assert_eq!(ewc_penalty(4.0, &fisher, &anchor, &anchor).unwrap(), 0.0);

    let missing = map(&[("w", &[0.0, 1.0, 1.0])]);
    let err = ewc_penalty(4.0, &fisher, &current, &missing).unwrap_err();
    assert!(matches!(err, FinetuneError::BadParam { field: "regularizer", .. }), "{err}");
    assert!(err.to_string().contains("\"b\""), "the error names the missing tensor: {err}");
    let err = ewc_penalty(4.0, &fisher, &missing, &anchor).unwrap_err();
    assert!(err.to_string().contains("\"b\""), "{err}");
}

/// Rows (ln-valued so that the softmaxes are simple fractions):
/// teacher [ln1, ln2, ln1] → p_t = [1/4, 1/2, 1/4]; student [0, 0, 0] → p_s = [1/3, 1/3, 1/3];
/// teacher [0, 0, 0] → uniform; student [ln1, ln1, ln2] → p_s = [1/4, 1/4, 1/2].
fn distillation_rows() -> (Tensor, Tensor) {
    let l2 = 2f32.ln();
    let teacher = Tensor::from_slice(&[0.0, l2, 0.0, 0.0, 0.0, 0.0]).view([2, 3]);
    let student = Tensor::from_slice(&[0.0, 0.0, 0.0, 0.0, 0.0, l2]).view([2, 3]);
    (student, teacher)
}

#[test]
fn distillation_loss_is_t_squared_times_the_summed_kl() {
    let (student, teacher) = distillation_rows();
    // T = 1. Row 1: KL = Σ p_t ln(p_t/p_s) = 1/4 ln(3/4) + 1/2 ln(3/2) + 1/4 ln(3/4) = 1/2 ln(9/8).
    // Row 2: KL = 2 · 1/3 ln((1/3)/(1/4)) + 1/3 ln((1/3)/(1/2)) = 2/3 ln(4/3) + 1/3 ln(2/3) = 1/3 ln(32/27).
    let expected_t1 = 0.5 * (9.0f64 / 8.0).ln() + (32.0f64 / 27.0).ln() / 3.0;
    let got = distillation_loss(&student, &teacher, 1.0).unwrap().double_value(&[]);
    assert!((got - expected_t1).abs() < 1e-6, "T=1: {got} vs {expected_t1}");

    // T = 2: the logits halve, ln2/2 = ln√2. Row 1: p_t = [1, √2, 1]/(2+√2), p_s uniform:
    //   KL = 2 · 1/(2+√2) · ln(3/(2+√2)) + √2/(2+√2) · ln(3√2/(2+√2)).
    // Row 2: p_t uniform, p_s = [1, 1, √2]/(2+√2): KL = 1/3 · (2 ln((2+√2)/3) + ln((2+√2)/(3√2))).
    // Times T² = 4.
    let r = 2f64.sqrt();
    let z = 2.0 + r;
    let row1 = 2.0 / z * (3.0 / z).ln() + r / z * (3.0 * r / z).ln();
    let row2 = (2.0 * (z / 3.0).ln() + (z / (3.0 * r)).ln()) / 3.0;
    let expected_t2 = 4.0 * (row1 + row2);
    let got = distillation_loss(&student, &teacher, 2.0).unwrap().double_value(&[]);
    assert!((got - expected_t2).abs() < 1e-6, "T=2: {got} vs {expected_t2}");
    assert!(expected_t2 > 0.0 && expected_t1 > 0.0);

    // Equal distributions: no loss.
    let same = distillation_loss(&teacher, &teacher, 2.0).unwrap().double_value(&[]);
    assert!(same.abs() < 1e-7, "{same}");
    // Shapes must agree.
    assert!(distillation_loss(&student, &teacher.view([3, 2]), 1.0).is_err());
}

#[test]
fn distillation_gradient_is_t_times_the_softmax_difference() {
    let (student, teacher) = distillation_rows();
    for temperature in [1.0, 2.0, 0.5] {
        let s = student.detach().copy().set_requires_grad(true);
        distillation_loss(&s, &teacher, temperature).unwrap().backward();
        let got = vec_of(&s.grad());
        let expected = vec_of(
            &(((&student / temperature).softmax(-1, Kind::Double)
                - (&teacher / temperature).softmax(-1, Kind::Double))
                * temperature),
        );
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() < 1e-6, "T={temperature}: gradient {got:?} vs {expected:?}");
        }
        assert!(expected.iter().any(|e| e.abs() > 1e-2));
    }
}

fn stage_setup() -> (Vec<Example>, TrainParams) {
    inscl_model::tch::set_num_threads(1);
    let examples = synth_examples(&["_mathematics_"], 15);
    let params =
        TrainParams { lr: 1e-3, epochs: 1, micro_batch: 4, grad_accum: 2, max_len: 128, ..TrainParams::default() };
    (examples, params)
}

fn model() -> LlamaModel {
    let (examples, _) = stage_setup();
    tiny_model(&examples, 512, 3)
}

fn trainable_copies(model: &LlamaModel) -> BTreeMap<String, Tensor> {
    model.vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).map(|(n, t)| (n, t.detach().copy())).collect()
}

#[test]
fn diagonal_fisher_is_the_mean_squared_micro_batch_gradient() {
    let (examples, params) = stage_setup();
    let model = model();
    let fisher = diagonal_fisher(&model, &examples, &params).unwrap();
    // No gradient left behind.
    for (name, t) in model.vs.variables() {
        let grad = t.grad();
        assert!(!grad.defined() || vec_of(&grad).iter().all(|&x| x == 0.0), "{name} keeps a gradient");
    }

    // By hand: the full forward, the shifted mean cross-entropy of each micro batch, plain autograd.
    let eos = u32::try_from(model.eos_token_id().unwrap()).unwrap();
    let encoded = encode_all(&model.tokenizer, &examples, params.max_len, eos).unwrap();
    let lengths: Vec<usize> = encoded.iter().map(|e| e.len()).collect();
    let plan = epoch_plan(&lengths, params.micro_batch, params.seed, 0);
    assert!(plan.len() >= 3, "several micro batches");
    let mut vars: Vec<(String, Tensor)> =
        model.vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let mut sums: Vec<Tensor> = vars.iter().map(|(_, t)| t.zeros_like().to_kind(Kind::Float)).collect();
    for indices in &plan {
        let batch = pad_batch(&encoded, indices, i64::from(eos));
        let (rows, width) = (batch.rows as i64, batch.width as i64);
        let ids = Tensor::from_slice(&batch.input_ids).view([rows, width]);
        let labels = Tensor::from_slice(&batch.labels).view([rows, width]).narrow(1, 1, width - 1).reshape([-1]);
        for (_, t) in &mut vars {
            t.zero_grad();
        }
        let logits = model.llama.forward(&ids, None);
        let vocab = logits.size()[2];
        let loss = logits.narrow(1, 0, width - 1).reshape([-1, vocab]).to_kind(Kind::Float).cross_entropy_loss::<Tensor>(
            &labels,
            None,
            Reduction::Mean,
            IGNORE_LABEL,
            0.0,
        );
        loss.backward();
        for ((_, t), sum) in vars.iter().zip(&mut sums) {
            let g = t.grad();
            *sum += &g * &g;
        }
    }
    assert_eq!(fisher.len(), vars.len());
    let mut total = 0.0;
    for ((name, t), sum) in vars.iter().zip(&sums) {
        let hand = vec_of(&(sum / plan.len() as f64));
        let f = &fisher[name];
        assert_eq!(f.kind(), Kind::Float);
        assert_eq!(f.size(), t.size());
        let got = vec_of(f);
        let scale = hand.iter().fold(0f64, |m, x| m.max(x.abs()));
        assert!(scale > 0.0, "{name}: a zero Fisher");
        for (g, h) in got.iter().zip(&hand) {
            assert!(*g >= 0.0, "{name}: negative Fisher entry {g}");
            assert!((g - h).abs() <= 1e-6 * scale, "{name}: {g} vs by hand {h} (scale {scale})");
        }
        total += got.iter().sum::<f64>();
    }
    println!("fisher over {} micro batches, {} tensors, total {total:.4e}", plan.len(), fisher.len());
}

fn copies(map: &BTreeMap<String, Tensor>) -> BTreeMap<String, Tensor> {
    map.iter().map(|(n, t)| (n.clone(), t.copy())).collect()
}

fn assert_same_bits(a: &LlamaModel, b: &LlamaModel, what: &str) {
    for ((name, x), (_, y)) in weights(a).iter().zip(&weights(b)) {
        assert!(x == y, "{what}: {name} differs");
    }
}

fn distance(model: &LlamaModel, anchor: &BTreeMap<String, Tensor>) -> f64 {
    let mut sq = 0.0;
    for (name, t) in trainable_copies(model) {
        let d = (&t - &anchor[&name]).to_kind(Kind::Double);
        sq += (&d * &d).sum(Kind::Double).double_value(&[]);
    }
    sq.sqrt()
}

#[test]
fn zero_strength_regularisers_train_the_bits_of_plain_training() {
    let (examples, params) = stage_setup();
    let mut plain = model();
    let plain_report = train(&mut plain, &examples, &params, None, None).unwrap();
    assert!(plain_report.log.len() >= 3);

    let teacher = model();
    let mut lwf = model();
    let lwf_params =
        TrainParams { regularizer: Some(RegularizerParams::Lwf { temperature: 2.0, weight: 0.0 }), ..params.clone() };
    let reg = Regularizer::Lwf { teacher: &teacher, temperature: 2.0, weight: 0.0 };
    let lwf_report = train_with(&mut lwf, &examples, &lwf_params, Some(&reg), None, None).unwrap();
    assert_same_bits(&plain, &lwf, "lwf weight 0");

    let mut ewc = model();
    let fisher = diagonal_fisher(&ewc, &examples, &params).unwrap();
    let anchor = trainable_copies(&ewc);
    let ewc_params = TrainParams { regularizer: Some(RegularizerParams::Ewc { lambda: 0.0 }), ..params.clone() };
    let reg = Regularizer::Ewc { lambda: 0.0, fisher, anchor };
    let ewc_report = train_with(&mut ewc, &examples, &ewc_params, Some(&reg), None, None).unwrap();
    assert_same_bits(&plain, &ewc, "ewc lambda 0");
    for ((p, l), e) in plain_report.log.iter().zip(&lwf_report.log).zip(&ewc_report.log) {
        assert_eq!(p.loss.to_bits(), l.loss.to_bits());
        assert_eq!(p.loss.to_bits(), e.loss.to_bits());
        assert_eq!(p.grad_norm.to_bits(), e.grad_norm.to_bits());
    }
}

#[test]
fn a_strong_ewc_keeps_the_weights_near_the_anchor() {
    let (examples, params) = stage_setup();
    let mut plain = model();
    let anchor = trainable_copies(&plain);
    train(&mut plain, &examples, &params, None, None).unwrap();
    let plain_distance = distance(&plain, &anchor);

    let mut ewc = model();
    let fisher: BTreeMap<String, Tensor> = anchor.iter().map(|(n, t)| (n.clone(), t.ones_like())).collect();
    let ewc_params = TrainParams { regularizer: Some(RegularizerParams::Ewc { lambda: 1e6 }), ..params.clone() };
    let reg = Regularizer::Ewc { lambda: 1e6, fisher: copies(&fisher), anchor: copies(&anchor) };
    let report = train_with(&mut ewc, &examples, &ewc_params, Some(&reg), None, None).unwrap();
    let ewc_distance = distance(&ewc, &anchor);
    println!("distance to the anchor: plain {plain_distance:.4}, ewc {ewc_distance:.4}");
    assert!(plain_distance > 0.0);
    assert!(ewc_distance < 0.5 * plain_distance, "ewc {ewc_distance} vs plain {plain_distance}");
    let penalty = |m: &LlamaModel| ewc_penalty(1.0, &fisher, &trainable_copies(m), &anchor).unwrap();
    assert!(penalty(&ewc) < penalty(&plain));
    // The logged loss is the cross-entropy alone, not the (huge) penalty.
    assert!(report.log.iter().all(|s| s.loss.is_finite() && s.loss < 20.0));
}

#[test]
fn lwf_changes_the_trajectory_and_recomputes_to_the_same_bits() {
    let (examples, params) = stage_setup();
    let mut plain = model();
    let plain_report = train(&mut plain, &examples, &params, None, None).unwrap();

    let teacher = model();
    let lwf_params =
        TrainParams { regularizer: Some(RegularizerParams::Lwf { temperature: 2.0, weight: 1.0 }), ..params.clone() };
    let reg = Regularizer::Lwf { teacher: &teacher, temperature: 2.0, weight: 1.0 };
    let mut lwf = model();
    let lwf_report = train_with(&mut lwf, &examples, &lwf_params, Some(&reg), None, None).unwrap();
    let (a, b): (Vec<f64>, Vec<f64>) = (
        plain_report.log.iter().map(|s| s.loss).collect(),
        lwf_report.log.iter().map(|s| s.loss).collect(),
    );
    println!("plain losses {a:?}\nlwf losses   {b:?}");
    // The teacher is the initial student, so the distillation gradient is exactly 0 until the student has moved:
    // step 1 (warmup, lr 0) and step 2 apply plain training's updates, and the losses part from step 4 on.
    assert_eq!(a[0].to_bits(), b[0].to_bits());
    assert!(a.len() >= 4 && a.iter().zip(&b).skip(2).any(|(x, y)| (x - y).abs() > 1e-6), "{a:?} vs {b:?}");
    assert!(weights(&plain).iter().zip(&weights(&lwf)).any(|((_, x), (_, y))| x != y));

    // The gradient-checkpointing path adds the same term.
    let mut recomputed = model();
    let recompute_params = TrainParams { gradient_checkpointing: true, ..lwf_params.clone() };
    let report = train_with(&mut recomputed, &examples, &recompute_params, Some(&reg), None, None).unwrap();
    assert_same_bits(&lwf, &recomputed, "lwf with gradient checkpointing");
    for (x, y) in lwf_report.log.iter().zip(&report.log) {
        assert_eq!(x.loss.to_bits(), y.loss.to_bits());
    }
}

#[test]
fn train_with_refuses_a_regulariser_the_params_do_not_describe() {
    let (examples, params) = stage_setup();
    let teacher = model();
    let lwf = Regularizer::Lwf { teacher: &teacher, temperature: 2.0, weight: 0.5 };
    let ewc = Regularizer::Ewc { lambda: 1.0, fisher: BTreeMap::new(), anchor: BTreeMap::new() };
    let described = |r: RegularizerParams| TrainParams { regularizer: Some(r), ..params.clone() };
    let cases: Vec<(TrainParams, Option<&Regularizer>)> = vec![
        (params.clone(), Some(&lwf)),
        (described(RegularizerParams::Lwf { temperature: 2.0, weight: 0.5 }), None),
        (described(RegularizerParams::Lwf { temperature: 1.0, weight: 0.5 }), Some(&lwf)),
        (described(RegularizerParams::Ewc { lambda: 2.0 }), Some(&ewc)),
        (described(RegularizerParams::Ewc { lambda: 1.0 }), Some(&lwf)),
    ];
    for (p, r) in cases {
        let mut student = model();
        let before = weights(&student);
        let err = train_with(&mut student, &examples, &p, r, None, None).unwrap_err();
        assert!(matches!(err, FinetuneError::BadParam { field: "regularizer", .. }), "{err}");
        assert!(weights(&student) == before, "a refused run trains nothing");
    }
    // An EWC whose tensors do not cover the model is refused too, naming a variable.
    let mut student = model();
    let err = train_with(&mut student, &examples, &described(RegularizerParams::Ewc { lambda: 1.0 }), Some(&ewc), None, None)
        .unwrap_err();
    assert!(matches!(err, FinetuneError::BadParam { field: "regularizer", .. }) && err.to_string().contains("fisher"), "{err}");
}

#[test]
fn regularizer_params_serialise_tagged_and_stay_out_of_unregularised_params() {
    let json = serde_json::to_string(&TrainParams::default()).unwrap();
    assert!(!json.contains("regularizer"), "{json}");
    // Byte for byte the serialisation from before regularisers existed (it is a cache key).
    assert_eq!(
        json,
        r#"{"lr":0.00002,"epochs":2,"micro_batch":8,"grad_accum":16,"max_len":2048,"warmup_ratio":0.03,"max_grad_norm":1.0,"seed":1}"#
    );
    let ewc = TrainParams { regularizer: Some(RegularizerParams::Ewc { lambda: 0.5 }), ..TrainParams::default() };
    let json = serde_json::to_string(&ewc).unwrap();
    assert!(json.ends_with(r#","regularizer":{"kind":"ewc","lambda":0.5}}"#), "{json}");
    assert_eq!(serde_json::from_str::<TrainParams>(&json).unwrap(), ewc);
    let lwf: TrainParams = serde_json::from_str(r#"{"regularizer":{"kind":"lwf","temperature":2.0,"weight":1.0}}"#).unwrap();
    assert_eq!(lwf.regularizer, Some(RegularizerParams::Lwf { temperature: 2.0, weight: 1.0 }));
    assert!(serde_json::from_str::<TrainParams>(r#"{"regularizer":{"kind":"ewc","lambda":1,"x":2}}"#).is_err());
    assert!(serde_json::from_str::<TrainParams>(r#"{"regularizer":{"kind":"l2","lambda":1}}"#).is_err());

    let with = |r: RegularizerParams| TrainParams { regularizer: Some(r), ..TrainParams::default() };
    assert!(with(RegularizerParams::Ewc { lambda: 0.0 }).validate().is_ok());
    assert!(with(RegularizerParams::Lwf { temperature: 0.5, weight: 0.0 }).validate().is_ok());
    for bad in [
        RegularizerParams::Ewc { lambda: -1.0 },
        RegularizerParams::Ewc { lambda: f64::INFINITY },
        RegularizerParams::Lwf { temperature: 0.0, weight: 1.0 },
        RegularizerParams::Lwf { temperature: f64::NAN, weight: 1.0 },
        RegularizerParams::Lwf { temperature: 1.0, weight: -0.1 },
        RegularizerParams::Lwf { temperature: 1.0, weight: f64::NAN },
    ] {
        let err = with(bad.clone()).validate().unwrap_err();
        assert!(err.to_string().contains("regularizer"), "{bad:?}: {err}");
    }
}
