//! Common rules for [`Attribute::requires_replace_if`](super::Attribute::requires_replace_if).

use std::collections::BTreeSet;

use crate::value::Value;

use super::plan::equal_ignoring_case;

/// For ids and names that the service compares without case, and that an import cannot learn
/// (its state records them as null): replace when a recorded value changes other than in letter
/// case, or becomes unknown; never when the prior value is null (the plan only records it).
pub fn recorded_value_changed_ignoring_case(prior: &Value, planned: &Value) -> bool {
    if prior.is_null() {
        return false;
    }
    if planned.is_unknown() {
        return true;
    }
    !equal_ignoring_case(prior, planned) && !prior.raw_equals(planned)
}

/// For sets of ids that the service compares without case, bound when the object is made and
/// unknown to an import (its state records null): replace when a recorded set changes other
/// than in letter case, or becomes unknown; never when the prior value is null (the plan only
/// records it). A null set counts as an empty one.
pub fn recorded_set_changed_ignoring_case(prior: &Value, planned: &Value) -> bool {
    if prior.is_null() {
        return false;
    }
    planned.is_unknown() || lower_case_set(prior) != lower_case_set(planned)
}

/// The strings of a set (or list), lower-cased; none for null.
fn lower_case_set(value: &Value) -> BTreeSet<String> {
    let elements = value.as_list().unwrap_or_default();
    elements
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_ascii_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_real_change_of_a_recorded_value_replaces() {
        let s = Value::string;
        let rule = recorded_value_changed_ignoring_case;
        assert!(!rule(&s("vnet-App"), &s("VNET-app")));
        assert!(rule(&s("vnet-app"), &s("vnet-other")));
        assert!(rule(&s("vnet-app"), &Value::Unknown(Default::default())));
        assert!(!rule(&Value::Null, &s("vnet-app")));
        assert!(rule(&s("vnet-app"), &Value::Null));
        assert!(!rule(&Value::Bool(true), &Value::Bool(true)));
        assert!(rule(&Value::Bool(true), &Value::Bool(false)));
    }

    #[test]
    fn a_recorded_set_is_replaced_only_by_another_set() {
        let set = |items: &[&str]| Value::set(items.iter().map(|item| Value::string(*item)));
        let rule = recorded_set_changed_ignoring_case;
        let upper = set(&["AAAAAAAA-0000-4000-8000-000000000000", "b"]);
        let lower = set(&["aaaaaaaa-0000-4000-8000-000000000000", "B"]);
        assert_eq!(lower_case_set(&upper), lower_case_set(&lower));
        assert!(!rule(&upper, &lower));
        assert!(rule(&upper, &set(&["b"])));
        assert!(rule(&upper, &Value::Unknown(Default::default())));
        assert!(!rule(&Value::Null, &upper));
        assert!(lower_case_set(&Value::Null).is_empty());
        assert!(!rule(&set(&[]), &Value::Null));
        assert!(rule(&upper, &Value::Null));
    }
}
