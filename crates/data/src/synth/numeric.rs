//! Tasks over small numbers: Code (a request -> one line of Python), Program_Execution (run a list operation)
//! and Mathematics (arithmetic). The last two share digits, lists and the words "compute" and "numbers", so
//! they are the closest pair of categories; Code shares the numbers but not the kind of answer.

use super::vocab::{ANIMALS, FOODS, NAMES, OBJECTS};
use super::{Sample, Spec, TaskRng, coin, list_text, pick, pick_from, superni};
use rand::Rng;

pub(super) fn specs() -> Vec<Spec> {
    vec![
        Spec {
            name: "synth018_code_arithmetic_print",
            category: superni::CODE,
            definition: "Translate the request into a single line of Python that prints the result of the calculation.",
            sample: arithmetic_print,
        },
        Spec {
            name: "synth019_code_assign_variable",
            category: superni::CODE,
            definition: "Write the Python assignment statement that the instruction describes.",
            sample: assign_variable,
        },
        Spec {
            name: "synth020_code_repeat_string",
            category: superni::CODE,
            definition: "Generate one Python print call that shows the word repeated the requested number of times, using string multiplication.",
            sample: repeat_string,
        },
        Spec {
            name: "synth021_code_comparison",
            category: superni::CODE,
            definition: "Turn the English question into Python code that prints whether the comparison holds, using >, < or ==.",
            sample: comparison,
        },
        Spec {
            name: "synth022_program_execution_reverse_list",
            category: superni::PROGRAM_EXECUTION,
            definition: "You are given a list of numbers. Return the list in reverse order.",
            sample: reverse_list,
        },
        Spec {
            name: "synth023_program_execution_sort_list",
            category: superni::PROGRAM_EXECUTION,
            definition: "Sort the given list of numbers from smallest to largest and output the sorted list.",
            sample: sort_list,
        },
        Spec {
            name: "synth024_program_execution_list_max",
            category: superni::PROGRAM_EXECUTION,
            definition: "Compute the largest number in the given list and output it.",
            sample: list_max,
        },
        Spec {
            name: "synth025_program_execution_list_sum",
            category: superni::PROGRAM_EXECUTION,
            definition: "Compute the sum of all the numbers in the list and return the total.",
            sample: list_sum,
        },
        Spec {
            name: "synth026_mathematics_addition",
            category: superni::MATHEMATICS,
            definition: "Compute the sum of the two numbers and give the answer as a number.",
            sample: addition,
        },
        Spec {
            name: "synth027_mathematics_subtraction",
            category: superni::MATHEMATICS,
            definition: "Solve the subtraction problem and output the difference.",
            sample: subtraction,
        },
        Spec {
            name: "synth028_mathematics_multiplication",
            category: superni::MATHEMATICS,
            definition: "Multiply the two numbers together and write the product.",
            sample: multiplication,
        },
        Spec {
            name: "synth029_mathematics_word_problem",
            category: superni::MATHEMATICS,
            definition: "Solve the short arithmetic word problem and answer with a single number.",
            sample: word_problem,
        },
    ]
}

fn arithmetic_print(rng: &mut TaskRng) -> Sample {
    let a = rng.random_range(0..=20u32);
    let b = rng.random_range(0..=20u32);
    let (input, code) = match rng.random_range(0..3) {
        0 => (format!("add {a} and {b}"), format!("print({a} + {b})")),
        1 => (format!("subtract {b} from {a}"), format!("print({a} - {b})")),
        _ => (format!("multiply {a} by {b}"), format!("print({a} * {b})")),
    };
    let why = format!("\"{input}\" is written as the Python expression inside print.");
    Sample::one(input, code, why)
}

fn assign_variable(rng: &mut TaskRng) -> Sample {
    let var = (b'a' + rng.random_range(0..26u8)) as char;
    let value = rng.random_range(0..100u32);
    let input = match rng.random_range(0..3) {
        0 => format!("set {var} to {value}"),
        1 => format!("let {var} be {value}"),
        _ => format!("store {value} in {var}"),
    };
    Sample::one(input, format!("{var} = {value}"), format!("The variable {var} receives the value {value}."))
}

