//! Errors the user can act on carry a hint, printed as `hint: …` after a blank
//! line (uv's `Hint`). Library code attaches one with [`Hinted`]; `main`
//! finds it anywhere in the error chain.

/// An error with advice on what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Hinted {
    pub message: String,
    pub hint: String,
}

impl Hinted {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// Something that may know what the user should do next.
pub trait Hint {
    fn hint(&self) -> Option<&str>;
}

impl Hint for Hinted {
    fn hint(&self) -> Option<&str> {
        Some(&self.hint)
    }
}

impl Hint for crate::frontend::ParseError {
    fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}
