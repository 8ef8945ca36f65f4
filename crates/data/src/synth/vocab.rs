//! The small closed vocabularies every task draws from. Keeping them tiny is what lets a model trained from
//! scratch on a CPU see each word many times. The nouns of ANIMALS and OBJECTS take a plain `-s` plural, so the
//! rewriting and extraction templates can pluralise them without exceptions.

pub const COLOURS: &[&str] = &[
    "red", "blue", "green", "yellow", "black", "white", "pink", "brown", "grey", "purple", "gold", "silver", "navy",
    "teal",
];

pub const ANIMALS: &[&str] = &[
    "cat", "dog", "cow", "pig", "hen", "owl", "bee", "ant", "duck", "goat", "frog", "bear", "lion", "bird", "horse",
    "seal", "crab", "mole", "toad", "rat",
];

/// More animals, only for the animal-or-not task, so that its two labels have about as many words each.
pub const MORE_ANIMALS: &[&str] = &[
    "fox", "wolf", "sheep", "mouse", "deer", "tiger", "zebra", "camel", "snake", "spider", "whale", "shark", "goose",
    "donkey", "monkey", "panda", "rabbit", "turtle", "parrot", "moose",
];

/// Foods that read well without an article ("Ann likes tea").
pub const FOODS: &[&str] = &[
    "bread", "rice", "cake", "soup", "jam", "tea", "pie", "corn", "honey", "cheese", "milk", "juice", "pasta", "salad",
    "fish", "toast",
];

/// Things with a regular plural.
pub const OBJECTS: &[&str] = &[
    "ball", "hat", "cup", "kite", "book", "pen", "bag", "car", "boat", "drum", "lamp", "bike", "key", "sock", "bell",
    "coin",
];

pub const NAMES: &[&str] =
    &["Tom", "Ann", "Sam", "Mia", "Ben", "Eva", "Max", "Zoe", "Leo", "Ida", "Tim", "Amy", "Dan", "Kim", "Joe", "Sue"];

pub const PLACES: &[&str] = &["park", "barn", "river", "forest", "garden", "shop", "house", "field", "lake", "school"];

