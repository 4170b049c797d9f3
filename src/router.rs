//! Route table: one matchit tree per HTTP method, answering Found / 404 / 405 (with `Allow`).
//!
//! One tree per method (not one tree with a method table per path) so that `GET /items/me` still
//! reaches `GET /items/{id}` when only `POST /items/me` exists, as Starlette's route list does.

use std::collections::HashMap;

/// The methods a route can be registered for; HEAD is also served by GET routes.
pub const METHODS: [&str; 8] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"];

pub enum RouteMatch {
    /// Route index (registration order) and path parameter values in the order they appear.
    Found {
        route: usize,
        params: Vec<String>,
    },
    /// No route, but one matches with the trailing slash toggled: Starlette redirects there (307).
    RedirectSlash {
        path: String,
    },
    NotFound,
    MethodNotAllowed {
        allow: String,
    },
}

#[derive(Debug)]
pub struct RouteTableError(pub String);

/// A tree entry: the route, and whether this entry is a `{x:path}` route's empty-tail form.
#[derive(Clone, Copy)]
struct Entry {
    route: usize,
    empty_tail: bool,
}

/// Starlette's path convertors restrict what a parameter matches; `str` and `path` match anything.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Convertor {
    Any,
    Int,
    Float,
    Uuid,
}

impl Convertor {
    fn matches(self, value: &str) -> bool {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        match self {
            Convertor::Any => true,
            Convertor::Int => digits(value),
            Convertor::Float => match value.split_once('.') {
                Some((i, f)) => digits(i) && digits(f),
                None => digits(value),
            },
            Convertor::Uuid => {
                let groups: Vec<&str> = value.split('-').collect();
                groups.len() == 5
                    && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| {
                        g.len() == n && g.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                    })
            }
        }
    }
}

pub struct Router {
    by_method: HashMap<&'static str, matchit::Router<Entry>>,
    convertors: Vec<Vec<Convertor>>,
    /// The declared methods of each route, for the `Allow` header of a 405.
    declared: Vec<Vec<String>>,
}

/// A FastAPI path turned into matchit syntax, with the parameter names in order.
pub struct ParsedPath {
    pub pattern: String,
    pub names: Vec<String>,
    /// Ends in a `{x:path}` catch-all, which also matches an empty tail (Starlette's `.*`).
    pub catch_all: bool,
    pub convertors: Vec<Convertor>,
}

/// `/items/{item_id}` -> `/items/{p0}`; `/files/{rest:path}` -> `/files/{*p0}`.
/// Names are made positional so that `/a/{x}` and `/a/{y}` are the same shape to matchit.
pub fn parse_path(path: &str) -> Result<ParsedPath, RouteTableError> {
    if !path.starts_with('/') {
        return Err(RouteTableError(format!("route path {path:?} must start with '/'")));
    }
    let mut pattern = String::with_capacity(path.len());
    let mut names = Vec::new();
    let mut catch_all = false;
    let mut convertors = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        pattern.push_str(&rest[..open]);
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .ok_or_else(|| RouteTableError(format!("route path {path:?} has an unclosed '{{'")))?;
        let inner = &rest[open + 1..close];
        let (name, convertor) = match inner.split_once(':') {
            Some((n, c)) => (n, c),
            None => (inner, "str"),
        };
        let segment_start = pattern.ends_with('/');
        let segment_end = rest[close + 1..].is_empty() || rest[close + 1..].starts_with('/');
        if name.is_empty() || !segment_start || !segment_end {
            return Err(RouteTableError(format!(
                "route path {path:?}: a parameter must be a whole path segment like '/{{name}}'"
            )));
        }
        match convertor {
            "path" => {
                if !rest[close + 1..].is_empty() {
                    return Err(RouteTableError(format!(
                        "route path {path:?}: a '{{{inner}}}' parameter must be the last segment"
                    )));
                }
                pattern.push_str(&format!("{{*p{}}}", names.len()));
                catch_all = true;
            }
            "str" | "int" | "float" | "uuid" => pattern.push_str(&format!("{{p{}}}", names.len())),
            other => return Err(RouteTableError(format!("route path {path:?}: unknown path convertor {other:?}"))),
        }
        convertors.push(match convertor {
            "int" => Convertor::Int,
            "float" => Convertor::Float,
            "uuid" => Convertor::Uuid,
            _ => Convertor::Any,
        });
        names.push(name.to_string());
        rest = &rest[close + 1..];
    }
    pattern.push_str(rest);
    Ok(ParsedPath { pattern, names, catch_all, convertors })
}

