//! Question answering, split the way the ingest splits SuperNI's Question Answering: Closed_QA inputs carry a
//! `Passage:` line and a `Question:` line and the answer is read off the passage; Open_QA inputs are a bare
//! question about fixed world knowledge, and their instructions avoid every word the ingest takes as a sign of
//! a context (passage, paragraph, context, article, story, document, "given text", ...).

use super::vocab::{ANIMALS, CAPITALS, COLOURS, LEGS, NAMES, OBJECTS, PLACES, SOUNDS, THING_COLOURS};
use super::{Sample, Spec, TaskRng, a, capitalise, coin, pick, pick_item, pick_two, superni};
use rand::Rng;

pub(super) fn specs() -> Vec<Spec> {
    vec![
        Spec {
            name: "synth042_closed_qa_object_colour",
            category: superni::QUESTION_ANSWERING,
            definition: "Read the passage and answer the question about the colour of someone's belonging with a single word.",
            sample: object_colour,
        },
        Spec {
            name: "synth043_closed_qa_who_has",
            category: superni::QUESTION_ANSWERING,
            definition: "Using only the information in the passage, answer the question with the name of the right person.",
            sample: who_has,
        },
        Spec {
            name: "synth044_closed_qa_age",
            category: superni::QUESTION_ANSWERING,
            definition: "The passage states people's ages. Answer the question with the age as a number.",
            sample: age,
        },
        Spec {
            name: "synth045_closed_qa_where_lives",
            category: superni::QUESTION_ANSWERING,
            definition: "Answer the question about where an animal lives, based on the passage.",
            sample: where_lives,
        },
        Spec {
            name: "synth046_open_qa_capital",
            category: superni::QUESTION_ANSWERING,
            definition: "Answer the general knowledge question about a country with the name of its capital city.",
            sample: capital,
        },
        Spec {
            name: "synth047_open_qa_thing_colour",
            category: superni::QUESTION_ANSWERING,
            definition: "Use everyday knowledge to say what colour the thing usually is. Answer with one colour word.",
            sample: thing_colour,
        },
        Spec {
            name: "synth048_open_qa_animal_legs",
            category: superni::QUESTION_ANSWERING,
            definition: "Answer the question about an animal's body with the number of legs it has.",
            sample: animal_legs,
        },
        Spec {
            name: "synth049_open_qa_animal_from_sound",
            category: superni::QUESTION_ANSWERING,
            definition: "Name the animal that makes the sound mentioned in the question.",
            sample: animal_from_sound,
        },
    ]
}

fn closed(passage: &str, question: &str) -> String {
    format!("Passage: {passage}\nQuestion: {question}")
}

/// One or two facts about different people; returns (the passage, the index of the fact asked about).
fn facts<T>(rng: &mut TaskRng, one: impl Fn(&mut TaskRng, &str) -> T) -> (Vec<(String, T)>, usize) {
    let (a, b) = pick_two(rng, NAMES);
    let mut out = vec![(a.to_string(), one(rng, a))];
    if coin(rng) {
        out.push((b.to_string(), one(rng, b)));
    }
    let asked = rng.random_range(0..out.len());
    (out, asked)
}

fn object_colour(rng: &mut TaskRng) -> Sample {
    let (people, asked) = facts(rng, |rng, _| (pick(rng, COLOURS), pick(rng, OBJECTS)));
    let passage: Vec<String> = people.iter().map(|(n, (c, o))| format!("{n} has a {c} {o}.")).collect();
    let (name, (c, o)) = &people[asked];
    let input = closed(&passage.join(" "), &format!("What colour is {name}'s {o}?"));
    Sample::one(input, *c, format!("The passage says {name} has a {c} {o}."))
}

fn who_has(rng: &mut TaskRng) -> Sample {
    let (a, b) = pick_two(rng, NAMES);
    let (x, y) = pick_two(rng, ANIMALS);
    let passage = format!("{a} has {}. {b} has {}.", super::a(x), super::a(y));
    let (who, what) = if coin(rng) { (a, super::a(x)) } else { (b, super::a(y)) };
    let input = closed(&passage, &format!("Who has {what}?"));
    Sample::one(input, who, format!("The passage says {who} has {what}."))
}

fn age(rng: &mut TaskRng) -> Sample {
    let (people, asked) = facts(rng, |rng, _| rng.random_range(2..=12u32));
    let passage: Vec<String> = people.iter().map(|(n, years)| format!("{n} is {years} years old.")).collect();
    let (name, years) = &people[asked];
    let input = closed(&passage.join(" "), &format!("How old is {name}?"));
    Sample::one(input, years.to_string(), format!("The passage gives {name}'s age as {years}."))
}

fn where_lives(rng: &mut TaskRng) -> Sample {
    let (a, b) = pick_two(rng, ANIMALS);
    let (p, q) = pick_two(rng, PLACES);
    let passage = format!("The {a} lives in the {p}. The {b} lives in the {q}.");
    let (animal, place) = if coin(rng) { (a, p) } else { (b, q) };
    let input = closed(&passage, &format!("Where does the {animal} live?"));
    // Two references: the answer with or without its article is equally right.
    Sample {
        input,
        outputs: vec![format!("the {place}"), place.to_string()],
        why: format!("The passage says the {animal} lives in the {place}."),
    }
}

fn capital(rng: &mut TaskRng) -> Sample {
    let (country, city) = pick_item(rng, CAPITALS);
    let input = match rng.random_range(0..3) {
        0 => format!("What is the capital of {country}?"),
        1 => format!("Name the capital city of {country}."),
        _ => format!("Which city is the capital of {country}?"),
    };
    Sample::one(input, city, format!("{city} is the capital of {country}."))
}

fn thing_colour(rng: &mut TaskRng) -> Sample {
    let (thing, colour) = pick_item(rng, THING_COLOURS);
    let input = match rng.random_range(0..3) {
        0 => format!("What colour is {thing}?"),
        1 => format!("What is the usual colour of {thing}?"),
        _ => format!("Which colour is {thing} usually?"),
    };
    Sample::one(input, colour, format!("{} is usually {colour}.", capitalise(thing)))
}

fn animal_legs(rng: &mut TaskRng) -> Sample {
    let (animal, legs) = pick_item(rng, LEGS);
    let input = match rng.random_range(0..3) {
        0 => format!("How many legs does {} have?", a(animal)),
        1 => format!("{} has how many legs?", capitalise(&a(animal))),
        _ => format!("Count the legs of {}.", a(animal)),
    };
    Sample::one(input, legs.to_string(), format!("{} has {legs} legs.", capitalise(&a(animal))))
}

fn animal_from_sound(rng: &mut TaskRng) -> Sample {
    let (animal, sound) = pick_item(rng, SOUNDS);
    let input = match rng.random_range(0..3) {
        0 => format!("Which animal says {sound}?"),
        1 => format!("What animal makes the sound {sound}?"),
        _ => format!("Name the animal that goes {sound}."),
    };
    Sample::one(input, animal, format!("{} says {sound}.", capitalise(&a(animal))))
}
