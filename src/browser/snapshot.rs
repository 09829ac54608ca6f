//! Accessibility snapshots for `GET /snapshot`: render CDP's `Accessibility.getFullAXTree`
//! into the text dialect agents read (`- role "name" [attrs] [ref=eN]`, two spaces per level)
//! and keep the per-tab ref table `POST /act` resolves against.
//!
//! Refs are bound to DOM nodes (`backendDOMNodeId`), so resolving one never waits: a ref that is
//! not in the table fails with `Unknown ref …`, a ref whose node left the document fails with
//! `Element … not found or not visible …`, both at once (the official host waits 8–20 s for a
//! stale Playwright ref). Numbering is stable per document: an unchanged element keeps its
//! `eN` across snapshots; a main-frame navigation clears the table.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

/// Roles that count as interactive (`interactive=true`, `stats.interactive`).
pub const INTERACTIVE_ROLES: [&str; 19] = [
    "button",
    "checkbox",
    "combobox",
    "link",
    "listbox",
    "menuitem",
    "menuitemcheckbox",
    "menuitemradio",
    "option",
    "radio",
    "searchbox",
    "slider",
    "spinbutton",
    "switch",
    "tab",
    "textbox",
    "treeitem",
    "textfield",
    "PopUpButton",
];

/// Unnamed structural roles dropped by `compact=true` (their children move up).
const STRUCTURAL_ROLES: [&str; 12] = [
    "generic",
    "group",
    "list",
    "none",
    "presentation",
    "row",
    "rowgroup",
    "table",
    "section",
    "Section",
    "LayoutTable",
    "LayoutTableRow",
];

/// Roles never shown as their own line.
const TRANSPARENT_ROLES: [&str; 4] = ["none", "LineBreak", "InlineTextBox", "ListMarker"];

/// Options of one capture (after query parsing).
#[derive(Debug, Clone, Default)]
pub struct SnapshotOptions {
    pub interactive: bool,
    pub compact: bool,
    pub depth: Option<usize>,
    /// `0` = unlimited.
    pub max_chars: usize,
}

/// A ref's binding.
#[derive(Debug, Clone, PartialEq)]
pub struct RefEntry {
    pub backend_node_id: i64,
    pub role: String,
    pub name: String,
}

/// The per-tab ref table.
#[derive(Debug, Default)]
pub struct RefTable {
    /// Stable numbering for the current document.
    numbers: HashMap<i64, u32>,
    next: u32,
    /// Refs issued by the latest snapshot.
    pub refs: HashMap<String, RefEntry>,
}

impl RefTable {
    /// Forget everything (main-frame navigation, tab closed, browser stopped).
    pub fn clear(&mut self) {
        self.numbers.clear();
        self.next = 0;
        self.refs.clear();
    }

    fn number_for(&mut self, backend: i64) -> u32 {
        if let Some(n) = self.numbers.get(&backend) {
            return *n;
        }
        self.next += 1;
        self.numbers.insert(backend, self.next);
        self.next
    }

    /// Look up `e5`, `@e5`, `ref=e5`, `ax7`.
    pub fn resolve(&self, raw: &str) -> Option<&RefEntry> {
        self.refs.get(normalize_ref(raw))
    }
}

/// Strip the accepted ref spellings (`@e5`, `ref=e5`) down to `e5`.
pub fn normalize_ref(raw: &str) -> &str {
    let r = raw.trim();
    let r = r.strip_prefix("ref=").unwrap_or(r);
    r.strip_prefix('@').unwrap_or(r)
}

#[derive(Debug, Clone)]
struct Node {
    role: String,
    name: String,
    value: Option<String>,
    props: Vec<(String, Value)>,
    children: Vec<String>,
    backend: Option<i64>,
    ignored: bool,
}

