//! Typed specs: parse a file into `T` plus its unknown keys, and render it back in the
//! reference's layout.

use std::{
    any::TypeId,
    collections::{HashMap, HashSet},
    path::Path,
    sync::{Arc, OnceLock},
};

use parking_lot::Mutex;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::{
    emit,
    error::{Error, ParseError, Reason, Result},
    guard::{self, Limits},
    lenient,
    split::split,
    yaml,
};

/// The unknown front-matter keys of a spec, in file order, kept so a read-modify-write does not
/// drop them.
pub type Extra = Map<String, Value>;

/// A type stored as a spec file: YAML front matter for its fields, the markdown body for one
/// string field ([`Spec::BODY_FIELD`], `message` by default).
///
/// The type is a plain serde struct. Write its fields in the order the file should list them;
/// give every optional field `#[serde(default)]` (or `#[serde(default)]` on the struct) and make
/// [`Default`] agree with those defaults: a field equal to its default is omitted on write, but
/// only when reading the file back restores it. Field names may be snake_case or kebab-case
/// (`#[serde(rename_all = "kebab-case")]`); files always get kebab-case keys and either spelling
/// is accepted on read.
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
/// struct Routine {
///     id: String,
///     message: String,
///     cron: String,
///     #[serde(default)]
///     background: bool,
/// }
///
/// impl dotdir_frontmatter::Spec for Routine {
///     fn id(&self) -> &str { &self.id }
/// }
/// ```
pub trait Spec: Serialize + DeserializeOwned + Default + 'static {
    /// The string field that holds the markdown body. A type without such a field has no body:
    /// it is ignored on read and written empty.
    const BODY_FIELD: &'static str = "message";

    /// The authoritative identifier (`id` in ollim-bot, the skill `name` for a skill).
    fn id(&self) -> &str;
}

/// A parsed spec file: the typed value and the keys the type does not know.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpecFile<T> {
    /// The typed spec, body included.
    pub spec: T,
    /// Unknown front-matter keys, written back after the known ones.
    pub extra: Extra,
}

impl<T> SpecFile<T> {
    /// A spec with no unknown keys.
    pub fn new(spec: T) -> Self {
        Self { spec, extra: Extra::new() }
    }
}

/// What the writer knows about a spec type: its keys and which defaults it may omit.
#[derive(Debug)]
struct Schema {
    /// Top-level keys, as the type spells them.
    keys: HashSet<String>,
    defaults: Map<String, Value>,
    omittable: HashSet<String>,
    has_body: bool,
}

fn schema<T: Spec>() -> Result<Arc<Schema>> {
    static SCHEMAS: OnceLock<Mutex<HashMap<TypeId, Arc<Schema>>>> = OnceLock::new();
    let schemas = SCHEMAS.get_or_init(Default::default);
    if let Some(schema) = schemas.lock().get(&TypeId::of::<T>()) {
        return Ok(Arc::clone(schema));
    }
    let schema = Arc::new(build_schema::<T>()?);
    schemas.lock().insert(TypeId::of::<T>(), Arc::clone(&schema));
    Ok(schema)
}

fn to_map<T: Serialize>(value: &T) -> Result<Map<String, Value>> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(encode_error("the spec type does not serialise as a mapping")),
        Err(e) => Err(encode_error(e)),
    }
}

fn encode_error(reason: impl ToString) -> Error {
    Error::Encode { path: Default::default(), reason: reason.to_string() }
}

fn build_schema<T: Spec>() -> Result<Schema> {
    let defaults = to_map(&T::default())?;
    let has_body = defaults.contains_key(T::BODY_FIELD);
    let mut omittable = HashSet::new();
    for key in defaults.keys() {
        if key == T::BODY_FIELD {
            continue;
        }
        let mut without = defaults.clone();
        without.shift_remove(key);
        let restored = lenient::from_map::<T>(&without).ok().and_then(|t| to_map(&t).ok());
        if restored.is_some_and(|map| map.get(key) == defaults.get(key)) {
            omittable.insert(key.clone());
        }
    }
    Ok(Schema { keys: defaults.keys().cloned().collect(), defaults, omittable, has_body })
}

impl Schema {
    /// The type's spelling of a key read from a file (`allow_ping` and `allow-ping` both find
    /// `allow-ping` or `allow_ping`, whichever the type uses); `None` for an unknown key.
    fn canonical<'a>(&'a self, key: &str) -> Option<&'a str> {
        if let Some(k) = self.keys.get(key) {
            return Some(k);
        }
        let kebab = key.replace('_', "-");
        if let Some(k) = self.keys.get(&kebab) {
            return Some(k);
        }
        self.keys.get(&key.replace('-', "_")).map(String::as_str)
    }
}

