//! Common rules for [`Attribute::requires_replace_if`](super::Attribute::requires_replace_if).

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
}