impl Router {
    /// Routes are given in registration order; the first route registered for a method and path
    /// shape wins, as in Starlette.
    pub fn new(routes: &[(Vec<String>, String)]) -> Result<Self, RouteTableError> {
        let mut by_method: HashMap<&'static str, matchit::Router<Entry>> = HashMap::new();
        let mut declared = Vec::with_capacity(routes.len());
        let mut convertors = Vec::with_capacity(routes.len());
        // Explicit HEAD routes are inserted before GET routes lend themselves to HEAD.
        let mut head_from_get = Vec::new();
        for (index, (methods, path)) in routes.iter().enumerate() {
            let parsed = parse_path(path)?;
            for method in methods {
                let method = METHODS
                    .iter()
                    .find(|m| m.eq_ignore_ascii_case(method))
                    .ok_or_else(|| RouteTableError(format!("route {path:?}: unsupported HTTP method {method:?}")))?;
                insert(by_method.entry(method).or_default(), &parsed, index)?;
                if *method == "GET" {
                    head_from_get.push(index);
                }
            }
            declared.push(methods.iter().map(|m| m.to_ascii_uppercase()).collect());
            convertors.push(parsed.convertors);
        }
        let head = by_method.entry("HEAD").or_default();
        for index in head_from_get {
            insert(head, &parse_path(&routes[index].1)?, index)?;
        }
        Ok(Router { by_method, convertors, declared })
    }

    pub fn lookup(&self, method: &str, path: &str) -> RouteMatch {
        if let Some(found) = self.by_method.get(method).and_then(|tree| tree.at(path).ok()) {
            let mut params: Vec<String> = found.params.iter().map(|(_, v)| v.to_string()).collect();
            if found.value.empty_tail {
                params.push(String::new());
            }
            let route = found.value.route;
            if !self.convertors[route].iter().zip(&params).all(|(c, v)| c.matches(v)) {
                return RouteMatch::NotFound;
            }
            return RouteMatch::Found { route, params };
        }
        // 405 names the methods of the first-registered route whose path matches (Starlette).
        if let Some(route) = self.first_route_matching(path) {
            return RouteMatch::MethodNotAllowed { allow: self.declared[route].join(", ") };
        }
        if path != "/" {
            // As Starlette: every trailing slash goes, or one is added.
            let toggled = if path.ends_with('/') { path.trim_end_matches('/').to_string() } else { format!("{path}/") };
            if self.first_route_matching(&toggled).is_some() {
                return RouteMatch::RedirectSlash { path: toggled };
            }
        }
        RouteMatch::NotFound
    }

    fn first_route_matching(&self, path: &str) -> Option<usize> {
        self.by_method.values().filter_map(|tree| tree.at(path).ok().map(|f| f.value.route)).min()
    }
}

fn insert(tree: &mut matchit::Router<Entry>, parsed: &ParsedPath, route: usize) -> Result<(), RouteTableError> {
    insert_one(tree, &parsed.pattern, Entry { route, empty_tail: false })?;
    if parsed.catch_all {
        let prefix = &parsed.pattern[..parsed.pattern.rfind('{').expect("a catch-all has a brace")];
        insert_one(tree, prefix, Entry { route, empty_tail: true })?;
    }
    Ok(())
}