fn parse_nodes(nodes: &[Value]) -> (Option<String>, HashMap<String, Node>) {
    let mut map = HashMap::new();
    let mut root = None;
    for n in nodes {
        let Some(id) = n.get("nodeId").and_then(Value::as_str) else {
            continue;
        };
        let text = |k: &str| {
            n.get(k)
                .and_then(|v| v.get("value"))
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .unwrap_or_default()
        };
        let props = n
            .get("properties")
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| {
                        Some((
                            p.get("name")?.as_str()?.to_string(),
                            p.get("value")?.get("value").cloned().unwrap_or(Value::Null),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if root.is_none() && n.get("parentId").is_none() {
            root = Some(id.to_string());
        }
        let value = text("value");
        map.insert(
            id.to_string(),
            Node {
                role: text("role"),
                name: collapse_ws(&text("name")),
                value: (!value.is_empty()).then_some(value),
                props,
                children: n
                    .get("childIds")
                    .and_then(Value::as_array)
                    .map(|c| {
                        c.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                backend: n.get("backendDOMNodeId").and_then(Value::as_i64),
                ignored: n.get("ignored").and_then(Value::as_bool).unwrap_or(false),
            },
        );
    }
    if root.is_none() {
        root = nodes
            .first()
            .and_then(|n| n.get("nodeId"))
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    (root, map)
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn quote(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

#[derive(Debug)]
struct Out {
    line: String,
    ref_id: Option<String>,
    is_text: bool,
    children: Vec<Out>,
}

struct Renderer<'a> {
    nodes: &'a HashMap<String, Node>,
    opts: &'a SnapshotOptions,
    table: &'a mut RefTable,
    entries: HashMap<String, RefEntry>,
    too_deep: bool,
    /// Nodes already rendered: each node is shown at most once, so a malformed tree (cycles,
    /// shared children) cannot make the walk loop or grow exponentially.
    seen: HashSet<String>,
}

impl Renderer<'_> {
    fn render(&mut self, id: &str, depth: usize, parent_name: &str, guard: usize) -> Vec<Out> {
        let Some(node) = self.nodes.get(id) else {
            return Vec::new();
        };
        if guard > 100 {
            self.too_deep = true;
            return Vec::new();
        }
        if !self.seen.insert(id.to_string()) {
            return Vec::new();
        }
        let children_of = |r: &mut Self, d: usize, pname: &str| -> Vec<Out> {
            node.children
                .iter()
                .flat_map(|c| r.render(c, d, pname, guard + 1))
                .collect()
        };
        let role = node.role.as_str();
        if node.ignored || role == "RootWebArea" || TRANSPARENT_ROLES.contains(&role) {
            if role == "InlineTextBox" {
                return Vec::new();
            }
            return children_of(self, depth, parent_name);
        }
        if role == "StaticText" {
            if self.opts.interactive || node.name.is_empty() || node.name == parent_name {
                return Vec::new();
            }
            return vec![Out {
                line: format!("text: {}", node.name),
                ref_id: None,
                is_text: true,
                children: Vec::new(),
            }];
        }
        let interactive = INTERACTIVE_ROLES.contains(&role);
        let structural_unnamed =
            node.name.is_empty() && (STRUCTURAL_ROLES.contains(&role) || (role == "generic"));
        let shown = if self.opts.interactive {
            interactive
        } else {
            !(structural_unnamed && (self.opts.compact || role == "generic"))
        };
        if !shown {
            return children_of(self, depth, parent_name);
        }
        if let Some(max) = self.opts.depth
            && depth >= max
        {
            return Vec::new();
        }
        let ref_id = node
            .backend
            .map(|b| format!("e{}", self.table.number_for(b)));
        let mut line = role.to_string();
        if !node.name.is_empty() {
            line.push(' ');
            line.push_str(&quote(&node.name));
        }
        line.push_str(&attrs(node));
        if let Some(r) = &ref_id {
            line.push_str(&format!(" [ref={r}]"));
            if let Some(b) = node.backend {
                self.entries.insert(
                    r.clone(),
                    RefEntry {
                        backend_node_id: b,
                        role: role.to_string(),
                        name: node.name.clone(),
                    },
                );
            }
        }
        let child_depth = if self.opts.interactive {
            depth
        } else {
            depth + 1
        };
        let mut children = children_of(self, child_depth, &node.name);
        if let Some(v) = node.value.as_deref().filter(|v| !v.is_empty()) {
            line.push_str(&format!(" value={}", quote(v)));
        } else if children.len() == 1 && children[0].is_text && children[0].children.is_empty() {
            let text = children.remove(0);
            line.push_str(": ");
            line.push_str(text.line.trim_start_matches("text: "));
        }
        let mut out = vec![Out {
            line,
            ref_id,
            is_text: false,
            children: Vec::new(),
        }];
        if self.opts.interactive {
            out.extend(children);
        } else {
            out[0].children = children;
        }
        out
    }
}

fn attrs(node: &Node) -> String {
    let mut s = String::new();
    for (k, v) in &node.props {
        match (k.as_str(), v) {
            ("level", Value::Number(n)) => s.push_str(&format!(" [level={n}]")),
            ("checked", Value::String(m)) if m == "mixed" => s.push_str(" [checked=mixed]"),
            ("checked", Value::String(t)) if t == "true" => s.push_str(" [checked]"),
            ("checked" | "disabled" | "expanded" | "pressed" | "selected", Value::Bool(true)) => {
                s.push_str(&format!(" [{k}]"))
            }
            ("focused", Value::Bool(true)) => s.push_str(" [active]"),
            _ => {}
        }
    }
    s
}

/// The result of one ai-format capture.
#[derive(Debug)]
pub struct Rendered {
    pub snapshot: String,
    pub refs: Map<String, Value>,
    pub lines: usize,
    pub interactive: usize,
    pub truncated: bool,
}

/// Render an ai-format snapshot and replace the table's current refs with the ones shown.
pub fn render_ai(nodes: &[Value], opts: &SnapshotOptions, table: &mut RefTable) -> Rendered {
    let (root, map) = parse_nodes(nodes);
    let mut r = Renderer {
        nodes: &map,
        opts,
        table,
        entries: HashMap::new(),
        too_deep: false,
        seen: HashSet::new(),
    };
    let outs = match root.as_deref() {
        Some(id) => r.render(id, 0, "", 0),
        None => Vec::new(),
    };
    let entries = std::mem::take(&mut r.entries);
    let too_deep = r.too_deep;
    let mut flat: Vec<(String, Option<String>)> = Vec::new();
    fn flatten(outs: &[Out], depth: usize, flat: &mut Vec<(String, Option<String>)>) {
        for o in outs {
            let colon = if o.children.is_empty() { "" } else { ":" };
            flat.push((
                format!("{}- {}{}", "  ".repeat(depth), o.line, colon),
                o.ref_id.clone(),
            ));
            flatten(&o.children, depth + 1, flat);
        }
    }
    flatten(&outs, 0, &mut flat);

    let mut text = String::new();
    let mut kept: Vec<Option<String>> = Vec::new();
    let mut truncated = false;
    for (line, ref_id) in &flat {
        let extra = line.len() + usize::from(!text.is_empty());
        if opts.max_chars > 0 && text.len() + extra > opts.max_chars {
            truncated = true;
            break;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(line);
        kept.push(ref_id.clone());
    }
    if truncated {
        text.push_str(if opts.max_chars < 31 {
            "…"
        } else {
            "\n\n[...TRUNCATED - page too large]"
        });
    } else if too_deep {
        text.push_str("\n[...TRUNCATED - accessibility tree too deep]");
    }
    if text.is_empty() && opts.interactive && !map.is_empty() {
        text = "(no interactive elements)".to_string();
    }
    let mut refs = Map::new();
    let mut interactive = 0;
    table.refs.clear();
    for id in kept.into_iter().flatten() {
        if let Some(e) = entries.get(&id) {
            if INTERACTIVE_ROLES.contains(&e.role.as_str()) {
                interactive += 1;
            }
            let mut v = json!({"role": e.role});
            if !e.name.is_empty() {
                v["name"] = Value::String(e.name.clone());
            }
            refs.insert(id.clone(), v);
            table.refs.insert(id, e.clone());
        }
    }
    Rendered {
        lines: if text.is_empty() {
            0
        } else {
            text.lines().count()
        },
        snapshot: text,
        refs,
        interactive,
        truncated,
    }
}

/// `format=aria`: the AX tree in pre-order as `{ref:"axN", role, name, value?, backendDOMNodeId?,
/// depth}`; the table is replaced by the `axN` refs.
pub fn render_aria(nodes: &[Value], limit: usize, table: &mut RefTable) -> Vec<Value> {
    let (root, map) = parse_nodes(nodes);
    let mut out = Vec::new();
    table.refs.clear();
    let mut stack: Vec<(String, usize)> = root.into_iter().map(|r| (r, 0)).collect();
    // Each node at most once (a malformed tree with cycles must not loop forever).
    let mut seen: HashSet<String> = HashSet::new();
    while let Some((id, depth)) = stack.pop() {
        if out.len() >= limit || depth > 100 {
            break;
        }
        let Some(node) = map.get(&id) else { continue };
        if !seen.insert(id.clone()) {
            continue;
        }
        let child_depth = if node.ignored { depth } else { depth + 1 };
        for c in node.children.iter().rev() {
            stack.push((c.clone(), child_depth));
        }
        if node.ignored || node.role == "InlineTextBox" {
            continue;
        }
        let r = format!("ax{}", out.len() + 1);
        let mut v = json!({"ref": r, "role": node.role, "name": node.name});
        if let Some(val) = &node.value {
            v["value"] = Value::String(val.clone());
        }
        if let Some(b) = node.backend {
            v["backendDOMNodeId"] = json!(b);
            table.refs.insert(
                r.clone(),
                RefEntry {
                    backend_node_id: b,
                    role: node.role.clone(),
                    name: node.name.clone(),
                },
            );
        }
        v["depth"] = json!(depth);
        out.push(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ax(id: &str, role: &str, name: &str, parent: Option<&str>, kids: &[&str], b: i64) -> Value {
        let mut v = json!({"nodeId": id, "ignored": false, "role": {"type":"role","value": role},
            "name": {"type":"computedString","value": name}, "childIds": kids, "backendDOMNodeId": b});
        if let Some(p) = parent {
            v["parentId"] = json!(p);
        }
        v
    }

    fn page() -> Vec<Value> {
        vec![
            ax("1", "RootWebArea", "Test", None, &["2", "3", "5"], 1),
            ax("2", "heading", "Hello Proxy", Some("1"), &["6"], 10),
            ax("3", "paragraph", "", Some("1"), &["4"], 11),
            ax("4", "StaticText", "Some text", Some("3"), &[], 12),
            ax("5", "button", "Click me", Some("1"), &["7"], 13),
            ax("6", "StaticText", "Hello Proxy", Some("2"), &[], 14),
            ax("7", "StaticText", "Click me", Some("5"), &[], 15),
        ]
    }

    #[test]
    fn ai_snapshot_has_text_and_refs() {
        let mut t = RefTable::default();
        let r = render_ai(&page(), &SnapshotOptions::default(), &mut t);
        assert_eq!(
            r.snapshot,
            "- heading \"Hello Proxy\" [ref=e1]\n- paragraph [ref=e2]: Some text\n- button \"Click me\" [ref=e3]"
        );
        assert_eq!(r.refs["e3"], json!({"role":"button","name":"Click me"}));
        assert_eq!(r.interactive, 1);
        assert_eq!(t.resolve("@e3").map(|e| e.backend_node_id), Some(13));
        assert_eq!(t.resolve("ref=e1").map(|e| e.backend_node_id), Some(10));
    }

    #[test]
    fn refs_are_stable_across_snapshots_and_cleared_by_navigation() {
        let mut t = RefTable::default();
        render_ai(&page(), &SnapshotOptions::default(), &mut t);
        let mut nodes = page();
        nodes[1]["name"]["value"] = json!("Clicked!");
        nodes[1]["backendDOMNodeId"] = json!(99);
        let r = render_ai(&nodes, &SnapshotOptions::default(), &mut t);
        assert!(
            r.snapshot.contains("button \"Click me\" [ref=e3]"),
            "{}",
            r.snapshot
        );
        assert!(
            r.snapshot.contains("heading \"Clicked!\" [ref=e4]"),
            "{}",
            r.snapshot
        );
        assert!(
            t.resolve("e1").is_none(),
            "removed element's ref must be unknown"
        );
        t.clear();
        assert!(t.resolve("e3").is_none());
    }

    #[test]
    fn interactive_only_lists_interactive_roles() {
        let mut t = RefTable::default();
        let opts = SnapshotOptions {
            interactive: true,
            ..Default::default()
        };
        let r = render_ai(&page(), &opts, &mut t);
        assert_eq!(r.snapshot, "- button \"Click me\" [ref=e1]");
    }

    #[test]
    fn max_chars_truncates_at_a_line_boundary() {
        let mut t = RefTable::default();
        let opts = SnapshotOptions {
            max_chars: 40,
            ..Default::default()
        };
        let r = render_ai(&page(), &opts, &mut t);
        assert!(r.truncated);
        assert!(
            r.snapshot
                .starts_with("- heading \"Hello Proxy\" [ref=e1]\n\n[...TRUNCATED")
        );
        assert_eq!(r.refs.len(), 1);
        assert!(
            t.resolve("e3").is_none(),
            "refs beyond the cut are not issued"
        );
    }

    #[test]
    fn aria_format_is_preorder_with_ax_refs() {
        let mut t = RefTable::default();
        let nodes = render_aria(&page(), 500, &mut t);
        assert_eq!(nodes[0]["ref"], "ax1");
        assert_eq!(nodes[0]["role"], "RootWebArea");
        assert_eq!(nodes[1]["role"], "heading");
        assert_eq!(nodes[1]["depth"], 1);
        assert!(t.resolve("ax1").is_some());
        let limited = render_aria(&page(), 2, &mut t);
        assert_eq!(limited.len(), 2);
    }
}
