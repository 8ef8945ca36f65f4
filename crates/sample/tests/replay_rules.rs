//! Hand-computed budgets and picks for each replay rule, and the errors bad input gets.

use std::collections::HashMap;

use inscl_sample::{
    Embeddings, ReplayMethod, SampleError, StageInput, StageSample, TrainInstance, sample_stage,
};

/// Train rows for `(category, instruction, count)`; instance ids are `<instruction>-<k>`.
fn train(spec: &[(&str, &str, usize)]) -> Vec<TrainInstance> {
    spec.iter()
        .flat_map(|&(category, instruction, count)| {
            (0..count).map(move |k| TrainInstance {
                instance_id: format!("{instruction}-{k}"),
                category: category.into(),
                instruction_id: instruction.into(),
            })
        })
        .collect()
}

fn order(cats: &[&str]) -> Vec<String> {
    cats.iter().map(|c| c.to_string()).collect()
}

fn input<'a>(
    order: &'a [String],
    stage: usize,
    method: ReplayMethod,
    alpha: usize,
    train: &'a [TrainInstance],
) -> StageInput<'a> {
    StageInput {
        order_name: "test-order",
        order,
        stage,
        method,
        alpha,
        seed: 7,
        train,
        w: None,
        shares: None,
        embeddings: None,
        instruction_limit: None,
    }
}

/// Picks per instruction (the prefix of the instance id before the last '-').
fn per_instruction(sample: &StageSample) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for p in &sample.replay {
        let (ins, _) = p.instance_id.rsplit_once('-').unwrap();
        *counts.entry(ins.to_string()).or_insert(0) += 1;
    }
    counts
}

fn shares(pairs: &[(&str, f64)]) -> HashMap<String, f64> {
    pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
}

#[test]
fn dynamic_budget_through_the_stage() {
    let t = train(&[
        ("A", "a", 500),
        ("B", "b", 500),
        ("C", "c", 500),
        ("D", "d", 10),
    ]);
    let o = order(&["A", "B", "C", "D"]);
    let w = [0.2, 0.3, 0.5];
    for method in [ReplayMethod::Dynamic, ReplayMethod::Inscl] {
        let s = shares(&[("a", 1.0), ("b", 1.0), ("c", 1.0)]);
        let inp = StageInput {
            w: Some(&w),
            shares: Some(&s),
            ..input(&o, 4, method, 200, &t)
        };
        let out = sample_stage(&inp).unwrap();
        let budgets: Vec<usize> = out.budgets.iter().map(|b| b.budget).collect();
        assert_eq!(budgets, vec![120, 180, 300], "{method}");
        assert_eq!(out.replay.len(), 600);
        assert_eq!(out.current.len(), 10);
    }
    // Stage 2: the one earlier category gets all of alpha, whatever its W.
    let w2 = [0.01];
    let inp = StageInput {
        w: Some(&w2),
        ..input(&o, 2, ReplayMethod::Dynamic, 200, &t)
    };
    assert_eq!(sample_stage(&inp).unwrap().budgets[0].budget, 200);
}

#[test]
fn insinfo_takes_top_instructions_when_budget_is_below_their_number() {
    let t = train(&[
        ("A", "i1", 3),
        ("A", "i2", 3),
        ("A", "i3", 3),
        ("A", "i4", 3),
        ("A", "i5", 3),
        ("B", "b", 2),
    ]);
    let o = order(&["A", "B"]);
    let s = shares(&[
        ("i1", 0.1),
        ("i2", 0.3),
        ("i3", 0.2),
        ("i4", 0.3),
        ("i5", 0.1),
    ]);
    let inp = StageInput {
        shares: Some(&s),
        ..input(&o, 2, ReplayMethod::Insinfo, 3, &t)
    };
    let counts = per_instruction(&sample_stage(&inp).unwrap());
    // Ranked: i2 (.3), i4 (.3, tie after i2 by id), i3 (.2).
    assert_eq!(
        counts,
        HashMap::from([("i2".into(), 1), ("i4".into(), 1), ("i3".into(), 1)])
    );
}

