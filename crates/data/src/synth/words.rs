//! Tasks about words and their surface form: Comprehension (word meaning), Rewriting (the same sentence in
//! another form), Generation (a sentence composed from given words) and Misc (counting and spelling).

use super::vocab::{self, ANIMALS, ANTONYMS, COLOURS, FOODS, NAMES, OBJECTS, PLACES, SYNONYMS, VERBS};
use super::{Sample, Spec, TaskRng, capitalise, coin, pick, pick_from, pick_item, pick_two, superni};
use rand::Rng;

pub(super) fn specs() -> Vec<Spec> {
    vec![
        Spec {
            name: "synth050_comprehension_antonym",
            category: superni::COMPREHENSION,
            definition: "Give the antonym of the word, that is, the word with the opposite meaning.",
            sample: antonym,
        },
        Spec {
            name: "synth051_comprehension_synonym",
            category: superni::COMPREHENSION,
            definition: "Write a synonym of the word: another word that means the same thing.",
            sample: synonym,
        },
        Spec {
            name: "synth052_comprehension_odd_one_out",
            category: superni::COMPREHENSION,
            definition: "Three of the four words belong to the same group by meaning. Output the word that does not fit.",
            sample: odd_one_out,
        },
        Spec {
            name: "synth053_comprehension_word_relation",
            category: superni::COMPREHENSION,
            definition: "Decide how the meanings of the two words relate: answer \"synonyms\" if they mean the same and \"antonyms\" if they are opposites.",
            sample: word_relation,
        },
        Spec {
            name: "synth054_rewriting_uppercase",
            category: superni::REWRITING,
            definition: "Rewrite the sentence so that every letter is a capital letter.",
            sample: uppercase,
        },
        Spec {
            name: "synth055_rewriting_title_case",
            category: superni::REWRITING,
            definition: "Change the style of the phrase to title case by capitalising the first letter of each word.",
            sample: title_case,
        },
        Spec {
            name: "synth056_rewriting_plural",
            category: superni::REWRITING,
            definition: "Rewrite the sentence about one animal so that it talks about many of them, changing the noun and the verb to agree.",
            sample: plural,
        },
        Spec {
            name: "synth057_rewriting_reverse_words",
            category: superni::REWRITING,
            definition: "Transform the phrase by writing its words in reverse order, last word first.",
            sample: reverse_words,
        },
        Spec {
            name: "synth058_generation_subject_verb_object",
            category: superni::GENERATION,
            definition: "Compose a short sentence from the three given words, using them in the order shown.",
            sample: subject_verb_object,
        },
        Spec {
            name: "synth059_generation_possession",
            category: superni::GENERATION,
            definition: "You get a name, a thing and a colour. Write a sentence saying that the person owns a thing of that colour.",
            sample: possession,
        },
        Spec {
            name: "synth060_generation_location",
            category: superni::GENERATION,
            definition: "Build a sentence that places the animal in the location given after it.",
            sample: location,
        },
        Spec {
            name: "synth061_generation_friends",
            category: superni::GENERATION,
            definition: "Combine the two names into one sentence stating that these people are friends.",
            sample: friends,
        },
        Spec {
            name: "synth062_misc_count_letters",
            category: superni::MISC,
            definition: "Count how many letters the word has.",
            sample: count_letters,
        },
        Spec {
            name: "synth063_misc_repeat_word",
            category: superni::MISC,
            definition: "Repeat the word as many times as the number says, with single spaces between the copies.",
            sample: repeat_word,
        },
        Spec {
            name: "synth064_misc_count_words",
            category: superni::MISC,
            definition: "How many words are in the input? Reply with the count.",
            sample: count_words,
        },
        Spec {
            name: "synth065_misc_spell_out",
            category: superni::MISC,
            definition: "Spell the word letter by letter, joining the letters with hyphens.",
            sample: spell_out,
        },
    ]
}

fn antonym(rng: &mut TaskRng) -> Sample {
    let (a, b) = pick_item(rng, ANTONYMS);
    let (word, opposite) = if coin(rng) { (a, b) } else { (b, a) };
    Sample::one(word, opposite, format!("\"{opposite}\" means the opposite of \"{word}\"."))
}

fn synonym(rng: &mut TaskRng) -> Sample {
    let set = pick_item(rng, SYNONYMS);
    let word = pick(rng, &set);
    // Either of the other two words of the set is a right answer.
    let outputs: Vec<String> = set.iter().filter(|w| **w != word).map(|w| w.to_string()).collect();
    let why = format!("\"{}\" and \"{}\" both mean \"{word}\".", outputs[0], outputs[1]);
    Sample { input: word.to_string(), outputs, why }
}

fn odd_one_out(rng: &mut TaskRng) -> Sample {
    let groups: [&[&str]; 4] = [ANIMALS, FOODS, COLOURS, OBJECTS];
    let g = rng.random_range(0..groups.len());
    let other = (g + rng.random_range(1..groups.len())) % groups.len();
    let mut words: Vec<&str> = Vec::with_capacity(4);
    while words.len() < 3 {
        let w = pick(rng, groups[g]);
        if !words.contains(&w) {
            words.push(w);
        }
    }
    let odd = pick(rng, groups[other]);
    words.insert(rng.random_range(0..=3), odd);
    let kind = vocab::kind_of(words.iter().find(|w| **w != odd).expect("three others")).expect("labelled");
    let why = format!("The other words are each a kind of {kind}, but \"{odd}\" is not.");
    Sample::one(words.join(", "), odd, why)
}