pub const DAYS: &[&str] = &["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Words that start with a vowel, so the vowel task can draw balanced labels.
pub const VOWEL_WORDS: &[&str] = &[
    "apple", "egg", "owl", "ant", "olive", "onion", "igloo", "umbrella", "eagle", "ink", "orange", "arm", "elbow",
    "ice", "oven", "acorn", "otter", "uncle", "island", "engine", "axe", "elf", "emu", "oak", "oar", "urn", "eel",
    "inch", "ivy", "echo", "ocean", "atlas", "anchor", "easel", "iron", "ankle", "usher", "udder", "insect", "apron",
];

/// Past-tense transitive verbs for the headline task.
pub const PAST_VERBS: &[&str] =
    &["saw", "found", "lost", "painted", "bought", "sold", "made", "washed", "hid", "fixed"];

/// Past-tense intransitive verbs for the counting summary.
pub const PAST_ACTS: &[&str] =
    &["ran", "sang", "jumped", "laughed", "slept", "swam", "danced", "waved", "cried", "smiled"];

/// Verbs in their base form; the third person adds `s`.
pub const VERBS: &[&str] = &["run", "jump", "sleep", "eat", "swim", "sing", "walk", "hide", "play", "sit"];

pub const POSITIVE: &[&str] =
    &["great", "good", "tasty", "lovely", "nice", "fresh", "sweet", "wonderful", "perfect", "excellent"];
pub const NEGATIVE: &[&str] =
    &["bad", "awful", "stale", "bland", "terrible", "sour", "horrible", "poor", "soggy", "dreadful"];
/// Descriptions that carry no opinion.
pub const NEUTRAL: &[&str] = &["round", "small", "large", "square", "heavy", "thin", "warm", "brown", "flat", "new"];

pub const LIKE_VERBS: &[&str] = &["loves", "likes", "enjoys", "adores"];
pub const DISLIKE_VERBS: &[&str] = &["hates", "dislikes", "detests", "loathes"];

#[rustfmt::skip]
pub const ANTONYMS: &[(&str, &str)] = &[
    ("hot", "cold"), ("big", "small"), ("fast", "slow"), ("up", "down"), ("happy", "sad"), ("light", "dark"),
    ("open", "closed"), ("old", "new"), ("early", "late"), ("wet", "dry"), ("full", "empty"), ("hard", "soft"),
    ("high", "low"), ("loud", "quiet"), ("rich", "poor"), ("long", "short"), ("thick", "thin"), ("strong", "weak"),
    ("clean", "dirty"), ("left", "right"), ("in", "out"), ("day", "night"), ("win", "lose"), ("push", "pull"),
    ("buy", "sell"), ("first", "last"), ("true", "false"), ("near", "far"), ("add", "remove"), ("love", "hate"),
    ("always", "never"), ("give", "take"),
];

/// Each word belongs to exactly one set, so a word's synonyms are well defined.
#[rustfmt::skip]
pub const SYNONYMS: &[[&str; 3]] = &[
    ["big", "large", "huge"], ["small", "little", "tiny"], ["happy", "glad", "cheerful"], ["sad", "unhappy", "gloomy"],
    ["fast", "quick", "rapid"], ["start", "begin", "launch"], ["end", "finish", "stop"], ["smart", "clever", "bright"],
    ["angry", "mad", "cross"], ["pretty", "lovely", "beautiful"], ["cold", "chilly", "icy"],
    ["shout", "yell", "scream"], ["rich", "wealthy", "affluent"], ["easy", "simple", "effortless"],
    ["hard", "difficult", "tough"], ["scared", "afraid", "fearful"], ["tired", "sleepy", "weary"],
    ["jump", "leap", "hop"], ["talk", "speak", "chat"], ["quiet", "silent", "calm"],
];

/// Country -> capital, the open-QA world knowledge.
#[rustfmt::skip]
pub const CAPITALS: &[(&str, &str)] = &[
    ("France", "Paris"), ("Spain", "Madrid"), ("Italy", "Rome"), ("Germany", "Berlin"), ("Japan", "Tokyo"),
    ("China", "Beijing"), ("Egypt", "Cairo"), ("Peru", "Lima"), ("Kenya", "Nairobi"), ("Greece", "Athens"),
    ("Norway", "Oslo"), ("Poland", "Warsaw"), ("Russia", "Moscow"), ("Canada", "Ottawa"), ("Ireland", "Dublin"),
    ("Austria", "Vienna"), ("Portugal", "Lisbon"), ("Sweden", "Stockholm"), ("Cuba", "Havana"), ("Chile", "Santiago"),
];

/// Noun phrase -> its usual colour.
#[rustfmt::skip]
pub const THING_COLOURS: &[(&str, &str)] = &[
    ("a banana", "yellow"), ("grass", "green"), ("the sky", "blue"), ("snow", "white"), ("coal", "black"),
    ("a tomato", "red"), ("a carrot", "orange"), ("a lemon", "yellow"), ("milk", "white"), ("a frog", "green"),
    ("a strawberry", "red"), ("chocolate", "brown"), ("a crow", "black"), ("a cloud", "white"), ("a leaf", "green"),
    ("a plum", "purple"), ("a cherry", "red"), ("the sea", "blue"), ("soot", "black"), ("an elephant", "grey"),
];

/// Animal -> number of legs.
#[rustfmt::skip]
pub const LEGS: &[(&str, u32)] = &[
    ("spider", 8), ("dog", 4), ("cat", 4), ("bird", 2), ("hen", 2), ("ant", 6), ("bee", 6), ("snake", 0), ("fish", 0),
    ("horse", 4), ("duck", 2), ("crab", 10), ("beetle", 6), ("cow", 4), ("goat", 4), ("owl", 2), ("worm", 0),
    ("lion", 4), ("scorpion", 8), ("kangaroo", 2),
];

/// Animal -> the sound it makes.
#[rustfmt::skip]
pub const SOUNDS: &[(&str, &str)] = &[
    ("cow", "moo"), ("dog", "woof"), ("cat", "meow"), ("duck", "quack"), ("sheep", "baa"), ("pig", "oink"),
    ("owl", "hoot"), ("hen", "cluck"), ("lion", "roar"), ("snake", "hiss"), ("bee", "buzz"), ("horse", "neigh"),
    ("mouse", "squeak"), ("frog", "croak"), ("wolf", "howl"), ("donkey", "bray"), ("crow", "caw"), ("goose", "honk"),
    ("chick", "cheep"), ("dove", "coo"),
];

/// Real English words that one slip of the misspelling generator turns a lexicon word into ("hat" -> "hot",
/// "bread" -> "read"), listed so that no "misspelling" is in fact a word.
pub const EXTRA_WORDS: &[&str] = &[
    "ace", "act", "alive", "all", "amp", "art", "awl", "baa", "back", "bake", "bar", "bard", "bat", "bead", "beat",
    "beer", "beg", "bid", "big", "bill", "block", "boa", "boar", "bog", "boo", "boot", "bot", "bout", "brad", "brawn",
    "bred", "breed", "broad", "brow", "bug", "bull", "cab", "cap", "carb", "caw", "coke", "con", "coon", "cop", "cot",
    "crib", "cur", "cut", "deck", "dick", "dig", "dock", "dram", "dug", "ear", "ell", "eta", "even", "fog", "fro",
    "gat", "got", "gout", "gray", "hit", "hone", "hose", "hot", "hut", "ion", "ilk", "kit", "lack", "lam", "lama",
    "lap", "limp", "lino", "live", "loin", "loon", "lump", "male", "mile", "mule", "oat", "pan", "past", "paste",
    "pea", "pee", "peg", "pin", "pug", "pun", "punk", "race", "rad", "ram", "range", "read", "reed", "rid", "rod",
    "rot", "rum", "rut", "sack", "sea", "sick", "soak", "soap", "sop", "suck", "sup", "tad", "tee", "tod", "toed",
    "union", "utter", "whit",
];

/// Every word of the classification lexicon with its kind, in one place so the kind is unambiguous.
pub fn kind_of(word: &str) -> Option<&'static str> {
    if ANIMALS.contains(&word) || MORE_ANIMALS.contains(&word) {
        Some("animal")
    } else if FOODS.contains(&word) {
        Some("food")
    } else if COLOURS.contains(&word) {
        Some("colour")
    } else if OBJECTS.contains(&word) {
        Some("object")
    } else {
        None
    }
}

