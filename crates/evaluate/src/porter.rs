//! NLTK's `PorterStemmer` in its default `NLTK_EXTENSIONS` mode (nltk/stem/porter.py), which google
//! `rouge-score` applies when `use_stemmer=True`. Ported rule by rule, including NLTK's irregular-form
//! pool, its short-word guard and its deviations from the 1980 paper (`ies`/`ied` on four-letter words,
//! the stricter step 1c, `alli` first in step 2, `fulli` and `logi`).
//!
//! The algorithm runs over code points as Python does, so non-ASCII words stem exactly as NLTK stems
//! them; ASCII words (the only ones `rouge-score` ever stems) take a byte fast path with identical
//! results.

/// A code unit the rules can compare against ASCII letters: `u8` for ASCII words, `char` otherwise.
trait Letter: Copy + Eq + From<u8> {}
impl<T: Copy + Eq + From<u8>> Letter for T {}

fn is<C: Letter>(c: C, ascii: u8) -> bool {
    c == C::from(ascii)
}

fn is_vowel<C: Letter>(c: C) -> bool {
    b"aeiou".iter().any(|&v| is(c, v))
}

/// `_is_consonant`: a `y` is a consonant exactly when the letter before it is not one, so a run of
/// `y`s alternates; resolved by walking back over the run as NLTK's iterative version does.
fn is_consonant<C: Letter>(w: &[C], mut i: usize) -> bool {
    if is_vowel(w[i]) {
        return false;
    }
    if !is(w[i], b'y') {
        return true;
    }
    let mut negate = false;
    while i > 0 && is(w[i], b'y') {
        negate = !negate;
        i -= 1;
    }
    // Consonant iff the letter ending the y-run is a consonant, flipped once per `y` walked over.
    is_vowel(w[i]) == negate
}

/// Consonant flags left to right in one pass; `f(i, is_consonant)` sees each position once.
fn for_each_flag<C: Letter>(w: &[C], mut f: impl FnMut(bool)) {
    let mut prev_consonant = false;
    for (i, &c) in w.iter().enumerate() {
        let consonant = if is_vowel(c) {
            false
        } else if is(c, b'y') {
            i == 0 || !prev_consonant
        } else {
            true
        };
        f(consonant);
        prev_consonant = consonant;
    }
}

/// Porter's m: the number of vowel→consonant transitions (`"vc"` occurrences in the c/v string).
fn measure<C: Letter>(w: &[C]) -> usize {
    let (mut m, mut prev_vowel) = (0, false);
    for_each_flag(w, |consonant| {
        if consonant && prev_vowel {
            m += 1;
        }
        prev_vowel = !consonant;
    });
    m
}

fn contains_vowel<C: Letter>(w: &[C]) -> bool {
    let mut any = false;
    for_each_flag(w, |consonant| any |= !consonant);
    any
}

fn ends_double_consonant<C: Letter>(w: &[C]) -> bool {
    let n = w.len();
    n >= 2 && w[n - 1] == w[n - 2] && is_consonant(w, n - 1)
}

/// Condition *o, plus NLTK's extension that a two-letter vowel-consonant stem also counts.
fn ends_cvc<C: Letter>(w: &[C]) -> bool {
    let n = w.len();
    (n >= 3
        && is_consonant(w, n - 3)
        && !is_consonant(w, n - 2)
        && is_consonant(w, n - 1)
        && !b"wxy".iter().any(|&x| is(w[n - 1], x)))
        || (n == 2 && !is_consonant(w, 0) && is_consonant(w, 1))
}

fn ends_with<C: Letter>(w: &[C], suffix: &str) -> bool {
    let s = suffix.as_bytes();
    w.len() >= s.len()
        && w[w.len() - s.len()..]
            .iter()
            .zip(s)
            .all(|(&c, &b)| is(c, b))
}

fn replace_tail<C: Letter>(w: &mut Vec<C>, strip: usize, replacement: &str) {
    w.truncate(w.len() - strip);
    w.extend(replacement.bytes().map(C::from));
}

/// A rule's condition sees the whole word and the length of the stem left after removing the suffix;
/// `logi` and step 5b test a prefix one letter longer than that stem.
type Condition<C> = fn(&[C], usize) -> bool;

fn m_gt0<C: Letter>(w: &[C], stem: usize) -> bool {
    measure(&w[..stem]) > 0
}

fn m_gt1<C: Letter>(w: &[C], stem: usize) -> bool {
    measure(&w[..stem]) > 1
}

fn m_gt0_keep_l<C: Letter>(w: &[C], stem: usize) -> bool {
    measure(&w[..stem + 1]) > 0
}

fn m_gt1_keep_l<C: Letter>(w: &[C], stem: usize) -> bool {
    measure(&w[..stem + 1]) > 1
}

