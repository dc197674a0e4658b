//! Variable scopes. A stage's scope is one ordered list of names and values
//! where ARG and ENV both write and the last write wins (BuildKit keeps ARG
//! values in the same environment as ENV; so an ENV after an ARG shadows it,
//! and an ARG after an ENV of the same name shadows that for later steps,
//! without touching the image config).

use crate::frontend::shell::Vars;

/// An ordered environment: setting a name again replaces it in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    entries: Vec<(String, String)>,
}

impl Scope {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, name: &str, value: &str) {
        match self.entries.iter_mut().find(|(key, _)| key == name) {
            Some(entry) => value.clone_into(&mut entry.1),
            None => self.entries.push((name.to_owned(), value.to_owned())),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(key, _)| key.as_str())
    }

    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }
}

impl Vars for Scope {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name)
    }
}

impl<const N: usize> From<[(&str, &str); N]> for Scope {
    fn from(pairs: [(&str, &str); N]) -> Self {
        let mut scope = Scope::new();
        for (name, value) in pairs {
            scope.set(name, value);
        }
        scope
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_replaces_in_place() {
        let mut scope = Scope::from([("A", "1"), ("B", "2")]);
        scope.set("A", "3");
        assert_eq!(
            scope.entries(),
            [
                ("A".to_owned(), "3".to_owned()),
                ("B".to_owned(), "2".to_owned())
            ]
        );
        assert_eq!(scope.lookup("B"), Some("2"));
        assert_eq!(scope.lookup("C"), None);
    }
}
