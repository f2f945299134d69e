//! Codec vectors and property tests for the value model.