/// Parses a spec file with the default [`Limits`].
///
/// ```
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
/// # struct Routine { id: String, message: String, cron: String,
/// #     #[serde(default = "yes", rename = "allow-ping")] allow_ping: bool }
/// # fn yes() -> bool { true }
/// # impl dotdir_frontmatter::Spec for Routine { fn id(&self) -> &str { &self.id } }
/// let text = "---\nid: 12345678\ncron: '*/5 * * * *'\nallow_ping: no\n---\nHello\n";
/// let file = dotdir_frontmatter::parse::<Routine>(text.as_bytes()).unwrap();
/// assert_eq!(file.spec.id, "12345678");
/// assert!(!file.spec.allow_ping);
/// assert_eq!(file.spec.message, "Hello");
/// ```
pub fn parse<T: Spec>(bytes: &[u8]) -> Result<SpecFile<T>> {
    parse_with(bytes, &Limits::default())
}

/// Parses a spec file with explicit limits. Errors are [`Error::Parse`] with an empty path
/// (file reads fill it in) except for a type that cannot be a spec ([`Error::Encode`]).
pub fn parse_with<T: Spec>(bytes: &[u8], limits: &Limits) -> Result<SpecFile<T>> {
    let schema = schema::<T>()?;
    Ok(parse_inner(bytes, limits, &schema)?)
}

/// Parses a whole YAML file (no front matter: a configuration file such as ollim-bot's
/// `tool-policy.yaml`) into `T`, through the same guarded parser as front matter: the file at
/// most [`Limits::max_front_matter_bytes`], UTF-8, nesting and aliases bounded, duplicate keys
/// refused. An empty file (or only comments) is an empty mapping. A value of the wrong shape is
/// [`Reason::Field`] naming the key when serde does.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Policy { allowed: Vec<String> }
/// let policy: Policy = dotdir_frontmatter::parse_yaml(b"allowed: [Read, Grep]\n", &Default::default()).unwrap();
/// assert_eq!(policy.allowed, ["Read", "Grep"]);
/// assert!(dotdir_frontmatter::parse_yaml::<Policy>(b"a: &x 1\nb: *x\n", &Default::default()).is_err());
/// ```
pub fn parse_yaml<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    limits: &Limits,
) -> Result<T, ParseError> {
    if bytes.len() > limits.max_front_matter_bytes {
        return Err(ParseError::new(
            1,
            1,
            Reason::FileTooLarge { limit: limits.max_front_matter_bytes },
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let before = &bytes[..e.valid_up_to()];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        ParseError::new(line, 1, Reason::NotUtf8)
    })?;
    let located =
        |(line, column, reason): (usize, usize, Reason)| ParseError::new(line, column, reason);
    guard::scan(text, limits).map_err(located)?;
    let value = crate::yaml::load(text).map_err(located)?;
    serde_json::from_value(value)
        .map_err(|e| ParseError::new(1, 1, Reason::Field { key: None, message: e.to_string() }))
}

pub(crate) fn parse_at<T: Spec>(bytes: &[u8], limits: &Limits, path: &Path) -> Result<SpecFile<T>> {
    let schema = schema::<T>()?;
    parse_inner(bytes, limits, &schema).map_err(|e| Error::Parse(e.at(path)))
}

fn parse_inner<T: Spec>(
    bytes: &[u8],
    limits: &Limits,
    schema: &Schema,
) -> Result<SpecFile<T>, ParseError> {
    if bytes.len() > limits.max_file_bytes {
        return Err(ParseError::new(1, 1, Reason::FileTooLarge { limit: limits.max_file_bytes }));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let before = &bytes[..e.valid_up_to()];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
        ParseError::new(line, column, Reason::NotUtf8)
    })?;
    let parts = split(text)?;
    let offset = parts.yaml_line - 1;
    let shift = |(line, column, reason): (usize, usize, Reason)| {
        ParseError::new(line + offset, column, reason)
    };
    guard::scan(parts.yaml, limits).map_err(shift)?;
    let loaded = yaml::load(parts.yaml).map_err(|(line, column, reason)| {
        // The backend points at the mapping; a top-level duplicate is found by its second line.
        let second = match &reason {
            Reason::DuplicateKey(key) => key_lines(parts.yaml, key).nth(1),
            _ => None,
        };
        if let Some(second) = second {
            return ParseError::new(second + offset, 1, reason);
        }
        shift((line, column, reason))
    })?;
    if let Some(key) = overlong_key(&loaded) {
        let start: String = key.chars().take(20).collect();
        let line = key_line(parts.yaml, key).map_or(parts.yaml_line, |l| l + offset);
        return Err(ParseError::new(line, 1, Reason::KeyTooLong { start }));
    }
    let Value::Object(raw) = loaded else {
        return Err(ParseError::new(parts.yaml_line, 1, Reason::NotAMapping));
    };

    let mut known = Map::new();
    let mut extra = Extra::new();
    let mut spelled: HashMap<String, String> = HashMap::new();
    for (key, value) in raw {
        match schema.canonical(&key) {
            Some(canonical) if canonical == T::BODY_FIELD => {}
            Some(canonical) => {
                spelled.insert(canonical.to_owned(), key);
                // The later spelling wins, as in the reference.
                known.shift_remove(canonical);
                known.insert(canonical.to_owned(), value);
            }
            None => {
                extra.insert(key, value);
            }
        }
    }
    if schema.has_body {
        known.insert(T::BODY_FIELD.to_owned(), Value::String(parts.message().to_owned()));
    }
    let spec = lenient::from_map::<T>(&known).map_err(|e| {
        let key = e.path.first().map(|k| spelled.get(k).cloned().unwrap_or_else(|| k.clone()));
        let line = key.as_deref().and_then(|k| key_line(parts.yaml, k)).map_or(1, |l| l + offset);
        let key = (!e.path.is_empty()).then(|| {
            let mut path = e.path.clone();
            if let Some(first) = key {
                path[0] = first;
            }
            path.join(".")
        });
        ParseError::new(line, 1, Reason::Field { key, message: e.message })
    })?;
    Ok(SpecFile { spec, extra })
}

