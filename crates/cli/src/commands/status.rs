//! `inscl status` (what a pipeline would build, and why) and `inscl dag` (its stage graph as Mermaid or dot).

use crate::error::CliError;
use inscl_pipeline::{Graph, InstanceState, NodeInput, StatusLine};

/// Prints the missing and stale instances (every instance with `verbose`) and a summary, or one JSON object;
/// returns the exit code: 0 when everything is cached, 1 when something is to build.
pub fn print_status(lines: &[StatusLine], json: bool, verbose: bool) -> Result<i32, CliError> {
    let count = |f: fn(&InstanceState) -> bool| lines.iter().filter(|l| f(&l.state)).count();
    let cached = count(|s| matches!(s, InstanceState::Cached));
    let missing = count(|s| matches!(s, InstanceState::Missing));
    let stale = count(|s| matches!(s, InstanceState::Stale(_)));
    if json {
        let instances: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| {
                let (state, why) = match &l.state {
                    InstanceState::Cached => ("cached", vec![]),
                    InstanceState::Missing => ("missing", vec![]),
                    InstanceState::Stale(why) => ("stale", why.clone()),
                };
                serde_json::json!({ "id": l.id, "stage": l.stage, "key": l.key, "state": state, "because": why })
            })
            .collect();
        let out = serde_json::json!({
            "instances": instances,
            "counts": { "total": lines.len(), "cached": cached, "missing": missing, "stale": stale },
            "up_to_date": missing + stale == 0,
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("status serialises"));
    } else {
        for line in lines {
            let key = line.key.as_deref().map(|k| &k[..12]).unwrap_or("(unknown)");
            match &line.state {
                InstanceState::Cached if verbose => println!("{:<32} cached   {key}", line.id),
                InstanceState::Cached => {}
                InstanceState::Missing => println!("{:<32} missing  {key}", line.id),
                InstanceState::Stale(why) => {
                    println!("{:<32} stale    {key}", line.id);
                    for w in why {
                        println!("{:<32}   because {w}", "");
                    }
                }
            }
        }
        let verdict = if missing + stale == 0 { "up to date" } else { "to build" };
        println!("{} instances: {cached} cached, {missing} missing, {stale} stale ({verdict})", lines.len());
    }
    Ok(if missing + stale == 0 { 0 } else { 1 })
}

/// The graph's boxes and arrows: one per stage (with its instance count) or one per instance.
fn boxes_and_arrows(graph: &Graph, instances: bool) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let name = |i: usize| if instances { graph.nodes[i].id.clone() } else { graph.nodes[i].stage.to_string() };
    let mut boxes: Vec<(String, String)> = Vec::new();
    let mut arrows: Vec<(String, String)> = Vec::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        let id = name(i);
        if !boxes.iter().any(|(b, _)| *b == id) {
            boxes.push((id.clone(), id.clone()));
        }
        for (_, input) in &node.inputs {
            if let NodeInput::Node(j) = input {
                let arrow = (name(*j), id.clone());
                if !arrows.contains(&arrow) {
                    arrows.push(arrow);
                }
            }
        }
    }
    if !instances {
        for (stage, label) in boxes.iter_mut() {
            let n = graph.nodes.iter().filter(|n| n.stage == stage.as_str()).count();
            *label = format!("{stage} ×{n}");
        }
    }
    (boxes, arrows)
}

/// `inscl dag`: the graph as a Mermaid flowchart or a Graphviz digraph, on stdout.
pub fn print_dag(graph: &Graph, dot: bool, instances: bool) {
    let (boxes, arrows) = boxes_and_arrows(graph, instances);
    let index = |b: &str| boxes.iter().position(|(x, _)| x == b).expect("every arrow joins two boxes");
    if dot {
        println!("digraph inscl {{\n  rankdir=LR;\n  node [shape=box];");
        for (i, (_, label)) in boxes.iter().enumerate() {
            println!("  n{i} [label=\"{}\"];", label.replace('"', "\\\""));
        }
        for (a, b) in &arrows {
            println!("  n{} -> n{};", index(a), index(b));
        }
        println!("}}");
    } else {
        println!("flowchart LR");
        for (i, (_, label)) in boxes.iter().enumerate() {
            println!("  n{i}[\"{}\"]", label.replace('"', "#quot;"));
        }
        for (a, b) in &arrows {
            println!("  n{} --> n{}", index(a), index(b));
        }
    }
}
