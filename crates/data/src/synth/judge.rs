//! Tasks that judge a word or a short sentence and answer with a label: Classification, Detection,
//! Sentiment_Analysis and Text_Quality_Evaluation. The last two both judge whole sentences on purpose, so
//! their instructions sit close together.

use super::vocab::{self, ANIMALS, COLOURS, FOODS, NAMES, OBJECTS, PLACES};
use super::{Sample, Spec, TaskRng, a, capitalise, coin, pick, pick_from, superni};
use rand::Rng;
use rand::seq::SliceRandom;

pub(super) fn specs() -> Vec<Spec> {
    vec![
        Spec {
            name: "synth001_classification_length_parity",
            category: superni::CLASSIFICATION,
            definition: "Decide whether the given word has an even or an odd number of letters. Answer with \"even\" or \"odd\".",
            sample: length_parity,
        },
        Spec {
            name: "synth002_classification_word_kind",
            category: superni::CLASSIFICATION,
            definition: "Sort the word into one of four groups: animal, food, colour or object. Reply with the group name only.",
            sample: word_kind,
        },
        Spec {
            name: "synth003_classification_vowel_start",
            category: superni::CLASSIFICATION,
            definition: "Tell whether the word begins with a vowel (a, e, i, o or u). Output \"yes\" or \"no\".",
            sample: vowel_start,
        },
        Spec {
            name: "synth004_classification_contains_letter",
            category: superni::CLASSIFICATION,
            definition: "You are shown a word and a letter. Classify whether the letter appears in the word, answering \"yes\" or \"no\".",
            sample: contains_letter,
        },
        Spec {
            name: "synth005_classification_is_animal",
            category: superni::CLASSIFICATION,
            definition: "Label each word as \"animal\" if it names an animal and \"not animal\" otherwise.",
            sample: is_animal,
        },
        Spec {
            name: "synth006_detection_misspelled_word",
            category: superni::DETECTION,
            definition: "Check the spelling of the word. Write \"correct\" if it is spelled properly and \"misspelled\" if it contains a spelling mistake.",
            sample: misspelled_word,
        },
        Spec {
            name: "synth007_detection_spelling_yes_no",
            category: superni::DETECTION,
            definition: "Is the following word spelled correctly? Answer \"yes\" or \"no\".",
            sample: spelling_yes_no,
        },
        Spec {
            name: "synth008_detection_find_typo",
            category: superni::DETECTION,
            definition: "Exactly one word in the sentence has a spelling error. Find that word and copy it as it is written.",
            sample: find_typo,
        },
        Spec {
            name: "synth009_detection_repeated_word",
            category: superni::DETECTION,
            definition: "Detect whether the sentence contains the same word twice in a row by mistake. Respond with \"yes\" or \"no\".",
            sample: repeated_word,
        },
        Spec {
            name: "synth010_sentiment_food_review",
            category: superni::SENTIMENT,
            definition: "Read the short food review and classify its sentiment as \"positive\" or \"negative\".",
            sample: food_review,
        },
        Spec {
            name: "synth011_sentiment_likes",
            category: superni::SENTIMENT,
            definition: "Does the sentence express a positive or a negative feeling about the thing mentioned? Answer \"positive\" or \"negative\".",
            sample: likes,
        },
        Spec {
            name: "synth012_sentiment_negation",
            category: superni::SENTIMENT,
            definition: "Judge the sentiment of the review sentence, paying attention to the word \"not\", which reverses it. Reply \"positive\" or \"negative\".",
            sample: negation,
        },
        Spec {
            name: "synth013_sentiment_three_way",
            category: superni::SENTIMENT,
            definition: "Classify the opinion in the sentence as \"positive\", \"negative\" or \"neutral\" when it only describes the thing without judging it.",
            sample: three_way,
        },
        Spec {
            name: "synth014_text_quality_word_order",
            category: superni::TEXT_QUALITY,
            definition: "Judge the quality of the sentence: write \"good\" if its words are in a natural order and \"bad\" if they are jumbled.",
            sample: word_order,
        },
        Spec {
            name: "synth015_text_quality_acceptability",
            category: superni::TEXT_QUALITY,
            definition: "Rate whether the sentence is acceptable English. Output \"acceptable\" for a fluent sentence and \"unacceptable\" for a scrambled one.",
            sample: acceptability,
        },
        Spec {
            name: "synth016_text_quality_punctuation",
            category: superni::TEXT_QUALITY,
            definition: "Evaluate the sentence's form. It is \"well formed\" when it starts with a capital letter and ends with a full stop, and \"poorly formed\" otherwise.",
            sample: punctuation,
        },
        Spec {
            name: "synth017_text_quality_completeness",
            category: superni::TEXT_QUALITY,
            definition: "Assess the sentence and answer \"complete\" if it expresses a whole thought or \"incomplete\" if it stops too early.",
            sample: completeness,
        },
    ]
}

