use crate::error::DataError;
use serde::Deserialize;

/// The fields of a natural-instructions task file that InsCL reads. Other fields are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct TaskFile {
    #[serde(rename = "Definition")]
    pub definition: Option<Vec<String>>,
    #[serde(rename = "Categories")]
    pub categories: Option<Vec<String>>,
    #[serde(rename = "Input_language")]
    pub input_language: Option<Vec<String>>,
    #[serde(rename = "Output_language")]
    pub output_language: Option<Vec<String>>,
    #[serde(rename = "Instruction_language")]
    pub instruction_language: Option<Vec<String>>,
    #[serde(rename = "Instances")]
    pub instances: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskInstance {
    pub id: String,
    pub input: String,
    pub outputs: Vec<String>,
}

/// A task file checked field by field, so that every error names the file and the field.
#[derive(Debug, Clone)]
pub struct ParsedTask {
    pub definition: String,
    pub first_category: String,
    pub english: bool,
    pub instances: Vec<TaskInstance>,
}

fn field_err(file: &str, field: &str, problem: impl Into<String>) -> DataError {
    DataError::Field { file: file.to_string(), field: field.to_string(), problem: problem.into() }
}

/// SuperNI's files were written by Python's json module, which emits `NaN` (e.g. a missing `URL`) although JSON
/// has no such token. Outside strings, `NaN`, `Infinity` and `-Infinity` become `null`; the rest is untouched.
fn python_constants_to_null(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if let Some(token) = ["-Infinity", "Infinity", "NaN"].into_iter().find(|t| rest.starts_with(t)) {
            out.push_str("null");
            rest = &rest[token.len()..];
            continue;
        }
        in_string = c == '"';
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}

/// One natural-instructions task file, as ingest reads it (`file` names it in errors): the `Definition` parts
/// joined by "\n" and trimmed, the first category, whether every language is English, the instances.
pub fn parse_task(file: &str, bytes: &[u8]) -> Result<ParsedTask, DataError> {
    let text = std::str::from_utf8(bytes).map_err(|e| DataError::NotUtf8 { file: file.to_string(), offset: e.valid_up_to() })?;
    let text = python_constants_to_null(text);
    let task: TaskFile = serde_json::from_str(&text).map_err(|source| DataError::Json { file: file.to_string(), source })?;
    let definition = match task.definition {
        None => return Err(field_err(file, "Definition", "missing")),
        Some(parts) => parts.join("\n").trim().to_string(),
    };
    if definition.is_empty() {
        return Err(field_err(file, "Definition", "empty"));
    }
    let first_category = match task.categories.as_deref() {
        None => return Err(field_err(file, "Categories", "missing")),
        Some([]) => return Err(field_err(file, "Categories", "empty: the first category decides the InsCL category")),
        Some([first, ..]) if first.trim().is_empty() => return Err(field_err(file, "Categories", "first category is blank")),
        Some([first, ..]) => first.trim().to_string(),
    };
    let mut english = true;
    for (name, value) in [
        ("Input_language", &task.input_language),
        ("Output_language", &task.output_language),
        ("Instruction_language", &task.instruction_language),
    ] {
        match value {
            None => return Err(field_err(file, name, "missing")),
            Some(langs) => english &= langs.len() == 1 && langs[0] == "English",
        }
    }
    let raw = task.instances.ok_or_else(|| field_err(file, "Instances", "missing"))?;
    let mut instances = Vec::with_capacity(raw.len());
    for (row, value) in raw.into_iter().enumerate() {
        let id = value.get("id").and_then(|v| v.as_str()).map(str::to_string);
        let row_err = |problem: &str| DataError::Row {
            file: file.to_string(),
            row,
            id: id.clone().unwrap_or_default(),
            problem: problem.to_string(),
        };
        let Some(id_str) = id.clone() else { return Err(row_err("field 'id' is missing or not a string")) };
        let input = value.get("input").and_then(|v| v.as_str()).ok_or_else(|| row_err("field 'input' is missing or not a string"))?;
        let outputs = match value.get("output") {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|o| o.as_str().map(str::to_string).ok_or_else(|| row_err("field 'output' holds a non-string")))
                .collect::<Result<Vec<_>, _>>()?,
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            _ => return Err(row_err("field 'output' is missing or not a list of strings")),
        };
        instances.push(TaskInstance { id: id_str, input: input.to_string(), outputs });
    }
    Ok(ParsedTask { definition, first_category, english, instances })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"Definition": ["Say hi."], "Categories": ["Misc."], "Input_language": ["English"],
        "Output_language": ["English"], "Instruction_language": ["English"],
        "Instances": [{"id": "t-1", "input": "x", "output": ["hi"]}]}"#;

    #[test]
    fn parses_a_good_file() {
        let t = parse_task("tasks/t.json", GOOD.as_bytes()).unwrap();
        assert_eq!(t.definition, "Say hi.");
        assert_eq!(t.first_category, "Misc.");
        assert!(t.english);
        assert_eq!(t.instances, vec![TaskInstance { id: "t-1".into(), input: "x".into(), outputs: vec!["hi".into()] }]);
    }

    #[test]
    fn python_nan_outside_strings_reads_as_null() {
        let text = GOOD.replace(r#""Definition""#, r#""URL": [NaN, -Infinity], "Note": "NaN \" NaN", "Definition""#);
        let t = parse_task("tasks/t.json", text.as_bytes()).unwrap();
        assert_eq!(t.definition, "Say hi.");
        assert_eq!(python_constants_to_null(r#"["NaN \" NaN", NaN]"#), r#"["NaN \" NaN", null]"#);
    }

    #[test]
    fn errors_name_file_and_field() {
        let no_def = GOOD.replace(r#""Definition": ["Say hi."], "#, "");
        let e = parse_task("tasks/t.json", no_def.as_bytes()).unwrap_err().to_string();
        assert_eq!(e, "tasks/t.json: field 'Definition': missing");
        let no_inst = GOOD.replace("\"Instances\"", "\"Other\"");
        let e = parse_task("tasks/t.json", no_inst.as_bytes()).unwrap_err().to_string();
        assert_eq!(e, "tasks/t.json: field 'Instances': missing");
        let e = parse_task("tasks/t.json", b"{\"Definition\": [").unwrap_err().to_string();
        assert!(e.starts_with("tasks/t.json: malformed JSON"), "{e}");
        let e = parse_task("tasks/t.json", b"{\"Definition\": [\"\xff\"]}").unwrap_err().to_string();
        assert_eq!(e, "tasks/t.json: not valid UTF-8 (byte 17)");
        let bad_row = GOOD.replace(r#""output": ["hi"]"#, r#""output": 3"#);
        let e = parse_task("tasks/t.json", bad_row.as_bytes()).unwrap_err().to_string();
        assert_eq!(e, "tasks/t.json, row 0 (instance 't-1'): field 'output' is missing or not a list of strings");
        let no_cat = GOOD.replace(r#"["Misc."]"#, "[]");
        let e = parse_task("tasks/t.json", no_cat.as_bytes()).unwrap_err().to_string();
        assert!(e.starts_with("tasks/t.json: field 'Categories': empty"), "{e}");
    }
}