#[test]
fn insinfo_quotas_are_floored_shares() {
    let t = train(&[
        ("A", "p", 10),
        ("A", "q", 10),
        ("A", "r", 10),
        ("B", "b", 1),
    ]);
    let o = order(&["A", "B"]);
    let s = shares(&[("p", 0.5), ("q", 0.3), ("r", 0.2)]);
    let inp = StageInput {
        shares: Some(&s),
        ..input(&o, 2, ReplayMethod::Insinfo, 10, &t)
    };
    let counts = per_instruction(&sample_stage(&inp).unwrap());
    assert_eq!(
        counts,
        HashMap::from([("p".into(), 5), ("q".into(), 3), ("r".into(), 2)])
    );
}

#[test]
fn insinfo_tops_up_capped_and_floored_quotas() {
    // p's quota 5 is capped at its 2 instances: 2 + 5 = 7, the 3 top-ups can only come from q.
    let t = train(&[("A", "p", 2), ("A", "q", 10), ("B", "b", 1)]);
    let o = order(&["A", "B"]);
    let s = shares(&[("p", 0.5), ("q", 0.5)]);
    let inp = StageInput {
        shares: Some(&s),
        ..input(&o, 2, ReplayMethod::Insinfo, 10, &t)
    };
    let counts = per_instruction(&sample_stage(&inp).unwrap());
    assert_eq!(counts, HashMap::from([("p".into(), 2), ("q".into(), 8)]));

    // Floors 3 + 3 + 3 = 9 of 10: one random top-up, every instruction keeps its 3.
    let t = train(&[
        ("A", "x", 10),
        ("A", "y", 10),
        ("A", "z", 10),
        ("B", "b", 1),
    ]);
    let s = shares(&[("x", 0.34), ("y", 0.33), ("z", 0.33)]);
    let inp = StageInput {
        shares: Some(&s),
        ..input(&o, 2, ReplayMethod::Insinfo, 10, &t)
    };
    let out = sample_stage(&inp).unwrap();
    assert_eq!(out.replay.len(), 10);
    let counts = per_instruction(&out);
    assert!(counts.values().all(|&c| c >= 3), "{counts:?}");
}

#[test]
fn insinfo_removal_never_takes_an_instruction_below_one() {
    // n = 4 ≥ 3 instructions: quotas floor(3.6) = 3, then 1 and 1 by the at-least-one rule = 5;
    // the one excess pick can only leave p.
    let t = train(&[
        ("A", "p", 10),
        ("A", "q", 10),
        ("A", "r", 10),
        ("B", "b", 1),
    ]);
    let o = order(&["A", "B"]);
    let s = shares(&[("p", 0.9), ("q", 0.05), ("r", 0.05)]);
    for seed in 0..20 {
        let inp = StageInput {
            shares: Some(&s),
            seed,
            ..input(&o, 2, ReplayMethod::Insinfo, 4, &t)
        };
        let counts = per_instruction(&sample_stage(&inp).unwrap());
        assert_eq!(
            counts,
            HashMap::from([("p".into(), 2), ("q".into(), 1), ("r".into(), 1)])
        );
    }
    // Zero shares everywhere still give every instruction one pick.
    let z = shares(&[("p", 0.0), ("q", 0.0), ("r", 0.0)]);
    let inp = StageInput {
        shares: Some(&z),
        ..input(&o, 2, ReplayMethod::Insinfo, 3, &t)
    };
    let counts = per_instruction(&sample_stage(&inp).unwrap());
    assert_eq!(
        counts,
        HashMap::from([("p".into(), 1), ("q".into(), 1), ("r".into(), 1)])
    );
}