/// The longest a mapping key may be, in characters. Written back quoted, a character can take up
/// to 10 (`\U0001F600`), and YAML limits a key to 1,024 characters: a longer key would make a
/// spec that parses but cannot be saved. Real spec keys are single words.
pub const MAX_KEY_CHARS: usize = 100;

/// The first key, at any depth, longer than [`MAX_KEY_CHARS`].
fn overlong_key(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) => map.iter().find_map(|(key, value)| {
            if key.chars().count() > MAX_KEY_CHARS {
                Some(key.as_str())
            } else {
                overlong_key(value)
            }
        }),
        Value::Array(items) => items.iter().find_map(overlong_key),
        _ => None,
    }
}

/// The 1-based line (inside the YAML) of a top-level key, found by its spelling at column 1.
fn key_line(yaml: &str, key: &str) -> Option<usize> {
    key_lines(yaml, key).next()
}

/// The 1-based lines (inside the YAML) where a top-level key is spelled at column 1.
fn key_lines<'a>(yaml: &'a str, key: &'a str) -> impl Iterator<Item = usize> + 'a {
    yaml.lines().enumerate().filter_map(move |(i, line)| {
        let line = line.strip_prefix(['"', '\'']).unwrap_or(line);
        let found = line.strip_prefix(key).is_some_and(|rest| {
            let rest = rest.strip_prefix(['"', '\'']).unwrap_or(rest);
            rest.trim_start_matches([' ', '\t']).starts_with(':')
        });
        found.then_some(i + 1)
    })
}

/// Renders a spec file in the reference's layout: `---`, one line per field that differs from
/// its default (kebab-case keys, declaration order), the unknown keys, `---`, the body and one
/// `\n`.
///
/// ```
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
/// # struct Routine { id: String, message: String, cron: String,
/// #     #[serde(default)] description: String }
/// # impl dotdir_frontmatter::Spec for Routine { fn id(&self) -> &str { &self.id } }
/// use dotdir_frontmatter::{render, SpecFile};
/// let routine = Routine {
///     id: "a1b2c3d4".into(), cron: "0 9 * * *".into(), message: "x".into(),
///     description: "Say \"hi\"".into(),
/// };
/// let text = render(&SpecFile::new(routine)).unwrap();
/// assert_eq!(text, "---\nid: \"a1b2c3d4\"\ncron: \"0 9 * * *\"\ndescription: \"Say \\\"hi\\\"\"\n---\nx\n");
/// ```
pub fn render<T: Spec>(file: &SpecFile<T>) -> Result<String> {
    render_parts(&file.spec, &file.extra).map(|(text, _)| text)
}

/// Renders a spec and its unknown keys; returns the text and the body.
pub(crate) fn render_parts<T: Spec>(spec: &T, extra: &Extra) -> Result<(String, String)> {
    let schema = schema::<T>()?;
    let mut map = to_map(spec)?;
    let body = match map.shift_remove(T::BODY_FIELD) {
        Some(Value::String(body)) => body,
        None => String::new(),
        Some(_) => return Err(encode_error(format!("`{}` is not a string", T::BODY_FIELD))),
    };
    let mut out = String::with_capacity(64 + body.len() + 32 * map.len());
    out.push_str("---\n");
    let mut written = HashSet::new();
    for (key, value) in &map {
        if schema.omittable.contains(key) && schema.defaults.get(key) == Some(value) {
            continue;
        }
        let key = key.replace('_', "-");
        emit::entry(&mut out, &key, value, 0, true);
        written.insert(key);
    }
    for (key, value) in extra {
        // An unknown key that now collides with a typed field is superseded by the field.
        if schema.canonical(key).is_some() || written.contains(key) {
            continue;
        }
        emit::entry(&mut out, key, value, 0, true);
    }
    out.push_str("---\n");
    out.push_str(&body);
    out.push('\n');
    Ok((out, body))
}
