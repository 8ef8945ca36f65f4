//! Properties every replay method keeps on random worlds: exact budgets, replay only from earlier
//! categories' train instances, no duplicates, and identical output for identical input.

use std::collections::{HashMap, HashSet};

use inscl_sample::{
    Embeddings, ReplayMethod, StageInput, TrainInstance, dynamic_budget, sample_stage,
};
use proptest::prelude::*;

/// A random train split over `categories` (plus one category outside the order, which must never be
/// replayed), with W, shares and embeddings for everything.
#[derive(Debug, Clone)]
struct World {
    order: Vec<String>,
    train: Vec<TrainInstance>,
    w: Vec<f64>,
    shares: HashMap<String, f64>,
    embeddings: Embeddings,
}

fn world() -> impl Strategy<Value = World> {
    // Per category: 1..=4 instructions of 1..=12 instances each.
    let category = prop::collection::vec(1usize..=12, 1..=4);
    (
        prop::collection::vec(category, 3..=6),
        prop::collection::vec(prop_oneof![Just(0.0), 0.0f64..1.0], 6),
        prop::collection::vec(prop_oneof![Just(0.0), 0.0f64..1.0], 30),
        prop::collection::vec(0.05f32..1.0, 3 * 120),
    )
        .prop_map(|(cats, w, share_draws, coords)| {
            let mut train = Vec::new();
            let mut shares = HashMap::new();
            let mut embeddings = Embeddings::default();
            let mut coord = coords.chunks_exact(3).cycle();
            let mut next_vec = || coord.next().map(<[f32]>::to_vec).unwrap_or_default();
            let mut share = share_draws.iter().cycle();
            for (c, instructions) in cats.iter().enumerate() {
                // The last category stands outside the order.
                let category = format!("cat{c}");
                for (k, &count) in instructions.iter().enumerate() {
                    let instruction = format!("{category}-ins{k}");
                    shares.insert(instruction.clone(), *share.next().unwrap_or(&0.5));
                    embeddings
                        .instructions
                        .insert(instruction.clone(), next_vec());
                    for j in 0..count {
                        let id = format!("{instruction}-{j}");
                        embeddings.instances.insert(id.clone(), next_vec());
                        train.push(TrainInstance {
                            instance_id: id,
                            category: category.clone(),
                            instruction_id: instruction.clone(),
                        });
                    }
                }
            }
            let order = (0..cats.len() - 1).map(|c| format!("cat{c}")).collect();
            World {
                order,
                train,
                w,
                shares,
                embeddings,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_method_keeps_the_invariants(
        world in world(),
        stage_pick in 0usize..100,
        alpha in 0usize..30,
        seed in any::<u64>(),
        limit in prop_oneof![Just(None), (1usize..4).prop_map(Some)],
    ) {
        let stage = 1 + stage_pick % world.order.len();
        let w = &world.w[..stage - 1];
        let earlier: Vec<&str> = world.order[..stage - 1].iter().map(String::as_str).collect();
        let category_of: HashMap<&str, &str> = world
            .train
            .iter()
            .map(|t| (t.instance_id.as_str(), t.category.as_str()))
            .collect();
        let supply = |c: &str| world.train.iter().filter(|t| t.category == c).count();

        for method in ReplayMethod::ALL {
            let input = StageInput {
                order_name: "prop",
                order: &world.order,
                stage,
                method,
                alpha,
                seed,
                train: &world.train,
                w: Some(w),
                shares: Some(&world.shares),
                embeddings: Some(&world.embeddings),
                instruction_limit: limit,
            };
            let out = sample_stage(&input).unwrap();
            prop_assert_eq!(&out, &sample_stage(&input).unwrap(), "{} not deterministic", method);

            let want_budgets: Vec<usize> = match method {
                m if m.replay() == ReplayMethod::None => vec![0; earlier.len()],
                m if m.uses_dynamic_budget() => dynamic_budget(w, earlier.len() * alpha),
                _ => vec![alpha; earlier.len()],
            };
            let budgets: Vec<usize> = out.budgets.iter().map(|b| b.budget).collect();
            prop_assert_eq!(&budgets, &want_budgets, "{}", method);
            let names: Vec<&str> = out.budgets.iter().map(|b| b.category.as_str()).collect();
            prop_assert_eq!(&names, &earlier);

            let mut seen = HashSet::new();
            for pick in &out.replay {
                prop_assert!(seen.insert(pick.instance_id.as_str()), "{} duplicate {}", method, pick.instance_id);
                prop_assert_eq!(category_of.get(pick.instance_id.as_str()).copied(), Some(pick.source_category.as_str()));
                prop_assert!(earlier.contains(&pick.source_category.as_str()), "{} replayed {}", method, pick.source_category);
            }
            for b in &out.budgets {
                let picked = out.replay.iter().filter(|p| p.source_category == b.category).count();
                prop_assert_eq!(picked, b.picked);
                prop_assert_eq!(b.picked, b.budget.min(supply(&b.category)), "{} {}", method, b.category);
                prop_assert_eq!(b.shortfall, b.budget - b.picked);
            }
            prop_assert_eq!(out.current.len(), supply(&world.order[stage - 1]));
        }
    }

    #[test]
    fn dynamic_budget_sums_to_total(
        w in prop::collection::vec(prop_oneof![Just(0.0), 0.0f64..10.0, 1e-300f64..1e-290], 1..16),
        total in 0usize..5000,
    ) {
        let n = dynamic_budget(&w, total);
        prop_assert_eq!(n.len(), w.len());
        prop_assert_eq!(n.iter().sum::<usize>(), total);
        // Nobody is more than one away from its exact proportional share.
        let sum: f64 = w.iter().sum();
        if sum > 0.0 {
            for (x, &k) in w.iter().zip(&n) {
                prop_assert!((k as f64 - x / sum * total as f64).abs() < 1.0 + 1e-9);
            }
        }
    }
}

#[test]
fn different_seeds_draw_differently() {
    let train: Vec<TrainInstance> = (0..2)
        .flat_map(|c| {
            (0..100).map(move |k| TrainInstance {
                instance_id: format!("c{c}-{k}"),
                category: format!("c{c}"),
                instruction_id: format!("c{c}-ins{}", k % 4),
            })
        })
        .collect();
    let order = vec!["c0".to_string(), "c1".to_string()];
    let run = |seed| {
        sample_stage(&StageInput {
            order_name: "o",
            order: &order,
            stage: 2,
            method: ReplayMethod::Random,
            alpha: 10,
            seed,
            train: &train,
            w: None,
            shares: None,
            embeddings: None,
            instruction_limit: None,
        })
        .unwrap()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1).replay, run(2).replay);
}
