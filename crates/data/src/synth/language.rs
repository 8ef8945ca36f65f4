//! Tasks that read a sentence or two and answer with a phrase from or about it: Summarization, Dialogue and
//! Extraction. Dialogue answers in whole, friendly sentences and never sees digits or code, which keeps it the
//! farthest category from Code and Program_Execution.

use super::vocab::{ANIMALS, COLOURS, DAYS, FOODS, NAMES, OBJECTS, PAST_ACTS, PAST_VERBS, PLACES};
use super::{Sample, Spec, TaskRng, a, coin, pick, pick_from, pick_two, superni};
use rand::Rng;

pub(super) fn specs() -> Vec<Spec> {
    vec![
        Spec {
            name: "synth030_summarization_headline",
            category: superni::SUMMARIZATION,
            definition: "Summarize the sentence in a few words, keeping only who did what to which thing and dropping the details.",
            sample: headline,
        },
        Spec {
            name: "synth031_summarization_merge_sentences",
            category: superni::SUMMARIZATION,
            definition: "Condense the two sentences into one shorter sentence that keeps all of their information.",
            sample: merge_sentences,
        },
        Spec {
            name: "synth032_summarization_repeated_action",
            category: superni::SUMMARIZATION,
            definition: "The text repeats the same action several times. Write a brief summary that says how many times it happened.",
            sample: repeated_action,
        },
        Spec {
            name: "synth033_summarization_topic",
            category: superni::SUMMARIZATION,
            definition: "Give a one-word summary of what the listed items have in common: animals, food, colours or things.",
            sample: topic,
        },
        Spec {
            name: "synth034_dialogue_greeting",
            category: superni::DIALOGUE,
            definition: "Someone introduces themselves to you. Reply politely and greet them by their name.",
            sample: greeting,
        },
        Spec {
            name: "synth035_dialogue_thanks",
            category: superni::DIALOGUE,
            definition: "Respond warmly to the person who is thanking you, mentioning what they thanked you for.",
            sample: thanks,
        },
        Spec {
            name: "synth036_dialogue_farewell",
            category: superni::DIALOGUE,
            definition: "Generate a friendly goodbye reply to the speaker that repeats the day you will meet again.",
            sample: farewell,
        },
        Spec {
            name: "synth037_dialogue_shop_assistant",
            category: superni::DIALOGUE,
            definition: "You are a helpful shop assistant. Write the next turn of the conversation in answer to the customer.",
            sample: shop_assistant,
        },
        Spec {
            name: "synth038_extraction_number",
            category: superni::EXTRACTION,
            definition: "Extract the number that appears in the sentence and output it in digits.",
            sample: number,
        },
        Spec {
            name: "synth039_extraction_person_name",
            category: superni::EXTRACTION,
            definition: "Find the name of the person mentioned in the sentence and return just that name.",
            sample: person_name,
        },
        Spec {
            name: "synth040_extraction_colour",
            category: superni::EXTRACTION,
            definition: "Identify the colour word used in the sentence and output it.",
            sample: colour,
        },
        Spec {
            name: "synth041_extraction_all_numbers",
            category: superni::EXTRACTION,
            definition: "List every number in the sentence in the order they appear, separated by a comma and a space.",
            sample: all_numbers,
        },
    ]
}

fn headline(rng: &mut TaskRng) -> Sample {
    let name = pick(rng, NAMES);
    let verb = pick(rng, PAST_VERBS);
    let adj = pick(rng, COLOURS);
    let thing = pick(rng, OBJECTS);
    let place = pick(rng, PLACES);
    let day = pick(rng, DAYS);
    let input = format!("{name} {verb} a {adj} {thing} in the {place} on {day}.");
    let why = format!("The colour, the {place} and the day are details; the core is {name}, {verb} and {thing}.");
    Sample::one(input, format!("{name} {verb} a {thing}"), why)
}

fn merge_sentences(rng: &mut TaskRng) -> Sample {
    let name = pick(rng, NAMES);
    let (input, output) = if coin(rng) {
        let list = if coin(rng) { ANIMALS } else { OBJECTS };
        let (a, b) = pick_two(rng, list);
        let (a, b) = (super::a(a), super::a(b));
        (format!("{name} has {a}. {name} has {b}."), format!("{name} has {a} and {b}."))
    } else {
        let (a, b) = pick_two(rng, FOODS);
        (format!("{name} likes {a}. {name} likes {b}."), format!("{name} likes {a} and {b}."))
    };
    Sample::one(input, output, "Both sentences share a subject and verb, so they join with \"and\".")
}

fn repeated_action(rng: &mut TaskRng) -> Sample {
    let name = pick(rng, NAMES);
    let act = pick(rng, PAST_ACTS);
    let n = rng.random_range(2..=4);
    let input = vec![format!("{name} {act}."); n].join(" ");
    Sample::one(input, format!("{name} {act} {n} times."), format!("\"{name} {act}.\" is said {n} times."))
}

