use super::*;
use arrow::array::{Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use std::sync::Arc;

fn round_trip<T: Table + PartialEq + std::fmt::Debug + Clone>(rows: Vec<T>) {
    let batch = T::encode(&rows).unwrap();
    assert_eq!(T::decode(&batch).unwrap(), rows, "{}", T::NAME);
    assert_eq!(T::decode(&T::encode(&[]).unwrap()).unwrap(), Vec::<T>::new(), "{}", T::NAME);
}

#[test]
fn every_table_round_trips() {
    let s = |x: &str| x.to_string();
    round_trip(vec![InstanceRow {
        id: s("i1"),
        category: s("A"),
        task: s("t"),
        instruction_id: s("d"),
        input: s("in"),
        outputs: vec![s("o1"), s("o2")],
        split: Split::Test,
    }]);
    round_trip(vec![InstructionRow {
        id: s("d"),
        category: s("A"),
        task: s("t"),
        tasks: vec![s("t"), s("u")],
        text: s("Do it."),
        n_train: 3,
        n_test: 1,
        weight: 0.75,
    }]);
    round_trip(vec![TaskRow { task: s("t"), category: s("A"), superni_category: s("X"), instruction_id: s("d"), n_train: 2, n_test: 0 }]);
    round_trip(vec![TagRow { instruction_id: s("d"), tag_raw: s("Tags"), explanation: s("e"), tag_norm: s("tag"), source: s("keyphrase") }]);
    round_trip(vec![DistanceRow { category_a: s("A"), category_b: s("B"), w: 0.5, n_a: 2, n_b: 3, weights: s("real"), solver: s("exact-emd") }]);
    round_trip(vec![InsInfoRow {
        order: s("o"),
        stage: 2,
        category: s("A"),
        instruction_id: s("d"),
        score: 1.5,
        share: 0.25,
        merged_tags: vec![],
    }]);
    round_trip(vec![MergeRow { tag: s("a"), merged_into: s("b") }]);
    round_trip(vec![ReplayRow { order: s("o"), stage: 3, method: s("inscl"), source_category: s("A"), instance_id: s("i") }]);
    round_trip(vec![TrainMixRow {
        instance_id: s("i"),
        category: s("A"),
        instruction_id: s("d"),
        definition: s("Do"),
        input: s("x"),
        outputs: vec![s("y")],
        replayed: true,
    }]);
    round_trip(vec![TestRow { instance_id: s("i"), category: s("A"), definition: s("Do"), input: s("x"), outputs: vec![s("y")] }]);
    round_trip(vec![PredictionRow {
        checkpoint: s("k"),
        category: s("A"),
        instance_id: s("i"),
        prediction: s("p"),
        rouge_l_p: 0.1,
        rouge_l_r: 0.2,
        rouge_l_f: 0.3,
        rouge_l_stemmed: 0.4,
    }]);
    round_trip(vec![
        MetricRow { seed: 1, order: s("o"), method: s("m"), stage: Some(1), category: Some(s("A")), metric: s("R"), value: 1.0 },
        MetricRow { seed: 1, order: s("o"), method: s("m"), stage: None, category: None, metric: s("BWT"), value: -2.0 },
    ]);
    round_trip(vec![InstructionVector { instruction_id: s("d"), category: s("A"), weight: 1.0, vector: vec![0.5, -1.0] }]);
    round_trip(vec![TagVector { tag: s("t"), vector: vec![1.0, 0.0, 0.0] }]);
    round_trip(vec![InstanceVector { instance_id: s("i"), category: s("A"), vector: vec![0.0] }]);
}

#[test]
fn nulls_negatives_and_wrong_types_name_table_row_and_field() {
    let schema = Schema::new(vec![Field::new("tag", DataType::Utf8, true), Field::new("merged_into", DataType::Utf8, false)]);
    let batch = RecordBatch::try_new(
        Arc::new(schema),
        vec![Arc::new(StringArray::from(vec![Some("a"), None])), Arc::new(StringArray::from(vec!["b", "c"]))],
    )
    .unwrap();
    let e = MergeRow::decode(&batch).unwrap_err().to_string();
    assert_eq!(e, "table 'merges': row 1, field 'tag': null");

    let mut rows = TaskRow::encode(&[TaskRow {
        task: "t".into(),
        category: "A".into(),
        superni_category: "X".into(),
        instruction_id: "d".into(),
        n_train: 1,
        n_test: 1,
    }])
    .unwrap();
    let i = rows.schema().index_of("n_train").unwrap();
    let mut cols = rows.columns().to_vec();
    cols[i] = Arc::new(Int64Array::from(vec![-4]));
    rows = RecordBatch::try_new(rows.schema(), cols).unwrap();
    assert_eq!(TaskRow::decode(&rows).unwrap_err().to_string(), "table 'tasks': row 0, field 'n_train': -4 is negative");

    let e = TagRow::decode(&batch).unwrap_err().to_string();
    assert_eq!(e, "table 'tags': no column 'instruction_id'");
    let e = DistanceRow::decode(&MergeRow::encode(&[]).unwrap()).unwrap_err().to_string();
    assert!(e.contains("no column 'category_a'"), "{e}");

    let bad = InstructionVector { instruction_id: "x".into(), category: "A".into(), weight: 1.0, vector: vec![f32::NAN] };
    let e = InstructionVector::decode(&InstructionVector::encode(&[bad]).unwrap()).unwrap_err().to_string();
    assert_eq!(e, "table 'embeddings': row 0, field 'embedding': not finite");
}
