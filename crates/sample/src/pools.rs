//! The train split of one category, grouped by instruction, as the samplers see it.

use std::collections::{BTreeMap, HashMap};

use crate::{SampleError, TrainInstance};

/// The train instances of one instruction, as indices into the stage's train slice (train order).
pub(crate) struct InstructionGroup<'a> {
    pub id: &'a str,
    pub instances: Vec<usize>,
}

/// The train instances of one category: all of them in train order, and grouped by instruction
/// (instructions sorted by id, so that nothing depends on hash order).
pub(crate) struct CategoryPool<'a> {
    pub name: &'a str,
    pub instances: Vec<usize>,
    pub instructions: Vec<InstructionGroup<'a>>,
}

/// Groups the train split by the categories of `order[..stage]`, after checking instance ids are unique
/// and every such category has train instances. Instances of other categories are ignored.
pub(crate) fn category_pools<'a>(
    train: &'a [TrainInstance],
    categories: &'a [String],
) -> Result<Vec<CategoryPool<'a>>, SampleError> {
    let position: HashMap<&str, usize> = categories
        .iter()
        .enumerate()
        .map(|(k, c)| (c.as_str(), k))
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(train.len());
    let mut grouped: Vec<BTreeMap<&str, Vec<usize>>> = vec![BTreeMap::new(); categories.len()];
    let mut instances: Vec<Vec<usize>> = vec![Vec::new(); categories.len()];
    for (row, inst) in train.iter().enumerate() {
        if let Some(first) = seen.insert(inst.instance_id.as_str(), row) {
            return Err(SampleError::DuplicateInstance {
                instance_id: inst.instance_id.clone(),
                first,
                second: row,
            });
        }
        if let Some(&k) = position.get(inst.category.as_str()) {
            instances[k].push(row);
            grouped[k]
                .entry(inst.instruction_id.as_str())
                .or_default()
                .push(row);
        }
    }
    categories
        .iter()
        .zip(instances.into_iter().zip(grouped))
        .map(|(name, (instances, grouped))| {
            if instances.is_empty() {
                return Err(SampleError::NoTrainInstances {
                    category: name.clone(),
                });
            }
            Ok(CategoryPool {
                name,
                instances,
                instructions: grouped
                    .into_iter()
                    .map(|(id, instances)| InstructionGroup { id, instances })
                    .collect(),
            })
        })
        .collect()
}
