//! [`ObjectExt`]: the few conveniences resource code needs on object values (states, plans,
//! configurations).

use crate::value::Value;

/// Reading and writing attributes of an object [`Value`].
pub trait ObjectExt {
    /// Sets attribute `name` (adding it if missing). Does nothing on a non-object.
    fn set_attr(&mut self, name: &str, value: impl Into<Value>);

    /// Attribute `name` as a string, if it is a known string.
    fn attr_str(&self, name: &str) -> Option<&str>;

    /// Attribute `name` as a bool, if it is a known bool.
    fn attr_bool(&self, name: &str) -> Option<bool>;

    /// Attribute `name` as an integer, if it is a known number that fits.
    fn attr_i64(&self, name: &str) -> Option<i64>;

    /// Attribute `name`, or null when absent.
    fn attr(&self, name: &str) -> &Value;

    // ----- owned reads, for code that keeps what it read ------------------------------------------

    /// Attribute `name` as an owned string, if it is a known string.
    fn attr_string(&self, name: &str) -> Option<String> {
        self.attr_str(name).map(str::to_owned)
    }

    /// The known strings of the list or set attribute `name` (unknown elements left out);
    /// `None` when it is not a list or set (null, unknown or absent).
    fn attr_strings(&self, name: &str) -> Option<Vec<String>> {
        match self.attr(name) {
            Value::List(items) | Value::Set(items) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            ),
            _ => None,
        }
    }
}

impl ObjectExt for Value {
    fn set_attr(&mut self, name: &str, value: impl Into<Value>) {
        if let Value::Object(fields) = self {
            fields.insert(name.to_owned(), value.into());
        }
    }

    fn attr_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    fn attr_bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(Value::as_bool)
    }

    fn attr_i64(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }

    fn attr(&self, name: &str) -> &Value {
        self.get(name).unwrap_or(&Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_read_attributes() {
        let mut state = Value::object([("name", Value::string("a"))]);
        state.set_attr("size", 3);
        state.set_attr("on", true);
        assert_eq!(state.attr_str("name"), Some("a"));
        assert_eq!(state.attr_i64("size"), Some(3));
        assert_eq!(state.attr_bool("on"), Some(true));
        assert!(state.attr("missing").is_null());
        assert_eq!(state.attr_string("name"), Some("a".to_owned()));
        assert_eq!(state.attr_string("size"), None);
        state.set_attr(
            "ranges",
            Value::set([Value::string("10.0.0.0/24"), Value::unknown()]),
        );
        assert_eq!(
            state.attr_strings("ranges"),
            Some(vec!["10.0.0.0/24".to_owned()])
        );
        state.set_attr("ranges", Value::unknown());
        assert_eq!(state.attr_strings("ranges"), None);
        assert_eq!(state.attr_strings("missing"), None);
        let mut not_object = Value::Null;
        not_object.set_attr("x", 1);
        assert!(not_object.is_null());
    }
}
