//! The one module that touches the YAML backend (`serde_yaml`): text in, a JSON-shaped value out.
//!
//! Swapping the backend means rewriting this file only; no backend type leaves it.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::Reason;

/// A YAML failure: 1-based line and column inside the YAML text, and why.
pub(crate) type YamlFailure = (usize, usize, Reason);

/// Parses one YAML document into a value. An empty document (or one with only comments) is an
/// empty mapping. Duplicate keys, non-scalar keys and non-finite floats are errors.
pub(crate) fn load(yaml: &str) -> Result<Value, YamlFailure> {
    if yaml.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    match serde_yaml::from_str::<Node>(yaml) {
        Ok(Node(Value::Null)) => Ok(Value::Object(Map::new())),
        Ok(Node(value)) => Ok(value),
        Err(error) => {
            let (line, column) =
                error.location().map_or((1, 1), |at| (at.line().max(1), at.column().max(1)));
            let message = error.to_string();
            let reason = match message.strip_prefix(DUPLICATE) {
                Some(rest) => Reason::DuplicateKey(
                    rest.split(DUPLICATE_END).next().unwrap_or_default().to_owned(),
                ),
                None => Reason::Yaml(strip_location(&message)),
            };
            Err((line, column, reason))
        }
    }
}

const DUPLICATE: &str = "duplicate key `";
const DUPLICATE_END: &str = "`\u{1}";

/// serde_yaml appends " at line L column C" to its messages; the position is reported apart.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// A JSON-shaped value deserialised from YAML with the checks serde_json's own `Value` lacks.
struct Node(Value);

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor).map(Node)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        i64::try_from(v).map(|v| Value::Number(v.into())).map_err(|_| E::custom(TOO_BIG))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v).map(|v| Value::Number(v.into())).map_err(|_| E::custom(TOO_BIG))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("infinite and NaN numbers are not supported"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Node::deserialize(deserializer).map(|n| n.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Node(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(key)) = map.next_key()? {
            let Node(value) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("{DUPLICATE}{key}{DUPLICATE_END}")));
            }
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

const TOO_BIG: &str = "integers beyond 64 bits are not supported";

/// A mapping key: any scalar, kept as its text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KeyVisitor).map(Key)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar mapping key")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(E::custom("a null mapping key is not supported"))
    }
}
