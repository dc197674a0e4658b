//! COPY and ADD → a `File` vertex copying from the context, another stage,
//! an image or a URL into the stage; heredoc files become `Mkfile` actions;
//! `--link` copies onto scratch and merges the result on top.

use std::collections::BTreeMap;

use super::{NamedContext, StageBuild, file_source_vertex, parse_owner, scratch};
use crate::frontend::lower::{Chmod, CopyStep};
use crate::graph::{
    CopyAction, FileAction, FileOp, Graph, MergeOp, Mode, Op, Origin, Platform, SourceOp, Vertex,
    VertexId,
};

fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

fn has_wildcard(source: &str) -> bool {
    source.contains(['*', '?', '['])
}

/// The last path component of a URL, as ADD names a downloaded file.
fn url_filename(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or(url);
    let after_scheme = without_query
        .split_once("://")
        .map_or(without_query, |(_, rest)| rest);
    let path = after_scheme.split_once('/').map_or("", |(_, path)| path);
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|name| !name.is_empty() && !name.contains(':'))
        .unwrap_or("index.html")
        .to_owned()
}

#[expect(
    clippy::too_many_arguments,
    reason = "the conversion state of one stage"
)]
pub(super) fn convert_copy(
    graph: &mut Graph,
    stages: &[Option<StageBuild>],
    current: VertexId,
    copy: &CopyStep,
    is_add: bool,
    platform: &Platform,
    origin: Origin,
    named: &BTreeMap<String, NamedContext>,
) -> VertexId {
    let source_vertex =
        |graph: &mut Graph| file_source_vertex(graph, stages, copy.from.as_ref(), platform, named);
    let owner = copy.chown.as_deref().map(parse_owner);
    let mode = copy.chmod.as_ref().map(|chmod| match chmod {
        Chmod::Octal(bits) => Mode::Octal(*bits),
        Chmod::Symbolic(text) => Mode::Symbolic(text.clone()),
    });
    let mut inputs = vec![if copy.link { scratch(graph) } else { current }];
    let mut actions = Vec::new();
    let local: Vec<String> = copy
        .sources
        .iter()
        .filter(|s| !(is_add && is_url(s)))
        .cloned()
        .collect();
    if !local.is_empty() {
        inputs.push(source_vertex(graph));
        actions.push(FileAction::Copy(CopyAction {
            source_input: inputs.len() - 1,
            allow_empty_wildcard: local.iter().all(|source| has_wildcard(source)),
            sources: local,
            dest: copy.dest_path.clone(),
            owner: owner.clone(),
            mode: mode.clone(),
            parents: copy.parents,
            exclude: copy.exclude.clone(),
            unpack_archives: is_add && copy.from.is_none() && copy.unpack != Some(false),
        }));
    }
    for url in copy.sources.iter().filter(|s| is_add && is_url(s)) {
        let filename = url_filename(url);
        inputs.push(graph.add(Vertex {
            op: Op::Source(SourceOp::Http {
                url: url.clone(),
                checksum: copy.checksum.as_deref().and_then(|c| c.parse().ok()),
                filename: Some(filename.clone()),
            }),
            inputs: Vec::new(),
            origin: Origin {
                name: format!("[internal] download {url}"),
                lines: origin.lines,
            },
        }));
        actions.push(FileAction::Copy(CopyAction {
            source_input: inputs.len() - 1,
            sources: vec![format!("/{filename}")],
            dest: copy.dest_path.clone(),
            owner: owner.clone(),
            mode: mode.clone(),
            parents: false,
            exclude: Vec::new(),
            unpack_archives: copy.unpack == Some(true),
            allow_empty_wildcard: false,
        }));
    }
    for file in &copy.inline {
        let path = if copy.dest_path.ends_with('/') {
            format!("{}{}", copy.dest_path, file.name)
        } else {
            copy.dest_path.clone()
        };
        let bits = match &mode {
            Some(Mode::Octal(bits)) => *bits,
            _ => 0o644,
        };
        actions.push(FileAction::Mkfile {
            path,
            mode: bits,
            owner: owner.clone(),
            data: file.data.clone().into_bytes(),
        });
    }
    let lines = origin.lines;
    let link_name = format!("{} (link)", origin.name);
    let copied = graph.add(Vertex {
        op: Op::File(FileOp { actions }),
        inputs,
        origin,
    });
    if !copy.link {
        return copied;
    }
    graph.add(Vertex {
        op: Op::Merge(MergeOp {}),
        inputs: vec![current, copied],
        origin: Origin {
            name: link_name,
            lines,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_filename_takes_the_last_component() {
        assert_eq!(
            url_filename("https://example.com/a/b.tar.gz?x=1"),
            "b.tar.gz"
        );
        assert_eq!(url_filename("https://example.com/"), "index.html");
    }
}