fn m_gt1_after_s_or_t<C: Letter>(w: &[C], stem: usize) -> bool {
    measure(&w[..stem]) > 1 && (is(w[stem - 1], b's') || is(w[stem - 1], b't'))
}

fn always<C: Letter>(_: &[C], _: usize) -> bool {
    true
}

/// `_apply_rule_list` without the `*d` rule: the first rule whose suffix matches decides; if its
/// condition fails the word is left alone and no later rule is tried.
fn apply_rules<C: Letter>(w: &mut Vec<C>, rules: &[(&str, &str, Condition<C>)]) {
    for &(suffix, replacement, condition) in rules {
        if ends_with(w, suffix) {
            if condition(w, w.len() - suffix.len()) {
                replace_tail(w, suffix.len(), replacement);
            }
            return;
        }
    }
}

fn step1a<C: Letter>(w: &mut Vec<C>) {
    if ends_with(w, "ies") && w.len() == 4 {
        return replace_tail(w, 3, "ie");
    }
    apply_rules(
        w,
        &[
            ("sses", "ss", always),
            ("ies", "i", always),
            ("ss", "ss", always),
            ("s", "", always),
        ],
    );
}

fn step1b<C: Letter>(w: &mut Vec<C>) {
    if ends_with(w, "ied") {
        let replacement = if w.len() == 4 { "ie" } else { "i" };
        return replace_tail(w, 3, replacement);
    }
    if ends_with(w, "eed") {
        if measure(&w[..w.len() - 3]) > 0 {
            w.pop();
        }
        return;
    }
    let Some(suffix) = ["ed", "ing"]
        .into_iter()
        .find(|s| ends_with(w, s) && contains_vowel(&w[..w.len() - s.len()]))
    else {
        return;
    };
    w.truncate(w.len() - suffix.len());
    if ends_with(w, "at") || ends_with(w, "bl") || ends_with(w, "iz") {
        w.push(C::from(b'e'));
    } else if ends_double_consonant(w) {
        let last = w[w.len() - 1];
        if !b"lsz".iter().any(|&x| is(last, x)) {
            w.pop();
        }
    } else if measure(w) == 1 && ends_cvc(w) {
        w.push(C::from(b'e'));
    }
}

/// NLTK's step 1c: y → i only after a consonant, and not when the stem is that single consonant.
fn step1c<C: Letter>(w: &mut Vec<C>) {
    let n = w.len();
    if ends_with(w, "y") && n - 1 > 1 && is_consonant(&w[..n - 1], n - 2) {
        replace_tail(w, 1, "i");
    }
}

fn step2<C: Letter>(w: &mut Vec<C>) {
    if ends_with(w, "alli") && measure(&w[..w.len() - 4]) > 0 {
        replace_tail(w, 4, "al");
        return step2(w);
    }
    apply_rules(
        w,
        &[
            ("ational", "ate", m_gt0),
            ("tional", "tion", m_gt0),
            ("enci", "ence", m_gt0),
            ("anci", "ance", m_gt0),
            ("izer", "ize", m_gt0),
            ("bli", "ble", m_gt0),
            ("alli", "al", m_gt0),
            ("entli", "ent", m_gt0),
            ("eli", "e", m_gt0),
            ("ousli", "ous", m_gt0),
            ("ization", "ize", m_gt0),
            ("ation", "ate", m_gt0),
            ("ator", "ate", m_gt0),
            ("alism", "al", m_gt0),
            ("iveness", "ive", m_gt0),
            ("fulness", "ful", m_gt0),
            ("ousness", "ous", m_gt0),
            ("aliti", "al", m_gt0),
            ("iviti", "ive", m_gt0),
            ("biliti", "ble", m_gt0),
            ("fulli", "ful", m_gt0),
            ("logi", "log", m_gt0_keep_l),
        ],
    );
}

fn step3<C: Letter>(w: &mut Vec<C>) {
    apply_rules(
        w,
        &[
            ("icate", "ic", m_gt0),
            ("ative", "", m_gt0),
            ("alize", "al", m_gt0),
            ("iciti", "ic", m_gt0),
            ("ical", "ic", m_gt0),
            ("ful", "", m_gt0),
            ("ness", "", m_gt0),
        ],
    );
}

fn step4<C: Letter>(w: &mut Vec<C>) {
    apply_rules(
        w,
        &[
            ("al", "", m_gt1),
            ("ance", "", m_gt1),
            ("ence", "", m_gt1),
            ("er", "", m_gt1),
            ("ic", "", m_gt1),
            ("able", "", m_gt1),
            ("ible", "", m_gt1),
            ("ant", "", m_gt1),
            ("ement", "", m_gt1),
            ("ment", "", m_gt1),
            ("ent", "", m_gt1),
            ("ion", "", m_gt1_after_s_or_t),
            ("ou", "", m_gt1),
            ("ism", "", m_gt1),
            ("ate", "", m_gt1),
            ("iti", "", m_gt1),
            ("ous", "", m_gt1),
            ("ive", "", m_gt1),
            ("ize", "", m_gt1),
        ],
    );
}

