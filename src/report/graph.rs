//! Renders the service graph as Graphviz dot, Mermaid or JSON, optionally restricted to a subset.

use serde_json::json;

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

    pub fn json(&self) -> serde_json::Value {
        let services: Vec<_> = self
            .ws
            .services_by_id()
            .filter(|&(id, _)| self.shown(id))
            .map(|(id, s)| {
                let mut v = json!({
                    "name": s.name,
                    "root": s.root,
                    "deps": s.deps.iter().filter(|&&d| self.shown(d)).map(|&d| &self.ws.service(d).name).collect::<Vec<_>>(),
                    "dependents": self.ws.graph().dependents_of(id).iter().filter(|&&d| self.shown(d)).map(|&d| &self.ws.service(d).name).collect::<Vec<_>>(),
                    "paths": s.paths,
                    "targets": s.targets.keys().collect::<Vec<_>>(),
                });
                if !s.dev_deps.is_empty() {
                    v["dev_deps"] = json!(s.dev_deps.iter().filter(|&&d| self.shown(d)).map(|&d| &self.ws.service(d).name).collect::<Vec<_>>());
                }
                if self.affected.is_some() {
                    v["affected"] = json!(self.is_affected(id));
                }
                v
            })
            .collect();
        json!({ "schema": 1, "services": services })
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