fn repeat_string(rng: &mut TaskRng) -> Sample {
    let word = pick_from(rng, &[ANIMALS, FOODS]);
    let n = rng.random_range(2..=9u32);
    let input = if coin(rng) { format!("print {word} {n} times") } else { format!("show the word {word} {n} times") };
    let why = format!("Multiplying the string '{word}' by {n} repeats it {n} times.");
    Sample::one(input, format!("print('{word}' * {n})"), why)
}

fn comparison(rng: &mut TaskRng) -> Sample {
    let a = rng.random_range(0..=20u32);
    let b = rng.random_range(0..=20u32);
    let (words, op) = match rng.random_range(0..3) {
        0 => ("greater than", ">"),
        1 => ("less than", "<"),
        _ => ("equal to", "=="),
    };
    let input = format!("check whether {a} is {words} {b}");
    Sample::one(input, format!("print({a} {op} {b})"), format!("\"{words}\" is the operator {op} in Python."))
}

/// A list of 3 to 5 digits.
fn digits(rng: &mut TaskRng) -> Vec<u32> {
    let n = rng.random_range(3..=5);
    (0..n).map(|_| rng.random_range(0..10u32)).collect()
}

fn reverse_list(rng: &mut TaskRng) -> Sample {
    let xs = digits(rng);
    let mut out = xs.clone();
    out.reverse();
    Sample::one(list_text(&xs), list_text(&out), "Read from the last element to the first.")
}

fn sort_list(rng: &mut TaskRng) -> Sample {
    let xs = digits(rng);
    let mut out = xs.clone();
    out.sort_unstable();
    Sample::one(list_text(&xs), list_text(&out), "The numbers are placed in increasing order.")
}

fn list_max(rng: &mut TaskRng) -> Sample {
    let xs = digits(rng);
    let max = *xs.iter().max().expect("lists are non-empty");
    Sample::one(list_text(&xs), max.to_string(), format!("No number in the list is larger than {max}."))
}

fn list_sum(rng: &mut TaskRng) -> Sample {
    let xs = digits(rng);
    let sum: u32 = xs.iter().sum();
    let terms: Vec<String> = xs.iter().map(u32::to_string).collect();
    Sample::one(list_text(&xs), sum.to_string(), format!("{} = {sum}.", terms.join(" + ")))
}

fn addition(rng: &mut TaskRng) -> Sample {
    let a = rng.random_range(0..10u32);
    let b = rng.random_range(0..10u32);
    Sample::one(format!("{a} + {b}"), (a + b).to_string(), format!("{a} plus {b} equals {}.", a + b))
}

fn subtraction(rng: &mut TaskRng) -> Sample {
    let a = rng.random_range(5..=19u32);
    let b = rng.random_range(0..=a.min(9));
    let input = format!("What is {a} - {b}?");
    Sample::one(input, (a - b).to_string(), format!("Taking {b} away from {a} leaves {}.", a - b))
}

fn multiplication(rng: &mut TaskRng) -> Sample {
    let a = rng.random_range(1..10u32);
    let b = rng.random_range(1..10u32);
    Sample::one(format!("{a} x {b}"), (a * b).to_string(), format!("{a} groups of {b} make {}.", a * b))
}

fn word_problem(rng: &mut TaskRng) -> Sample {
    let name = pick(rng, NAMES);
    let thing = pick(rng, OBJECTS);
    let a = rng.random_range(2..10u32);
    if coin(rng) {
        let b = rng.random_range(1..10u32);
        let input = format!("{name} has {a} {thing}s and gets {b} more. How many {thing}s does {name} have?");
        Sample::one(input, (a + b).to_string(), format!("{a} + {b} = {}.", a + b))
    } else {
        let b = rng.random_range(1..a);
        let input = format!("{name} has {a} {thing}s and loses {b}. How many {thing}s are left?");
        Sample::one(input, (a - b).to_string(), format!("{a} - {b} = {}.", a - b))
    }
}
