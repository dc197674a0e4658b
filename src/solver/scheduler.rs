//! Parallel scheduling of a graph's vertices. A vertex becomes ready when
//! all its inputs are done; ready vertices run on rayon's pool, so independent
//! stages and independent copies run at the same time. Each vertex runs at
//! most once (the graph already merged identical ones). After the first
//! failure nothing new starts; running vertices finish and are discarded.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::graph::{Graph, VertexId};

/// Runs one vertex given its inputs' results (in input order).
pub trait Executor: Sync {
    type Output: Clone + Send + Sync;
    type Error: Send;

    fn execute(&self, id: VertexId, inputs: Vec<Self::Output>)
    -> Result<Self::Output, Self::Error>;
}

/// The first vertex that failed, and why.
#[derive(Debug)]
pub struct SolveError<E> {
    pub vertex: VertexId,
    pub error: E,
}

struct State<'a, E: Executor> {
    graph: &'a Graph,
    executor: &'a E,
    results: Vec<OnceLock<E::Output>>,
    /// Inputs not yet done, per vertex.
    pending: Vec<AtomicUsize>,
    /// Vertices in the closure that use each vertex.
    dependents: Vec<Vec<VertexId>>,
    cancelled: AtomicBool,
    failure: Mutex<Option<SolveError<E::Error>>>,
}

/// Solves `targets` and returns their results in the same order.
pub fn solve<E: Executor>(
    graph: &Graph,
    targets: &[VertexId],
    executor: &E,
) -> Result<Vec<E::Output>, SolveError<E::Error>> {
    let mut needed = vec![false; graph.len()];
    for target in targets {
        for id in graph.closure(*target) {
            needed[id.0] = true;
        }
    }
    let mut dependents = vec![Vec::new(); graph.len()];
    let mut pending = Vec::with_capacity(graph.len());
    for (index, &is_needed) in needed.iter().enumerate() {
        let mut inputs = graph.vertex(VertexId(index)).inputs.clone();
        inputs.sort_unstable();
        inputs.dedup();
        if is_needed {
            for input in &inputs {
                dependents[input.0].push(VertexId(index));
            }
        }
        pending.push(AtomicUsize::new(inputs.len()));
    }
    let state = State {
        graph,
        executor,
        results: (0..graph.len()).map(|_| OnceLock::new()).collect(),
        pending,
        dependents,
        cancelled: AtomicBool::new(false),
        failure: Mutex::new(None),
    };
    rayon::scope(|scope| {
        for (index, &is_needed) in needed.iter().enumerate() {
            if is_needed && state.pending[index].load(Ordering::Acquire) == 0 {
                spawn(scope, &state, VertexId(index));
            }
        }
    });
    if let Some(failure) = state
        .failure
        .into_inner()
        .expect("no task panicked holding the lock")
    {
        return Err(failure);
    }
    Ok(targets
        .iter()
        .map(|target| {
            state.results[target.0]
                .get()
                .expect("every needed vertex ran when nothing failed")
                .clone()
        })
        .collect())
}

fn spawn<'scope, E: Executor>(
    scope: &rayon::Scope<'scope>,
    state: &'scope State<'scope, E>,
    id: VertexId,
) {
    scope.spawn(move |scope| {
        if state.cancelled.load(Ordering::Acquire) {
            return;
        }
        let inputs = state
            .graph
            .vertex(id)
            .inputs
            .iter()
            .map(|input| {
                state.results[input.0]
                    .get()
                    .expect("inputs finish before their users start")
                    .clone()
            })
            .collect();
        match state.executor.execute(id, inputs) {
            Ok(output) => {
                let _ = state.results[id.0].set(output);
                for &dependent in &state.dependents[id.0] {
                    if state.pending[dependent.0].fetch_sub(1, Ordering::AcqRel) == 1 {
                        spawn(scope, state, dependent);
                    }
                }
            }
            Err(error) => {
                state.cancelled.store(true, Ordering::Release);
                let mut failure = state
                    .failure
                    .lock()
                    .expect("no task panicked holding the lock");
                failure.get_or_insert(SolveError { vertex: id, error });
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::graph::{MergeOp, Op, Origin, Platform, SourceOp, Vertex};

    fn source(graph: &mut Graph, name: &str) -> VertexId {
        graph.add(Vertex {
            op: Op::Source(SourceOp::Image {
                reference: name.to_owned(),
                platform: Platform::host(),
            }),
            inputs: Vec::new(),
            origin: Origin::default(),
        })
    }

    fn merge(graph: &mut Graph, inputs: Vec<VertexId>) -> VertexId {
        graph.add(Vertex {
            op: Op::Merge(MergeOp {}),
            inputs,
            origin: Origin::default(),
        })
    }

    /// Concatenates input results; sleeps; records what ran.
    struct Recorder {
        ran: Mutex<Vec<VertexId>>,
        fail: Option<VertexId>,
        sleep: Duration,
    }

    impl Executor for Recorder {
        type Output = String;
        type Error = String;

        fn execute(&self, id: VertexId, inputs: Vec<String>) -> Result<String, String> {
            std::thread::sleep(self.sleep);
            self.ran.lock().unwrap().push(id);
            if self.fail == Some(id) {
                return Err(format!("vertex {} failed", id.0));
            }
            Ok(format!("{}({})", id.0, inputs.join(",")))
        }
    }

    fn recorder(fail: Option<VertexId>, sleep: Duration) -> Recorder {
        Recorder {
            ran: Mutex::new(Vec::new()),
            fail,
            sleep,
        }
    }

    #[test]
    fn results_follow_inputs_and_unused_vertices_never_run() {
        let mut graph = Graph::new();
        let a = source(&mut graph, "a");
        let b = source(&mut graph, "b");
        let unused = source(&mut graph, "unused");
        let ab = merge(&mut graph, vec![a, b, a]);
        let executor = recorder(None, Duration::ZERO);
        let results = solve(&graph, &[ab], &executor).unwrap();
        assert_eq!(results, ["3(0(),1(),0())"]);
        let ran = executor.ran.lock().unwrap();
        assert_eq!(ran.len(), 3, "each vertex once: {ran:?}");
        assert!(!ran.contains(&unused));
    }

    #[test]
    fn independent_vertices_run_concurrently() {
        let mut graph = Graph::new();
        let sources: Vec<VertexId> = (0..4).map(|i| source(&mut graph, &i.to_string())).collect();
        let all = merge(&mut graph, sources);
        let executor = recorder(None, Duration::from_millis(200));
        let started = Instant::now();
        solve(&graph, &[all], &executor).unwrap();
        // Serially this is 5 × 200 ms; with at least two threads the four sources overlap.
        assert!(
            rayon::current_num_threads() < 2 || started.elapsed() < Duration::from_millis(900),
            "took {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_failure_cancels_what_depends_on_it() {
        let mut graph = Graph::new();
        let a = source(&mut graph, "a");
        let b = merge(&mut graph, vec![a]);
        let c = merge(&mut graph, vec![b, a]);
        let executor = recorder(Some(b), Duration::ZERO);
        let error = solve(&graph, &[c], &executor).unwrap_err();
        assert_eq!(error.vertex, b);
        assert_eq!(error.error, "vertex 1 failed");
        assert!(!executor.ran.lock().unwrap().contains(&c));
    }
}