fn parity(n: usize) -> &'static str {
    if n.is_multiple_of(2) { "even" } else { "odd" }
}

fn length_parity(rng: &mut TaskRng) -> Sample {
    let word = pick(rng, &vocab::lexicon());
    let n = word.len();
    Sample::one(word, parity(n), format!("\"{word}\" has {n} letters, which is {}.", parity(n)))
}

fn word_kind(rng: &mut TaskRng) -> Sample {
    let word = pick_from(rng, &[ANIMALS, FOODS, COLOURS, OBJECTS]);
    let kind = vocab::kind_of(word).expect("drawn from a labelled list");
    Sample::one(word, kind, format!("\"{word}\" is {}.", a(kind)))
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn vowel_start(rng: &mut TaskRng) -> Sample {
    let word = if coin(rng) {
        pick(rng, vocab::VOWEL_WORDS)
    } else {
        let consonant: Vec<&str> =
            vocab::lexicon().into_iter().filter(|w| !w.starts_with(['a', 'e', 'i', 'o', 'u'])).collect();
        pick(rng, &consonant)
    };
    let first = word.chars().next().expect("words are non-empty");
    let yes = "aeiou".contains(first);
    let why = format!("\"{word}\" begins with \"{first}\", which is {}a vowel.", if yes { "" } else { "not " });
    Sample::one(word, yes_no(yes), why)
}

fn contains_letter(rng: &mut TaskRng) -> Sample {
    let word = pick(rng, &vocab::lexicon());
    let inside: Vec<char> = word.chars().collect();
    let outside: Vec<char> = ('a'..='z').filter(|c| !inside.contains(c)).collect();
    let yes = coin(rng);
    let letter =
        if yes { inside[rng.random_range(0..inside.len())] } else { outside[rng.random_range(0..outside.len())] };
    let why = format!("The letter \"{letter}\" {} in \"{word}\".", if yes { "appears" } else { "does not appear" });
    Sample::one(format!("Word: {word}\nLetter: {letter}"), yes_no(yes), why)
}

fn is_animal(rng: &mut TaskRng) -> Sample {
    let yes = coin(rng);
    let word =
        if yes { pick_from(rng, &[ANIMALS, vocab::MORE_ANIMALS]) } else { pick_from(rng, &[FOODS, COLOURS, OBJECTS]) };
    let label = if yes { "animal" } else { "not animal" };
    let kind = vocab::kind_of(word).expect("drawn from a labelled list");
    Sample::one(word, label, format!("\"{word}\" is {}.", a(kind)))
}

/// The other words of `plain_sentence`, which a misspelling must not turn into.
const FUNCTION_WORDS: &[&str] = &["the", "has", "a", "is", "on", "in", "eats", "sees"];

/// Whether `word` is a real word the generator uses anywhere, which a misspelling must not produce.
fn is_known_word(lexicon: &[&str], word: &str) -> bool {
    lexicon.contains(&word)
        || FUNCTION_WORDS.contains(&word)
        || vocab::ANTONYMS.iter().any(|(x, y)| *x == word || *y == word)
        || vocab::SYNONYMS.iter().flatten().any(|w| *w == word)
        || [vocab::POSITIVE, vocab::NEGATIVE, vocab::NEUTRAL, vocab::VERBS, vocab::PAST_VERBS, vocab::PLACES]
            .iter()
            .any(|list| list.contains(&word))
        || vocab::EXTRA_WORDS.contains(&word)
        || vocab::SOUNDS.iter().any(|(_, sound)| *sound == word)
        || vocab::NAMES.iter().any(|n| n.eq_ignore_ascii_case(word))
}

/// A misspelling of `word` that is not itself a word of the lexicon: a swapped, dropped, doubled or changed letter.
fn misspell(rng: &mut TaskRng, word: &str) -> String {
    let lexicon = vocab::lexicon();
    let chars: Vec<char> = word.chars().collect();
    loop {
        let mut c = chars.clone();
        let i = rng.random_range(0..c.len());
        match rng.random_range(0..4) {
            0 if c.len() > 1 => {
                let j = if i + 1 < c.len() { i + 1 } else { i - 1 };
                c.swap(i, j);
            }
            1 if c.len() > 3 => {
                c.remove(i);
            }
            2 => c.insert(i, c[i]),
            _ => {
                let vowels = ['a', 'e', 'i', 'o', 'u'];
                c[i] = if vowels.contains(&c[i]) { vowels[rng.random_range(0..5)] } else { 'a' };
            }
        }
        let out: String = c.into_iter().collect();
        if out != word && !is_known_word(&lexicon, &out) {
            return out;
        }
    }
}

fn spell_check(rng: &mut TaskRng) -> (String, bool, String) {
    let word = pick(rng, &vocab::lexicon());
    if coin(rng) {
        (word.to_string(), true, format!("\"{word}\" is the right spelling."))
    } else {
        let wrong = misspell(rng, word);
        let why = format!("\"{wrong}\" is a misspelling of \"{word}\".");
        (wrong, false, why)
    }
}

fn misspelled_word(rng: &mut TaskRng) -> Sample {
    let (word, ok, why) = spell_check(rng);
    Sample::one(word, if ok { "correct" } else { "misspelled" }, why)
}

fn spelling_yes_no(rng: &mut TaskRng) -> Sample {
    let (word, ok, why) = spell_check(rng);
    Sample::one(word, yes_no(ok), why)
}

/// A short sentence as words, from a few fixed patterns.
fn plain_sentence(rng: &mut TaskRng) -> Vec<String> {
    let s = match rng.random_range(0..4) {
        0 => format!("{} has a {} {}", pick(rng, NAMES), pick(rng, COLOURS), pick(rng, OBJECTS)),
        1 => format!("the {} eats {}", pick(rng, ANIMALS), pick(rng, FOODS)),
        2 => format!("{} sees the {} in the {}", pick(rng, NAMES), pick(rng, ANIMALS), pick(rng, PLACES)),
        _ => format!("the {} {} is on the {}", pick(rng, COLOURS), pick(rng, OBJECTS), pick(rng, OBJECTS)),
    };
    s.split(' ').map(str::to_string).collect()
}

fn find_typo(rng: &mut TaskRng) -> Sample {
    let lexicon = vocab::lexicon();
    let mut words = plain_sentence(rng);
    let candidates: Vec<usize> = (0..words.len()).filter(|&i| lexicon.contains(&words[i].as_str())).collect();
    let i = candidates[rng.random_range(0..candidates.len())];
    let right = words[i].clone();
    words[i] = misspell(rng, &right);
    let why = format!("\"{}\" should be spelled \"{right}\".", words[i]);
    Sample::one(words.join(" "), words[i].clone(), why)
}

fn repeated_word(rng: &mut TaskRng) -> Sample {
    let mut words = plain_sentence(rng);
    let yes = coin(rng);
    let why = if yes {
        let i = rng.random_range(0..words.len());
        let w = words[i].clone();
        words.insert(i, w.clone());
        format!("The word \"{w}\" is written twice in a row.")
    } else {
        "No word is repeated.".to_string()
    };
    Sample::one(words.join(" "), yes_no(yes), why)
}

fn polarity(positive: bool) -> &'static str {
    if positive { "positive" } else { "negative" }
}

