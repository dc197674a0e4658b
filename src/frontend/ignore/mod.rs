//! (placeholder: ignore)
