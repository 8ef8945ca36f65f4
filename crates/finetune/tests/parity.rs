//! The hand-written AdamW and gradient clipping against PyTorch: `fixtures/adamw_clip.json` was produced by
//! `fixtures/make_adamw_fixture.py` with `torch.optim.AdamW(betas=(0.9, 0.999), eps=1e-8, weight_decay=0)` and
//! `torch.nn.utils.clip_grad_norm_(max_norm=1.0)` over 6 steps, half of them with gradients large enough to clip.
//! The same fixture holds on CUDA where a device is present (the optimiser runs on the parameters' device).

use inscl_finetune::optim::{AdamW, AdamWConfig};
use inscl_model::tch::{Cuda, Device, Kind, Tensor};
use serde_json::Value;

fn floats(value: &Value) -> Vec<f32> {
    value.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect()
}

#[test]
fn adamw_and_clipping_match_torch() {
    adamw_on(Device::Cpu);
    if Cuda::is_available() {
        adamw_on(Device::Cuda(0));
    } else {
        eprintln!("no CUDA device: the AdamW fixture was checked on the CPU only");
    }
}

fn adamw_on(device: Device) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/adamw_clip.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let max_norm = fixture["max_grad_norm"].as_f64().unwrap();
    let names = ["a.weight", "b.bias"];
    let params: Vec<(String, Tensor)> = names
        .iter()
        .map(|&name| {
            let shape: Vec<i64> =
                fixture["shapes"][name].as_array().unwrap().iter().map(|d| d.as_i64().unwrap()).collect();
            let values = floats(&fixture["initial"][name]);
            (name.to_string(), Tensor::from_slice(&values).reshape(&shape).to_device(device).set_requires_grad(true))
        })
        .collect();
    let mut optimizer = AdamW::new(params, AdamWConfig::default()).unwrap();
    let mut worst = 0f32;
    for (index, step) in fixture["steps"].as_array().unwrap().iter().enumerate() {
        optimizer.zero_grad();
        // d/dp sum(p * g) = g: puts the fixture's gradient into p.grad through autograd.
        for p in &optimizer.params {
            let grad = Tensor::from_slice(&floats(&step["grads"][p.name.as_str()])).reshape(p.param.size()).to_device(device);
            (&p.param * grad).sum(Kind::Float).backward();
        }
        let norm = optimizer.clip_grad_norm(max_norm).unwrap();
        let expected_norm = step["grad_norm"].as_f64().unwrap();
        assert!((norm - expected_norm).abs() <= 1e-5 * expected_norm, "step {index}: norm {norm} vs {expected_norm}");
        optimizer.step(step["lr"].as_f64().unwrap()).unwrap();
        for p in &optimizer.params {
            let ours = Vec::<f32>::try_from(&p.param.detach().to_device(Device::Cpu).flatten(0, -1)).unwrap();
            let theirs = floats(&step["params_after"][p.name.as_str()]);
            for (a, b) in ours.iter().zip(&theirs) {
                worst = worst.max((a - b).abs());
            }
        }
    }
    println!("{device:?}: max |ours - torch| over 6 steps: {worst:e}");
    assert!(worst <= 1e-6, "{device:?}: AdamW drifts from torch by {worst}");
    assert_eq!(optimizer.step, 6);
}