/// Both step 5a rules are tried on the same suffix (unlike `_apply_rule_list`), as NLTK does.
fn step5a<C: Letter>(w: &mut Vec<C>) {
    if ends_with(w, "e") {
        let stem = &w[..w.len() - 1];
        let m = measure(stem);
        if m > 1 || (m == 1 && !ends_cvc(stem)) {
            w.pop();
        }
    }
}

fn step5b<C: Letter>(w: &mut Vec<C>) {
    apply_rules(w, &[("ll", "l", m_gt1_keep_l)]);
}

fn run_steps<C: Letter>(w: &mut Vec<C>) {
    step1a(w);
    step1b(w);
    step1c(w);
    step2(w);
    step3(w);
    step4(w);
    step5a(w);
    step5b(w);
}

/// NLTK's irregular forms, looked up after lowercasing and before any rule.
fn irregular(word: &str) -> Option<&'static str> {
    Some(match word {
        "sky" | "skies" => "sky",
        "dying" => "die",
        "lying" => "lie",
        "tying" => "tie",
        "news" => "news",
        "innings" | "inning" => "inning",
        "outings" | "outing" => "outing",
        "cannings" | "canning" => "canning",
        "howe" => "howe",
        "proceed" => "proceed",
        "exceed" => "exceed",
        "succeed" => "succeed",
        _ => return None,
    })
}

/// Stems a word of lowercase ASCII letters and digits into `out` (cleared first): the only input the
/// rouge-score tokenizer produces. Equals [`stem`] there; on other bytes it would not, hence crate-only.
pub(crate) fn stem_lower_ascii_into(word: &[u8], out: &mut Vec<u8>) {
    debug_assert!(
        word.iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    );
    out.clear();
    if let Some(form) = std::str::from_utf8(word).ok().and_then(irregular) {
        out.extend_from_slice(form.as_bytes());
        return;
    }
    out.extend_from_slice(word);
    if word.len() > 2 {
        run_steps(out);
    }
}

/// `PorterStemmer().stem(word)`: lowercases (Rust's full Unicode lowercasing, which agrees with
/// Python's `str.lower` except where their Unicode versions differ), maps irregular forms, leaves words
/// of at most two code points unstemmed, then applies steps 1a–5b over code points.
pub fn stem(word: &str) -> String {
    let lower = word.to_lowercase();
    if let Some(form) = irregular(&lower) {
        return form.to_owned();
    }
    // NLTK measures the length of the word as given, not of its lowercased form.
    if word.chars().count() <= 2 {
        return lower;
    }
    if lower.is_ascii() {
        let mut bytes = lower.into_bytes();
        run_steps(&mut bytes);
        // The rules only ever append ASCII letters to an ASCII word.
        bytes.into_iter().map(char::from).collect()
    } else {
        let mut chars: Vec<char> = lower.chars().collect();
        run_steps(&mut chars);
        chars.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_and_nltk_examples() {
        for (w, s) in [
            ("caresses", "caress"),
            ("ponies", "poni"),
            ("ties", "tie"),
            ("cats", "cat"),
            ("agreed", "agre"),
            ("plastered", "plaster"),
            ("motoring", "motor"),
            ("hopping", "hop"),
            ("filing", "file"),
            ("happy", "happi"),
            ("enjoy", "enjoy"),
            ("relational", "relat"),
            ("generalization", "gener"),
            ("dying", "die"),
            ("skies", "sky"),
            ("Running", "run"),
            ("yyyy", "yyyi"),
            ("at", "at"),
        ] {
            assert_eq!(stem(w), s, "{w}");
        }
    }

    /// The integration test checks [`stem`] on the whole NLTK fixture; this checks the crate-only byte
    /// path that the rouge-score tokenizer calls, on the fixture's lowercase ASCII words.
    #[test]
    fn ascii_fast_path_matches_nltk_fixture() {
        let fx: serde_json::Value =
            serde_json::from_str(include_str!("../fixtures/porter_rouge_score_words.json"))
                .unwrap();
        let mut out = Vec::new();
        let mut checked = 0;
        for pair in fx["words"].as_array().unwrap() {
            let (word, want) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            if word
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            {
                stem_lower_ascii_into(word.as_bytes(), &mut out);
                assert_eq!(std::str::from_utf8(&out).unwrap(), want, "{word:?}");
                checked += 1;
            }
        }
        assert!(checked > 13_000, "{checked}");
    }
}
