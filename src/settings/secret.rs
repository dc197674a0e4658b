//! `--secret id=x,src=file` / `id=x,env=VAR`: values a RUN step may read
//! through `--mount=type=secret`, never stored in the image.

use std::path::PathBuf;
use std::str::FromStr;

use super::attrs::parse_attrs;

/// Where a secret's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    Env(String),
}

/// One `--secret` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpec {
    pub id: String,
    pub source: SecretSource,
}

impl FromStr for SecretSpec {
    type Err = String;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let mut attrs = parse_attrs(input).map_err(|e| e.to_string())?;
        let kind = attrs.remove("type");
        let id = attrs.remove("id");
        let src = attrs.remove("src").or_else(|| attrs.remove("source"));
        let env = attrs.remove("env");
        if let Some(unknown) = attrs.keys().next() {
            return Err(format!(
                "unknown attribute {unknown:?} (expected id, type, src or env)"
            ));
        }
        let source = match (kind.as_deref(), src, env) {
            (Some("file") | None, Some(path), None) => SecretSource::File(PathBuf::from(path)),
            (Some("env") | None, None, Some(var)) => SecretSource::Env(var),
            (Some("env"), Some(var), None) => SecretSource::Env(var),
            (Some("file" | "env") | None, Some(_), Some(_)) => {
                return Err("give either src= or env=, not both".to_owned());
            }
            (Some("env"), None, None) => SecretSource::Env(id.clone().ok_or("missing id=")?),
            (Some("file"), None, None) => {
                SecretSource::File(PathBuf::from(id.clone().ok_or("missing id=")?))
            }
            // buildx: `id=X` alone reads $X when it is set, else the file X.
            (None, None, None) => {
                let id = id.clone().ok_or("missing id=")?;
                if std::env::var_os(&id).is_some() {
                    SecretSource::Env(id)
                } else {
                    SecretSource::File(PathBuf::from(id))
                }
            }
            (Some(other), _, _) => {
                return Err(format!(
                    "unknown secret type {other:?} (expected file or env)"
                ));
            }
        };
        let id = match (id, &source) {
            (Some(id), _) => id,
            (None, SecretSource::Env(var)) => var.clone(),
            (None, SecretSource::File(path)) => path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .ok_or("missing id=")?,
        };
        if id.is_empty() {
            return Err("id= must not be empty".to_owned());
        }
        Ok(Self { id, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_reads_file_and_env_forms() {
        let file: SecretSpec = "id=npmrc,src=/home/u/.npmrc".parse().unwrap();
        assert_eq!(file.id, "npmrc");
        assert_eq!(file.source, SecretSource::File("/home/u/.npmrc".into()));
        let env: SecretSpec = "id=token,env=GH_TOKEN".parse().unwrap();
        assert_eq!(env.source, SecretSource::Env("GH_TOKEN".into()));
        let typed: SecretSpec = "type=env,id=TOKEN".parse().unwrap();
        assert_eq!(typed.source, SecretSource::Env("TOKEN".into()));
        let implied: SecretSpec = "src=./key.pem".parse().unwrap();
        assert_eq!(implied.id, "key.pem");
    }

    #[test]
    fn secret_rejects_mistakes() {
        assert!("id=a,src=x,env=Y".parse::<SecretSpec>().is_err());
        assert!("id=a,type=vault".parse::<SecretSpec>().is_err());
        assert!("id=a,path=x".parse::<SecretSpec>().is_err());
        assert!("id=,src=x".parse::<SecretSpec>().is_err());
    }
}