fn word_relation(rng: &mut TaskRng) -> Sample {
    let synonyms = coin(rng);
    let (a, b) = if synonyms {
        let set = pick_item(rng, SYNONYMS);
        pick_two(rng, &set)
    } else {
        let (a, b) = pick_item(rng, ANTONYMS);
        if coin(rng) { (a, b) } else { (b, a) }
    };
    let label = if synonyms { "synonyms" } else { "antonyms" };
    let why = format!("\"{a}\" and \"{b}\" {}.", if synonyms { "mean the same" } else { "are opposites" });
    Sample::one(format!("{a} - {b}"), label, why)
}

/// A short lower-case sentence for the rewriting tasks.
fn phrase(rng: &mut TaskRng) -> String {
    match rng.random_range(0..3) {
        0 => format!("the {} {} is in the {}", pick(rng, COLOURS), pick(rng, OBJECTS), pick(rng, PLACES)),
        1 => format!("{} likes {} and {}", pick(rng, NAMES).to_lowercase(), pick(rng, FOODS), pick(rng, FOODS)),
        _ => format!("a {} {} can {}", pick(rng, COLOURS), pick(rng, ANIMALS), pick(rng, VERBS)),
    }
}

fn uppercase(rng: &mut TaskRng) -> Sample {
    let text = phrase(rng);
    Sample::one(text.clone(), text.to_uppercase(), "Each lower-case letter becomes its capital.")
}

fn title_case(rng: &mut TaskRng) -> Sample {
    let text = phrase(rng);
    let out: Vec<String> = text.split(' ').map(capitalise).collect();
    Sample::one(text, out.join(" "), "The first letter of every word is capitalised.")
}

fn plural(rng: &mut TaskRng) -> Sample {
    let colour = pick(rng, COLOURS);
    let animal = pick(rng, ANIMALS);
    let verb = pick(rng, VERBS);
    let place = pick(rng, PLACES);
    let (input, output) = if coin(rng) {
        (format!("the {colour} {animal} {verb}s"), format!("the {colour} {animal}s {verb}"))
    } else {
        (format!("the {animal} {verb}s in the {place}"), format!("the {animal}s {verb} in the {place}"))
    };
    let why = format!("\"{animal}\" becomes \"{animal}s\" and \"{verb}s\" becomes \"{verb}\".");
    Sample::one(input, output, why)
}

fn reverse_words(rng: &mut TaskRng) -> Sample {
    let pools: [&[&str]; 4] = [COLOURS, ANIMALS, FOODS, OBJECTS];
    let n = rng.random_range(3..=5);
    let words: Vec<&str> = (0..n).map(|i| pick(rng, pools[i % pools.len()])).collect();
    let mut reversed = words.clone();
    reversed.reverse();
    let why = format!("\"{}\" is the last word, so it comes first.", words[n - 1]);
    Sample::one(words.join(" "), reversed.join(" "), why)
}

fn subject_verb_object(rng: &mut TaskRng) -> Sample {
    let animal = pick(rng, ANIMALS);
    let verb = pick(rng, &["eats", "likes", "wants", "smells"]);
    let food = pick(rng, FOODS);
    let why = "The first word is the subject, the second the verb and the third the object.";
    Sample::one(format!("{animal}, {verb}, {food}"), format!("The {animal} {verb} {food}."), why)
}

fn possession(rng: &mut TaskRng) -> Sample {
    let name = pick(rng, NAMES);
    let thing = pick(rng, OBJECTS);
    let colour = pick(rng, COLOURS);
    let why = format!("The sentence says that {name} owns a {colour} {thing}.");
    Sample::one(format!("{name}, {thing}, {colour}"), format!("{name} has a {colour} {thing}."), why)
}

fn location(rng: &mut TaskRng) -> Sample {
    let animal = pick(rng, ANIMALS);
    let place = pick(rng, PLACES);
    let why = format!("The {animal} is placed in the {place}.");
    Sample::one(format!("{animal}, {place}"), format!("The {animal} is in the {place}."), why)
}

fn friends(rng: &mut TaskRng) -> Sample {
    let (a, b) = pick_two(rng, NAMES);
    Sample::one(
        format!("{a}, {b}"),
        format!("{a} and {b} are friends."),
        "Both names become the subject of one sentence.",
    )
}

fn count_letters(rng: &mut TaskRng) -> Sample {
    let word = pick(rng, &vocab::lexicon());
    let n = word.len();
    let letters: Vec<String> = word.chars().map(String::from).collect();
    Sample::one(word, n.to_string(), format!("{} are {n} letters.", letters.join(", ")))
}

fn repeat_word(rng: &mut TaskRng) -> Sample {
    let word = pick_from(rng, &[ANIMALS, COLOURS]);
    let n = rng.random_range(2..=4);
    let out = vec![word; n].join(" ");
    Sample::one(format!("{word}, {n}"), out, format!("\"{word}\" is written {n} times."))
}

fn count_words(rng: &mut TaskRng) -> Sample {
    let pools: [&[&str]; 5] = [NAMES, COLOURS, ANIMALS, FOODS, OBJECTS];
    let n = rng.random_range(2..=7);
    let words: Vec<&str> = (0..n)
        .map(|_| {
            let pool = pools[rng.random_range(0..pools.len())];
            pick(rng, pool)
        })
        .collect();
    Sample::one(words.join(" "), n.to_string(), format!("The words are: {}.", words.join(", ")))
}

fn spell_out(rng: &mut TaskRng) -> Sample {
    let word = pick(rng, &vocab::lexicon());
    let letters: Vec<String> = word.chars().map(String::from).collect();
    Sample::one(word, letters.join("-"), format!("\"{word}\" has the letters {}.", letters.join(", ")))
}