fn topic(rng: &mut TaskRng) -> Sample {
    type Template = fn(&str, &[&str; 3]) -> String;
    let (label, items, template): (&str, &[&str], Template) = match rng.random_range(0..4) {
        0 => ("animals", ANIMALS, |n, [x, y, z]| format!("{n} saw {}, {} and {} at the farm.", a(x), a(y), a(z))),
        1 => ("food", FOODS, |n, [a, b, c]| format!("{n} bought {a}, {b} and {c}.")),
        2 => ("colours", COLOURS, |n, [a, b, c]| format!("{n} painted the wall {a}, {b} and {c}.")),
        _ => ("things", OBJECTS, |n, [x, y, z]| format!("{n} packed {}, {} and {}.", a(x), a(y), a(z))),
    };
    let name = pick(rng, NAMES);
    let mut three = [""; 3];
    for slot in 0..3 {
        // Three different items, so the sentence reads naturally.
        loop {
            let item = pick(rng, items);
            if !three[..slot].contains(&item) {
                three[slot] = item;
                break;
            }
        }
    }
    let why = format!("{}, {} and {} are all {label}.", three[0], three[1], three[2]);
    Sample::one(template(name, &three), label, why)
}

fn greeting(rng: &mut TaskRng) -> Sample {
    let name = pick(rng, NAMES);
    let input = match rng.random_range(0..4) {
        0 => format!("hi, my name is {name}."),
        1 => format!("hello, I am {name}."),
        2 => format!("hey there, call me {name}."),
        _ => format!("good morning, I'm {name}."),
    };
    Sample::one(input, format!("Nice to meet you, {name}!"), format!("The speaker's name is {name}."))
}

fn thanks(rng: &mut TaskRng) -> Sample {
    let thing = pick_from(rng, &[FOODS, OBJECTS]);
    let input = match rng.random_range(0..3) {
        0 => format!("thanks for the {thing}!"),
        1 => format!("thank you so much for the {thing}."),
        _ => format!("I loved the {thing}, thank you."),
    };
    Sample::one(input, format!("Glad you liked the {thing}!"), format!("The speaker is grateful for the {thing}."))
}

fn farewell(rng: &mut TaskRng) -> Sample {
    let name = pick(rng, NAMES);
    let day = pick(rng, DAYS);
    let input = if coin(rng) {
        format!("bye {name}, see you on {day}.")
    } else {
        format!("I have to go now, {name}. Until {day}!")
    };
    Sample::one(input, format!("Goodbye! See you on {day}."), format!("You will meet again on {day}."))
}

fn shop_assistant(rng: &mut TaskRng) -> Sample {
    match rng.random_range(0..3) {
        0 => {
            let food = pick(rng, FOODS);
            let out = format!("Sure, here is some {food}.");
            Sample::one(
                format!("Customer: can I have some {food}?"),
                out,
                "The customer asks for food, so hand it over.",
            )
        }
        1 => {
            let place = pick(rng, PLACES);
            let out = format!("The {place} is just down the road.");
            Sample::one(format!("Customer: where is the {place}?"), out, "The customer asks for directions.")
        }
        _ => {
            let (colour, thing) = (pick(rng, COLOURS), pick(rng, OBJECTS));
            let out = format!("Yes, we have a {colour} {thing}.");
            Sample::one(
                format!("Customer: do you have a {colour} {thing}?"),
                out,
                "The customer asks whether an item is in stock.",
            )
        }
    }
}

fn number(rng: &mut TaskRng) -> Sample {
    let n = rng.random_range(2..100u32);
    let name = pick(rng, NAMES);
    let thing = pick(rng, OBJECTS);
    let input = match rng.random_range(0..3) {
        0 => format!("{name} has {n} {} {thing}s.", pick(rng, COLOURS)),
        1 => format!("There are {n} {thing}s in the {}.", pick(rng, PLACES)),
        _ => format!("{name} sold {n} {thing}s on {}.", pick(rng, DAYS)),
    };
    Sample::one(input, n.to_string(), format!("{n} is the only number in the sentence."))
}

fn person_name(rng: &mut TaskRng) -> Sample {
    let name = pick(rng, NAMES);
    let animal = pick(rng, ANIMALS);
    let input = match rng.random_range(0..3) {
        0 => format!("Yesterday {name} fed the {animal}."),
        1 => format!("The {animal} was fed by {name}."),
        _ => format!("In the {}, {name} met {}.", pick(rng, PLACES), a(animal)),
    };
    Sample::one(input, name, format!("{name} is the only person named."))
}

fn colour(rng: &mut TaskRng) -> Sample {
    let c = pick(rng, COLOURS);
    let input = match rng.random_range(0..3) {
        0 => format!("The {} sat on a {c} {}.", pick(rng, ANIMALS), pick(rng, OBJECTS)),
        1 => format!("{} painted the {} {c}.", pick(rng, NAMES), pick(rng, OBJECTS)),
        _ => format!("A {c} {} is in the {}.", pick(rng, OBJECTS), pick(rng, PLACES)),
    };
    Sample::one(input, c, format!("\"{c}\" is a colour."))
}

fn all_numbers(rng: &mut TaskRng) -> Sample {
    let name = pick(rng, NAMES);
    let (t1, t2) = pick_two(rng, OBJECTS);
    let a = rng.random_range(2..50u32);
    let b = rng.random_range(2..50u32);
    if coin(rng) {
        let input = format!("{name} bought {a} {t1}s and {b} {t2}s.");
        Sample::one(input, format!("{a}, {b}"), format!("The numbers are {a} and {b}."))
    } else {
        let c = rng.random_range(1..10u32);
        let input = format!("Box {c} holds {a} {t1}s and {b} {t2}s.");
        Sample::one(input, format!("{c}, {a}, {b}"), format!("The numbers are {c}, {a} and {b}, in that order."))
    }
}