#[test]
fn short_categories_give_everything_and_report_the_rest() {
    let t = train(&[("A", "p", 3), ("A", "q", 1), ("B", "b", 50), ("C", "c", 1)]);
    let o = order(&["A", "B", "C"]);
    let s = shares(&[("p", 0.5), ("q", 0.5), ("b", 1.0)]);
    for method in [ReplayMethod::Random, ReplayMethod::Insinfo] {
        let inp = StageInput {
            shares: Some(&s),
            ..input(&o, 3, method, 10, &t)
        };
        let out = sample_stage(&inp).unwrap();
        assert_eq!(out.budgets[0].picked, 4, "{method}");
        assert_eq!(out.budgets[0].shortfall, 6);
        assert_eq!(out.budgets[1].picked, 10);
        assert_eq!(out.budgets[1].shortfall, 0);
        let from_a: Vec<&str> = out
            .replay
            .iter()
            .filter(|p| p.source_category == "A")
            .map(|p| p.instance_id.as_str())
            .collect();
        assert_eq!(from_a, vec!["p-0", "p-1", "p-2", "q-0"]);
    }
}

#[test]
fn none_replays_nothing_and_stage_one_never_replays() {
    let t = train(&[("A", "a", 5), ("B", "b", 5)]);
    let o = order(&["A", "B"]);
    let out = sample_stage(&input(&o, 2, ReplayMethod::None, 200, &t)).unwrap();
    assert!(out.replay.is_empty());
    assert_eq!(out.budgets[0].budget, 0);
    // Stage 1 needs neither W nor shares nor embeddings, whatever the method.
    for method in ReplayMethod::ALL {
        let out = sample_stage(&input(&o, 1, method, 200, &t)).unwrap();
        assert_eq!(out.current_category, "A");
        assert_eq!(out.current, vec!["a-0", "a-1", "a-2", "a-3", "a-4"]);
        assert!(out.replay.is_empty() && out.budgets.is_empty());
    }
}

fn emb(pairs: &[(&str, [f32; 2])]) -> HashMap<String, Vec<f32>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect()
}

#[test]
fn prototype_data_takes_instances_nearest_the_centroid() {
    let t = train(&[("A", "a", 4), ("B", "b", 1)]);
    let o = order(&["A", "B"]);
    // Centroid (0.75, 0.725) lies at 44.0°: a-2 (45°) is nearest, a-3 (42.0°) next.
    let e = Embeddings {
        instances: emb(&[
            ("a-0", [1.0, 0.0]),
            ("a-1", [0.0, 1.0]),
            ("a-2", [1.0, 1.0]),
            ("a-3", [1.0, 0.9]),
        ]),
        ..Embeddings::default()
    };
    let inp = StageInput {
        embeddings: Some(&e),
        ..input(&o, 2, ReplayMethod::PrototypeData, 2, &t)
    };
    let ids: Vec<String> = sample_stage(&inp)
        .unwrap()
        .replay
        .into_iter()
        .map(|p| p.instance_id)
        .collect();
    assert_eq!(ids, vec!["a-2", "a-3"]);
}

#[test]
fn instruction_methods_rank_then_fill_round_robin() {
    let t = train(&[("A", "x", 5), ("A", "y", 5), ("A", "z", 1), ("B", "cur", 1)]);
    let o = order(&["A", "B"]);
    // Instruction centroid (0.667, 0.667): z is on it, x and y equally far (ties by id: x first).
    let e = Embeddings {
        instructions: emb(&[
            ("x", [1.0, 0.0]),
            ("y", [0.0, 1.0]),
            ("z", [1.0, 1.0]),
            ("cur", [1.0, 0.05]),
        ]),
        ..Embeddings::default()
    };
    let run = |method, alpha, limit| {
        let inp = StageInput {
            embeddings: Some(&e),
            instruction_limit: limit,
            ..input(&o, 2, method, alpha, &t)
        };
        per_instruction(&sample_stage(&inp).unwrap())
    };
    // Round-robin z, x, y, then x, y (z is used up), then x.
    assert_eq!(
        run(ReplayMethod::PrototypeInstruction, 6, None),
        HashMap::from([("z".into(), 1), ("x".into(), 3), ("y".into(), 2)])
    );
    // Only the top 2 (z, x) until they run out, then y.
    assert_eq!(
        run(ReplayMethod::PrototypeInstruction, 7, Some(2)),
        HashMap::from([("z".into(), 1), ("x".into(), 5), ("y".into(), 1)])
    );
    // Least similar to "cur" (near x) first: y, then z, then x.
    assert_eq!(
        run(ReplayMethod::DiverseInstruction, 2, None),
        HashMap::from([("y".into(), 1), ("z".into(), 1)])
    );
    assert_eq!(
        run(ReplayMethod::DiverseInstruction, 3, Some(1)),
        HashMap::from([("y".into(), 3)])
    );
}