/// The spelling lexicon: every noun and colour above.
pub fn lexicon() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = [ANIMALS, FOODS, OBJECTS, COLOURS, VOWEL_WORDS].concat();
    all.sort_unstable();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_lists_do_not_overlap_where_labels_depend_on_them() {
        let lists = [ANIMALS, FOODS, COLOURS, OBJECTS];
        for (i, a) in lists.iter().enumerate() {
            for b in &lists[i + 1..] {
                assert!(a.iter().all(|w| !b.contains(w)), "{a:?} and {b:?} overlap");
            }
        }
        assert!(POSITIVE.iter().chain(NEGATIVE).all(|w| !NEUTRAL.contains(w)));
        assert!(POSITIVE.iter().all(|w| !NEGATIVE.contains(w)));
        let mut syn: Vec<&str> = SYNONYMS.iter().flatten().copied().collect();
        let n = syn.len();
        syn.sort_unstable();
        syn.dedup();
        assert_eq!(syn.len(), n, "a synonym appears in two sets");
        let mut ant: Vec<&str> = ANTONYMS.iter().flat_map(|(a, b)| [*a, *b]).collect();
        let n = ant.len();
        ant.sort_unstable();
        ant.dedup();
        assert_eq!(ant.len(), n, "an antonym appears in two pairs");
        assert!(VOWEL_WORDS.iter().all(|w| w.starts_with(['a', 'e', 'i', 'o', 'u'])));
    }
}
