//! (placeholder: instructions)
