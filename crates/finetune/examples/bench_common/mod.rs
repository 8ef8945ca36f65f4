//! What the real-model bench examples share: flags, peak RSS and the first instances of SuperNI tasks.

use inscl_finetune::InstanceRow;
use std::path::PathBuf;

/// The flags both examples take: `--model DIR --superni DIR --tasks A,B [--threads 1]` (libtorch's thread
/// count is set here).
pub struct Common {
    pub model_dir: PathBuf,
    pub superni: PathBuf,
    pub tasks: Vec<String>,
    pub threads: i32,
}

pub fn common(args: &[String]) -> Result<Common, Box<dyn std::error::Error>> {
    let tasks = flag(args, "--tasks").ok_or("--tasks A,B is required")?;
    let threads = num(args, "--threads", 1);
    inscl_model::tch::set_num_threads(threads);
    Ok(Common {
        model_dir: PathBuf::from(flag(args, "--model").ok_or("--model DIR is required")?),
        superni: PathBuf::from(flag(args, "--superni").ok_or("--superni DIR is required")?),
        tasks: tasks.split(',').map(String::from).collect(),
        threads,
    })
}

pub fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

pub fn num<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    flag(args, name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `--device cpu|cuda|cuda:N|auto` (default cpu); a CUDA request without a usable CUDA runtime is an error.
pub fn device(args: &[String]) -> Result<inscl_model::tch::Device, Box<dyn std::error::Error>> {
    Ok(inscl_model::device::parse_device(&flag(args, "--device").unwrap_or_else(|| "cpu".into()))?)
}

/// `--dtype f32|bf16` (default f32): the kind the weights are loaded in (gen_bench; sft_bench trains f32).
#[allow(dead_code)]
pub fn weight_kind(args: &[String]) -> Result<inscl_model::tch::Kind, Box<dyn std::error::Error>> {
    match flag(args, "--dtype").as_deref().unwrap_or("f32") {
        "f32" => Ok(inscl_model::tch::Kind::Float),
        "bf16" => Ok(inscl_model::tch::Kind::BFloat16),
        other => Err(format!("--dtype {other}: expected f32 or bf16").into()),
    }
}

/// Peak resident set size of this process, from /proc (Linux), in bytes.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

/// The first `per_task` instances of each task, with the task's definition.
pub fn rows(superni: &std::path::Path, tasks: &[String], per_task: usize) -> Result<Vec<InstanceRow>, Box<dyn std::error::Error>> {
    let mut rows = Vec::new();
    for task in tasks {
        let path = superni.join("tasks").join(format!("{task}.json"));
        let value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?)?;
        let definition = value["Definition"][0].as_str().ok_or_else(|| format!("{}: no Definition", path.display()))?;
        for instance in value["Instances"].as_array().into_iter().flatten().take(per_task) {
            rows.push(InstanceRow {
                definition: definition.to_string(),
                input: instance["input"].as_str().unwrap_or_default().to_string(),
                // One output per instance, as in the measurement: every example is one instance.
                outputs: instance["output"].as_array().into_iter().flatten().take(1).filter_map(|o| o.as_str().map(String::from)).collect(),
            });
        }
    }
    Ok(rows)
}
