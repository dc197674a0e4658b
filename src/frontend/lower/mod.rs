//! (placeholder: lower)