#[test]
fn methods_parse_and_print_their_names() {
    for m in ReplayMethod::ALL {
        assert_eq!(m.to_string().parse::<ReplayMethod>().unwrap(), m);
    }
    assert_eq!(
        "inscl-uniform".parse::<ReplayMethod>().unwrap(),
        ReplayMethod::InsclUniform
    );
    assert_eq!(
        "InsCL".parse::<ReplayMethod>().unwrap_err(),
        SampleError::UnknownMethod("InsCL".into())
    );
}

#[test]
fn bad_input_gets_named_errors() {
    let t = train(&[("A", "a", 5), ("B", "b", 5)]);
    let o = order(&["A", "B"]);
    let err = |inp: StageInput| sample_stage(&inp).unwrap_err();

    assert_eq!(
        err(input(&o, 2, ReplayMethod::Inscl, 10, &t)),
        SampleError::MissingW {
            method: "inscl".into()
        }
    );
    let w = [0.5];
    assert_eq!(
        err(StageInput {
            w: Some(&w),
            ..input(&o, 2, ReplayMethod::Inscl, 10, &t)
        }),
        SampleError::MissingShares {
            method: "inscl".into()
        }
    );
    let w2 = [0.5, 0.5];
    assert_eq!(
        err(StageInput {
            w: Some(&w2),
            ..input(&o, 2, ReplayMethod::Dynamic, 10, &t)
        }),
        SampleError::WLength {
            stage: 2,
            expected: 1,
            got: 2
        }
    );
    let bad_w = [f64::NAN];
    assert!(matches!(
        err(StageInput { w: Some(&bad_w), ..input(&o, 2, ReplayMethod::Dynamic, 10, &t) }),
        SampleError::BadW { category, .. } if category == "A"
    ));
    let s = shares(&[("zzz", 1.0)]);
    assert_eq!(
        err(StageInput {
            shares: Some(&s),
            ..input(&o, 2, ReplayMethod::Insinfo, 3, &t)
        }),
        SampleError::MissingShare {
            category: "A".into(),
            instruction_id: "a".into()
        }
    );
    assert_eq!(
        err(input(&o, 2, ReplayMethod::DiverseInstruction, 3, &t)),
        SampleError::MissingEmbeddings {
            method: "diverse-instruction".into()
        }
    );
    let e = Embeddings {
        instructions: emb(&[("a", [1.0, 0.0])]),
        ..Embeddings::default()
    };
    assert_eq!(
        err(StageInput {
            embeddings: Some(&e),
            ..input(&o, 2, ReplayMethod::DiverseInstruction, 3, &t)
        }),
        SampleError::MissingEmbedding {
            kind: "instruction",
            id: "b".into()
        }
    );
    let o3 = order(&["A", "C", "B"]);
    assert_eq!(
        err(input(&o3, 3, ReplayMethod::Random, 3, &t)),
        SampleError::NoTrainInstances {
            category: "C".into()
        }
    );
    assert_eq!(
        err(input(&o, 3, ReplayMethod::Random, 3, &t)),
        SampleError::StageOutOfRange { stage: 3, len: 2 }
    );
    let dup = order(&["A", "B", "A"]);
    assert!(matches!(
        err(input(&dup, 2, ReplayMethod::Random, 3, &t)),
        SampleError::DuplicateCategory {
            first: 0,
            second: 2,
            ..
        }
    ));
    let mut t2 = t.clone();
    t2.push(t[0].clone());
    assert!(matches!(
        err(input(&o, 2, ReplayMethod::Random, 3, &t2)),
        SampleError::DuplicateInstance {
            first: 0,
            second: 10,
            ..
        }
    ));
}