fn insert_one(tree: &mut matchit::Router<Entry>, pattern: &str, entry: Entry) -> Result<(), RouteTableError> {
    match tree.insert(pattern, entry) {
        Ok(()) => Ok(()),
        // Same method and shape registered twice: the first one wins, as in Starlette.
        Err(matchit::InsertError::Conflict { .. }) => Ok(()),
        Err(e) => Err(RouteTableError(format!("route {pattern:?}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&[&str], &str)]) -> Router {
        let owned: Vec<_> =
            routes.iter().map(|(m, p)| (m.iter().map(|s| s.to_string()).collect(), p.to_string())).collect();
        Router::new(&owned).unwrap()
    }

    #[test]
    fn static_param_and_catch_all() {
        let r = router(&[(&["GET"], "/items/{id}"), (&["GET"], "/files/{rest:path}"), (&["GET"], "/")]);
        match r.lookup("GET", "/items/42") {
            RouteMatch::Found { route, params } => {
                assert_eq!((route, params), (0, vec!["42".to_string()]))
            }
            _ => panic!("expected a match"),
        }
        match r.lookup("GET", "/files/a/b/c.txt") {
            RouteMatch::Found { route, params } => {
                assert_eq!((route, params), (1, vec!["a/b/c.txt".into()]))
            }
            _ => panic!("expected a match"),
        }
        assert!(matches!(r.lookup("GET", "/"), RouteMatch::Found { route: 2, .. }));
        assert!(matches!(r.lookup("GET", "/nope"), RouteMatch::NotFound));
        match r.lookup("GET", "/files/") {
            RouteMatch::Found { route, params } => {
                assert_eq!((route, params), (1, vec![String::new()]))
            }
            _ => panic!("a catch-all matches an empty tail"),
        }
    }

    #[test]
    fn trace_routes() {
        let r = router(&[(&["TRACE"], "/items/{id}")]);
        assert!(matches!(r.lookup("TRACE", "/items/1"), RouteMatch::Found { route: 0, .. }));
        assert!(matches!(r.lookup("GET", "/items/1"), RouteMatch::MethodNotAllowed { .. }));
    }

    #[test]
    fn trailing_slash_toggle_redirects() {
        let r = router(&[(&["GET"], "/items"), (&["POST"], "/things/")]);
        assert!(matches!(r.lookup("GET", "/items/"), RouteMatch::RedirectSlash { path } if path == "/items"));
        assert!(matches!(r.lookup("GET", "/things"), RouteMatch::RedirectSlash { path } if path == "/things/"));
        assert!(matches!(r.lookup("GET", "/"), RouteMatch::NotFound));
    }

    #[test]
    fn head_is_served_by_get_and_405_names_allowed_methods() {
        let r = router(&[(&["GET"], "/a"), (&["POST", "PUT"], "/b")]);
        assert!(matches!(r.lookup("HEAD", "/a"), RouteMatch::Found { route: 0, .. }));
        match r.lookup("DELETE", "/b") {
            RouteMatch::MethodNotAllowed { allow } => assert_eq!(allow, "POST, PUT"),
            _ => panic!("expected 405"),
        }
    }

    #[test]
    fn method_trees_are_independent() {
        let r = router(&[(&["GET"], "/items/{id}"), (&["POST"], "/items/me")]);
        assert!(matches!(r.lookup("GET", "/items/me"), RouteMatch::Found { route: 0, .. }));
        assert!(matches!(r.lookup("POST", "/items/me"), RouteMatch::Found { route: 1, .. }));
    }

    #[test]
    fn differently_named_params_share_a_shape_and_first_wins() {
        let r = router(&[(&["GET"], "/u/{a}"), (&["GET"], "/u/{b}")]);
        assert!(matches!(r.lookup("GET", "/u/x"), RouteMatch::Found { route: 0, .. }));
    }

    #[test]
    fn convertors_restrict_matches() {
        let r = router(&[(&["GET"], "/i/{x:int}"), (&["GET"], "/f/{x:float}"), (&["GET"], "/u/{x:uuid}")]);
        assert!(matches!(r.lookup("GET", "/i/42"), RouteMatch::Found { .. }));
        assert!(matches!(r.lookup("GET", "/i/-5"), RouteMatch::NotFound));
        assert!(matches!(r.lookup("GET", "/f/1.5"), RouteMatch::Found { .. }));
        assert!(matches!(r.lookup("GET", "/f/1."), RouteMatch::NotFound));
        assert!(matches!(r.lookup("GET", "/u/123e4567-e89b-12d3-a456-426614174000"), RouteMatch::Found { .. }));
        assert!(matches!(r.lookup("GET", "/u/nope"), RouteMatch::NotFound));
    }

    #[test]
    fn bad_paths_are_errors() {
        assert!(parse_path("items").is_err());
        assert!(parse_path("/a/{x").is_err());
        assert!(parse_path("/a/{x:path}/b").is_err());
        assert!(parse_path("/a/x{y}").is_err());
        assert!(parse_path("/a/{y:weird}").is_err());
    }
}