fn food_review(rng: &mut TaskRng) -> Sample {
    let positive = coin(rng);
    let adj = pick(rng, if positive { vocab::POSITIVE } else { vocab::NEGATIVE });
    let food = pick(rng, FOODS);
    let input = if coin(rng) { format!("the {food} was {adj}") } else { format!("this {food} is {adj}") };
    let verb = if positive { "praises" } else { "criticises" };
    Sample::one(input, polarity(positive), format!("\"{adj}\" {verb} the {food}."))
}

fn likes(rng: &mut TaskRng) -> Sample {
    let positive = coin(rng);
    let verb = pick(rng, if positive { vocab::LIKE_VERBS } else { vocab::DISLIKE_VERBS });
    let name = pick(rng, NAMES);
    let thing = pick_from(rng, &[OBJECTS, ANIMALS]);
    let why = format!("\"{verb}\" shows a {} feeling.", polarity(positive));
    Sample::one(format!("{name} {verb} the {thing}"), polarity(positive), why)
}

fn negation(rng: &mut TaskRng) -> Sample {
    let praise = coin(rng);
    let negated = coin(rng);
    let adj = pick(rng, if praise { vocab::POSITIVE } else { vocab::NEGATIVE });
    let food = pick(rng, FOODS);
    let not = if negated { "not " } else { "" };
    let positive = praise != negated;
    let why = if negated {
        format!("\"not {adj}\" reverses \"{adj}\", so the review is {}.", polarity(positive))
    } else {
        format!("\"{adj}\" is {}.", polarity(positive))
    };
    Sample::one(format!("the {food} was {not}{adj}"), polarity(positive), why)
}

