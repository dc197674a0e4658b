//! The build graph: vertices (an op and its inputs) in a DAG, each named by
//! its definition digest = sha256 of the op's canonical JSON and its inputs'
//! digests. Adding a vertex identical to one already present returns the
//! existing one, so identical work runs once.

use std::collections::HashMap;

use serde::Serialize;

use super::{Digest, Op};

/// A vertex's position in its [`Graph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct VertexId(pub usize);

/// Where a vertex came from, for progress names and errors.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Origin {
    /// The progress name, e.g. `[release 2/3] COPY . /src`.
    pub name: String,
    /// First and last Dockerfile line (1-based), when it came from one.
    pub lines: Option<(usize, usize)>,
}

/// One node of the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vertex {
    pub op: Op,
    pub inputs: Vec<VertexId>,
    /// Not part of the digest: the same work from two lines is one vertex.
    pub origin: Origin,
}

/// A DAG of vertices; inputs always precede the vertices that use them.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    vertices: Vec<Vertex>,
    digests: Vec<Digest>,
    by_digest: HashMap<Digest, VertexId>,
}

#[derive(Serialize)]
struct Definition<'a> {
    op: &'a Op,
    inputs: Vec<Digest>,
}

impl Graph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `vertex` and returns its id; an identical vertex already present
    /// is returned instead (its first origin is kept).
    pub fn add(&mut self, vertex: Vertex) -> VertexId {
        let digest = self.definition_digest(&vertex.op, &vertex.inputs);
        if let Some(&existing) = self.by_digest.get(&digest) {
            return existing;
        }
        let id = VertexId(self.vertices.len());
        self.vertices.push(vertex);
        self.digests.push(digest);
        self.by_digest.insert(digest, id);
        id
    }

    fn definition_digest(&self, op: &Op, inputs: &[VertexId]) -> Digest {
        let definition = Definition {
            op,
            inputs: inputs.iter().map(|input| self.digests[input.0]).collect(),
        };
        let json = serde_json::to_vec(&definition).expect("ops serialize to JSON");
        Digest::of(&json)
    }

    pub fn vertex(&self, id: VertexId) -> &Vertex {
        &self.vertices[id.0]
    }

    /// The definition digest of `id`.
    pub fn digest(&self, id: VertexId) -> Digest {
        self.digests[id.0]
    }

    pub fn len(&self) -> usize {
        self.vertices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vertices.is_empty()
    }

    /// Every vertex `target` depends on, itself included, inputs first.
    pub fn closure(&self, target: VertexId) -> Vec<VertexId> {
        let mut needed = vec![false; self.vertices.len()];
        let mut stack = vec![target];
        while let Some(id) = stack.pop() {
            if !needed[id.0] {
                needed[id.0] = true;
                stack.extend(&self.vertices[id.0].inputs);
            }
        }
        // Inputs always have smaller ids, so id order is a topological order.
        (0..self.vertices.len())
            .filter(|&index| needed[index])
            .map(VertexId)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{Platform, SourceOp};

    fn image(reference: &str) -> Vertex {
        Vertex {
            op: Op::Source(SourceOp::Image {
                reference: reference.to_owned(),
                platform: Platform::host(),
            }),
            inputs: Vec::new(),
            origin: Origin::default(),
        }
    }

    #[test]
    fn identical_vertices_are_one() {
        let mut graph = Graph::new();
        let a = graph.add(image("docker.io/library/busybox:latest"));
        let mut again = image("docker.io/library/busybox:latest");
        again.origin.name = "another line".to_owned();
        assert_eq!(graph.add(again), a);
        let b = graph.add(image("docker.io/library/alpine:latest"));
        assert_ne!(a, b);
        assert_ne!(graph.digest(a), graph.digest(b));
        assert_eq!(graph.len(), 2);
    }

    #[test]
    fn digest_covers_inputs() {
        let mut graph = Graph::new();
        let a = graph.add(image("a"));
        let b = graph.add(image("b"));
        let merge = |inputs| Vertex {
            op: Op::Merge(crate::graph::MergeOp {}),
            inputs,
            origin: Origin::default(),
        };
        let ab = graph.add(merge(vec![a, b]));
        let ba = graph.add(merge(vec![b, a]));
        assert_ne!(graph.digest(ab), graph.digest(ba));
        assert_eq!(graph.closure(ab), vec![a, b, ab]);
        assert_eq!(graph.closure(a), vec![a]);
    }
}
