//! The comma-separated `key=value` lists buildx flags take, read as CSV so a
//! value may hold a comma when quoted (`"dest=a,b"`).

use std::collections::BTreeMap;

/// A malformed `key=value,…` list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttrError {
    #[error("unterminated quote in {0:?}")]
    UnterminatedQuote(String),
    #[error("{field:?} is not of the form key=value")]
    NotKeyValue { field: String },
    #[error("{key:?} is given twice")]
    Duplicate { key: String },
}

/// Splits `input` at commas outside double quotes, removing the quotes.
pub(super) fn split_fields(input: &str) -> Result<Vec<String>, AttrError> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    if quoted {
        return Err(AttrError::UnterminatedQuote(input.to_owned()));
    }
    fields.push(current);
    Ok(fields)
}

/// Parses `k=v,k2=v2`; keys are lowercased, a key may appear only once.
pub fn parse_attrs(input: &str) -> Result<BTreeMap<String, String>, AttrError> {
    let mut attrs = BTreeMap::new();
    for field in split_fields(input)? {
        let Some((key, value)) = field.split_once('=') else {
            return Err(AttrError::NotKeyValue { field });
        };
        let key = key.trim().to_ascii_lowercase();
        if attrs.insert(key.clone(), value.to_owned()).is_some() {
            return Err(AttrError::Duplicate { key });
        }
    }
    Ok(attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attrs_keep_quoted_commas() {
        let attrs = parse_attrs(r#"type=local,"dest=a,b""#).unwrap();
        assert_eq!(attrs["dest"], "a,b");
        assert_eq!(attrs["type"], "local");
    }

    #[test]
    fn attrs_reject_bad_fields() {
        assert!(matches!(
            parse_attrs("type"),
            Err(AttrError::NotKeyValue { .. })
        ));
        assert!(matches!(
            parse_attrs("a=1,A=2"),
            Err(AttrError::Duplicate { .. })
        ));
        assert!(matches!(
            parse_attrs("a=\"1"),
            Err(AttrError::UnterminatedQuote(_))
        ));
    }
}