fn three_way(rng: &mut TaskRng) -> Sample {
    let (label, list) = match rng.random_range(0..3) {
        0 => ("positive", vocab::POSITIVE),
        1 => ("negative", vocab::NEGATIVE),
        _ => ("neutral", vocab::NEUTRAL),
    };
    let adj = pick(rng, list);
    let thing = pick_from(rng, &[OBJECTS, FOODS]);
    let why = if label == "neutral" {
        format!("\"{adj}\" describes the {thing} without an opinion.")
    } else {
        format!("\"{adj}\" is a {label} opinion.")
    };
    Sample::one(format!("the {thing} is {adj}"), label, why)
}

/// A lower-case sentence, jumbled half the time; returns (text, is in natural order).
fn maybe_scrambled(rng: &mut TaskRng) -> (String, bool) {
    let words: Vec<String> = plain_sentence(rng).into_iter().map(|w| w.to_lowercase()).collect();
    let natural = words.join(" ");
    if coin(rng) {
        return (natural, true);
    }
    let mut shuffled = words;
    loop {
        shuffled.shuffle(rng);
        let text = shuffled.join(" ");
        if text != natural {
            return (text, false);
        }
    }
}

fn word_order(rng: &mut TaskRng) -> Sample {
    let (text, ok) = maybe_scrambled(rng);
    let why = if ok { "The words follow a natural order." } else { "The words are jumbled." };
    Sample::one(text, if ok { "good" } else { "bad" }, why)
}

fn acceptability(rng: &mut TaskRng) -> Sample {
    let (text, ok) = maybe_scrambled(rng);
    let why = if ok { "It reads as a fluent sentence." } else { "The word order makes no sense." };
    Sample::one(text, if ok { "acceptable" } else { "unacceptable" }, why)
}

fn punctuation(rng: &mut TaskRng) -> Sample {
    let text = plain_sentence(rng).join(" ");
    let (capital, stop) = match rng.random_range(0..4) {
        0 | 1 => (true, true),
        2 => (false, coin(rng)),
        _ => (true, false),
    };
    let mut out = if capital { capitalise(&text) } else { text.to_lowercase() };
    if stop {
        out.push('.');
    }
    let why = match (capital, stop) {
        (true, true) => "It starts with a capital letter and ends with a full stop.",
        (false, _) => "It does not start with a capital letter.",
        (true, false) => "It does not end with a full stop.",
    };
    Sample::one(out, if capital && stop { "well formed" } else { "poorly formed" }, why)
}

fn completeness(rng: &mut TaskRng) -> Sample {
    // Each pattern ends with a noun whose removal leaves an article, adjective or preposition dangling.
    let s = match rng.random_range(0..4) {
        0 => format!("{} has a {} {}", pick(rng, NAMES), pick(rng, COLOURS), pick(rng, OBJECTS)),
        1 => format!("the {} sat on the {}", pick(rng, ANIMALS), pick(rng, OBJECTS)),
        2 => {
            let (a, b) = super::pick_two(rng, NAMES);
            format!("{a} gave the {} to {b}", pick(rng, OBJECTS))
        }
        _ => format!("{} lives near the {}", pick(rng, NAMES), pick(rng, PLACES)),
    };
    let complete = coin(rng);
    let text = if complete { s } else { s.rsplit_once(' ').expect("patterns have several words").0.to_string() };
    let why = if complete {
        "The sentence says who did what to what."
    } else {
        "The sentence breaks off before its last word."
    };
    Sample::one(format!("{}.", capitalise(&text)), if complete { "complete" } else { "incomplete" }, why)
}
