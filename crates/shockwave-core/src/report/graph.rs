//! Renders the service graph as Graphviz dot, Mermaid or JSON, optionally restricted to a subset.

use serde::Serialize;

use super::output::Seq;

use crate::config::{ServiceId, Workspace};
use crate::graph::EdgeKind;

/// Which services to draw and which of them to highlight as affected.
pub struct GraphView<'a> {
    pub ws: &'a Workspace,
    /// `None`: all services. `Some(set)`: only these (indexed by id).
    pub only: Option<&'a [bool]>,
    /// Highlight these (indexed by id) when known.
    pub affected: Option<&'a [bool]>,
}

impl GraphView<'_> {
    fn shown(&self, id: ServiceId) -> bool {
        self.only.is_none_or(|o| o[id.index()])
    }

    fn is_affected(&self, id: ServiceId) -> bool {
        self.affected.is_some_and(|a| a[id.index()])
    }

    /// Shown edges; a dev-only edge (the dependent's tests use the dependency) is drawn dashed.
    fn edges(&self) -> Vec<(ServiceId, ServiceId, EdgeKind)> {
        let mut e: Vec<_> = self
            .ws
            .graph()
            .edges()
            .filter(|&(a, b, _)| self.shown(a) && self.shown(b))
            .collect();
        e.sort_unstable();
        e
    }

    pub fn dot(&self) -> String {
        let mut out = String::from("digraph services {\n  rankdir=LR;\n  node [shape=box];\n");
        for (id, s) in self.ws.services_by_id() {
            if self.shown(id) {
                let attrs = if self.is_affected(id) {
                    " [style=filled, fillcolor=\"#ffd7a8\"]"
                } else {
                    ""
                };
                out.push_str(&format!("  {}{attrs};\n", quote(&s.name)));
            }
        }
        for (a, b, kind) in self.edges() {
            out.push_str(&format!(
                "  {} -> {}{};\n",
                quote(&self.ws.service(a).name),
                quote(&self.ws.service(b).name),
                if kind == EdgeKind::Dev {
                    " [style=dashed]"
                } else {
                    ""
                }
            ));
        }
        out.push_str("}\n");
        out
    }

    pub fn mermaid(&self) -> String {
        let mut out = String::from("graph LR\n");
        for (id, s) in self.ws.services_by_id() {
            if self.shown(id) {
                out.push_str(&format!(
                    "  s{}[\"{}\"]\n",
                    id.index(),
                    s.name.replace('"', "#quot;")
                ));
            }
        }
        for (a, b, kind) in self.edges() {
            let arrow = if kind == EdgeKind::Dev { "-.->" } else { "-->" };
            out.push_str(&format!("  s{} {arrow} s{}\n", a.index(), b.index()));
        }
        let hot: Vec<String> = self
            .ws
            .service_ids()
            .filter(|&i| self.shown(i) && self.is_affected(i))
            .map(|i| format!("s{}", i.index()))
            .collect();
        if !hot.is_empty() {
            out.push_str("  classDef affected fill:#ffd7a8,stroke:#c60\n");
            out.push_str(&format!("  class {} affected\n", hot.join(",")));
        }
        out
    }

    /// The graph as JSON (schema 1), streamed by [`Stdout::json`](super::output::Stdout::json).
    pub fn json(&self) -> impl Serialize + '_ {
        GraphJson {
            schema: 1,
            services: Seq(move || {
                self.ws
                    .services_by_id()
                    .filter(move |&(id, _)| self.shown(id))
                    .map(move |(id, s)| GraphServiceJson {
                        affected: self.affected.map(|_| self.is_affected(id)),
                        dependents: self.names(self.ws.graph().dependents_of(id)),
                        deps: self.names(&s.deps),
                        dev_deps: (!s.dev_deps.is_empty()).then(|| self.names(&s.dev_deps)),
                        name: &s.name,
                        paths: &s.paths,
                        root: &s.root,
                        targets: Seq(move || s.targets.keys()),
                    })
            }),
        }
    }

    /// The names of the shown services of `ids`, as a JSON array.
    fn names<'s>(&'s self, ids: &'s [ServiceId]) -> impl Serialize + 's {
        Seq(move || {
            ids.iter()
                .filter(move |&&d| self.shown(d))
                .map(move |&d| self.ws.service(d).name.as_str())
        })
    }
}

/// `graph --format json`. Fields in alphabetical order here and below, because serde writes them
/// in declaration order and earlier versions wrote sorted keys: the output keeps its bytes.
#[derive(Serialize)]
struct GraphJson<S> {
    schema: u32,
    /// [`GraphServiceJson`]s of the shown services, in the config's order.
    services: S,
}

/// One shown service; the lists of services name only shown ones.
#[derive(Serialize)]
struct GraphServiceJson<'v, N, T> {
    /// Present when a range was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    affected: Option<bool>,
    dependents: N,
    deps: N,
    /// Present when the service has dev-only dependencies (shown or not).
    #[serde(skip_serializing_if = "Option::is_none")]
    dev_deps: Option<N>,
    name: &'v str,
    paths: &'v [String],
    root: &'v str,
    /// Its target names, sorted.
    targets: T,
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
