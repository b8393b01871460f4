//! The parameters of a redirect back from the provider (a query string, or a `form_post`
//! body), read by one rule whatever reads them.
//!
//! RFC 6749 §3.1: request and response parameters must not be included more than once. With
//! two `state`s or two `code`s, which one counts would depend on the parser: serde's derived
//! structs refuse (an extractor's rejection, not the library's error), a hand-written loop
//! keeps the first, another server the last. So every way of reading a callback goes through
//! [`Reader`]: the framework extractors (`Query`, `Form`, through `Deserialize`) and
//! `from_query`/`from_url`. It keeps the first value of each known parameter and records the
//! first one that repeats; reading never fails on a repeat, so that the flow can refuse the
//! callback with its own typed error, before its state is used or its code redeemed.
//! Parameters the library does not know (Google's `authuser`, `scope`, ...) are skipped,
//! repeated or not.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::fmt;

/// The known parameters of one kind of redirect back, read once each.
pub(crate) struct Reader<const N: usize> {
    names: &'static [&'static str; N],
    seen: [bool; N],
    /// The first value of each parameter, in the order of `names`.
    pub(crate) values: [Option<String>; N],
    /// The first known parameter that came more than once.
    pub(crate) repeated: Option<&'static str>,
}

impl<const N: usize> Reader<N> {
    fn new(names: &'static [&'static str; N]) -> Self {
        Reader {
            names,
            seen: [false; N],
            values: std::array::from_fn(|_| None),
            repeated: None,
        }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|known| *known == name)
    }

    /// Records the parameter at `index`: its value the first time, a repeat after that.
    fn put(&mut self, index: usize, value: Option<String>) {
        if self.seen[index] {
            self.repeated.get_or_insert(self.names[index]);
        } else {
            self.seen[index] = true;
            self.values[index] = value;
        }
    }

    /// Reads a query string (`code=...&state=...`, with or without its leading `?`).
    pub(crate) fn query(names: &'static [&'static str; N], query: &str) -> Self {
        let mut reader = Reader::new(names);
        for (name, value) in url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
            if let Some(index) = reader.index(&name) {
                reader.put(index, Some(value.into_owned()));
            }
        }
        reader
    }

    /// Reads any serde map (what `Query`, `Form` and JSON deserialize from).
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        names: &'static [&'static str; N],
        deserializer: D,
    ) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MapVisitor(names))
    }
}

struct MapVisitor<const N: usize>(&'static [&'static str; N]);

impl<'de, const N: usize> Visitor<'de> for MapVisitor<N> {
    type Value = Reader<N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the parameters of a redirect back from the provider")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Reader<N>, A::Error> {
        let mut reader = Reader::new(self.0);
        while let Some(index) = map.next_key_seed(KeyIndex(self.0))? {
            match index {
                Some(index) => {
                    let value = map.next_value::<Option<String>>()?;
                    reader.put(index, value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(reader)
    }
}

/// A parameter name, read as its index among the known names (`None` for another name),
/// without allocating.
struct KeyIndex<const N: usize>(&'static [&'static str; N]);

impl<'de, const N: usize> DeserializeSeed<'de> for KeyIndex<N> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de, const N: usize> Visitor<'de> for KeyIndex<N> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a parameter name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|known| *known == name))
    }

    fn visit_bytes<E: de::Error>(self, name: &[u8]) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|known| known.as_bytes() == name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 3] = ["code", "state", "iss"];

    fn from_form(body: &str) -> Reader<3> {
        let deserializer =
            serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(body.as_bytes()));
        Reader::deserialize(&NAMES, deserializer).unwrap()
    }

    fn from_json(body: &str) -> Reader<3> {
        Reader::deserialize(&NAMES, &mut serde_json::Deserializer::from_str(body)).unwrap()
    }

    #[test]
    fn each_parameter_once() {
        for reader in [
            Reader::query(&NAMES, "?code=c&state=s&iss=i&other=o"),
            from_form("code=c&state=s&iss=i&other=o"),
            from_json(r#"{"code":"c","state":"s","iss":"i","other":{"x":1}}"#),
        ] {
            assert_eq!(
                reader.values,
                [Some("c".into()), Some("s".into()), Some("i".into())]
            );
            assert_eq!(reader.repeated, None);
        }
    }

    #[test]
    fn a_repeat_is_recorded_whatever_reads_it() {
        for query in [
            "state=a&code=c&state=b",
            "state=a&state=a&code=c",
            "state=&state=b&code=c",
            "code=c&state=a&iss=x&state=b&iss=y",
        ] {
            for reader in [Reader::query(&NAMES, query), from_form(query)] {
                assert_eq!(reader.repeated, Some("state"), "{query}");
                assert_eq!(reader.values[0].as_deref(), Some("c"), "{query}");
            }
        }
        assert_eq!(
            from_json(r#"{"code":"c","code":null}"#).repeated,
            Some("code")
        );
        assert_eq!(from_json(r#"{"iss":null,"iss":"i"}"#).repeated, Some("iss"));
    }

    #[test]
    fn unknown_parameters_may_repeat() {
        let reader = Reader::query(&NAMES, "code=c&scope=a&scope=b&authuser=0&authuser=1");
        assert_eq!(reader.repeated, None);
        assert_eq!(reader.values[0].as_deref(), Some("c"));
    }
}
