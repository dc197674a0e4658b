//! (placeholder: lint)
