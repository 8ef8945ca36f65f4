//! The InsCL tagging prompt (from InsTag, as used in the InsCL paper), verbatim.

/// Version of the prompt text: part of every tagger's config, so a change invalidates cached tags.
pub const PROMPT_VERSION: &str = "inscl-tagging-v1";

const BEFORE_QUERY: &str = "You are a tagging system that provides useful tags for instruction intentions to \
distinguish instructions for a helpful AI assistant. Below is an instruction:\n[begin]\n";

const AFTER_QUERY: &str = "\n[end]\nPlease provide coarse-grained tags, such as \"Spelling and Grammar Check\" \
and \"Cosplay\", to identify main intentions of above instruction. Your answer should be a list including \
titles of tags and a brief explanation of each tag. Your response have to strictly follow this JSON format: \
[{\"tag\": str, \"explanation\": str}]. Please response in English.";

/// The tagging prompt with `query` (the instruction text, unmodified) in place of `{query}`.
pub fn tagging_prompt(query: &str) -> String {
    let mut prompt = String::with_capacity(BEFORE_QUERY.len() + query.len() + AFTER_QUERY.len());
    prompt.push_str(BEFORE_QUERY);
    prompt.push_str(query);
    prompt.push_str(AFTER_QUERY);
    prompt
}

/// Appended to the prompt when a local model's previous reply could not be parsed: greedy decoding would
/// otherwise repeat the same reply.
pub const JSON_ONLY_REMINDER: &str =
    "\nAnswer with the JSON list only, for example: [{\"tag\": \"Cosplay\", \"explanation\": \"...\"}]";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_is_the_paper_text_with_the_query_in_place() {
        let expected = "You are a tagging system that provides useful tags for instruction intentions to distinguish instructions for a helpful AI assistant. Below is an instruction:
[begin]
Translate {this} to French.
[end]
Please provide coarse-grained tags, such as \"Spelling and Grammar Check\" and \"Cosplay\", to identify main intentions of above instruction. Your answer should be a list including titles of tags and a brief explanation of each tag. Your response have to strictly follow this JSON format: [{\"tag\": str, \"explanation\": str}]. Please response in English.";
        assert_eq!(tagging_prompt("Translate {this} to French."), expected);
    }
}
