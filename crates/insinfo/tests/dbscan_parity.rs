//! Labels equal to scikit-learn's, numbering included, on every case of `fixtures/dbscan_cases.json`
//! (regenerate with `python3 crates/insinfo/fixtures/make_dbscan_fixtures.py`).

use inscl_insinfo::dbscan::dbscan_cosine_threads;
use inscl_insinfo::{DbscanParams, dbscan_cosine};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixtures {
    meta: serde_json::Value,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    n: usize,
    dim: usize,
    eps: f64,
    min_samples: usize,
    x_f32le_b64: String,
    labels: Vec<i64>,
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    } as u32;
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for quad in s.as_bytes().chunks(4) {
        let digits: Vec<u32> = quad
            .iter()
            .filter(|&&c| c != b'=')
            .map(|&c| val(c))
            .collect();
        let word = digits
            .iter()
            .enumerate()
            .fold(0u32, |w, (i, d)| w | d << (18 - 6 * i));
        out.extend(&word.to_be_bytes()[1..digits.len()]);
    }
    out
}

fn load() -> Fixtures {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dbscan_cases.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture file"))
        .expect("fixture JSON")
}

#[test]
fn labels_equal_sklearn_on_every_fixture() {
    let fx = load();
    assert!(fx.cases.len() >= 20, "fixture file looks truncated");
    let mut failures = Vec::new();
    for case in &fx.cases {
        let bytes = base64_decode(&case.x_f32le_b64);
        let x: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(x.len(), case.n * case.dim, "{}: size", case.name);
        let params = DbscanParams {
            eps: case.eps,
            min_samples: case.min_samples,
        };
        let ours = dbscan_cosine(&x, case.dim, &params).unwrap();
        assert_eq!(
            dbscan_cosine_threads(&x, case.dim, &params, 1).unwrap(),
            ours,
            "{}: threads",
            case.name
        );
        if ours != case.labels {
            let rows: Vec<usize> = (0..case.n).filter(|&i| ours[i] != case.labels[i]).collect();
            failures.push(format!(
                "{}: {} rows differ, first {:?}",
                case.name,
                rows.len(),
                &rows[..rows.len().min(5)]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "differs from {}:\n{}",
        fx.meta,
        failures.join("\n")
    );
}

#[test]
fn base64_round_trip() {
    assert_eq!(base64_decode("AAAAAA=="), vec![0, 0, 0, 0]);
    assert_eq!(base64_decode("AACAPw=="), 1.0f32.to_le_bytes().to_vec());
    assert_eq!(base64_decode("TWFu"), b"Man".to_vec());
}
