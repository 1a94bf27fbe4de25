//! The JSON server functions answer with, decoded from text in the browser.
//!
//! The wire format is `server_fn::codec::Json`'s (`application/json`, written by serde_json),
//! so REST clients, the bot and plain form posts see no difference. Only the browser's
//! decoding changes: `serde_json::from_str`, the function that also reads the resources
//! serialized into the page for hydration. `from_slice` would compile a second deserializer of
//! every type into the WASM bundle.

use serde::Serialize;
use serde::de::{DeserializeOwned, Error as _};
use server_fn::codec::Post;
use server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};

/// The encoding (see the module documentation).
pub struct JsonTextEncoding;

impl ContentType for JsonTextEncoding {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonTextEncoding {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonTextEncoding {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonTextEncoding {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(serde_json::Error::custom)?;
        serde_json::from_str(text)
    }
}

/// The output encoding of every server function: `#[server(…, output = JsonText)]`.
pub type JsonText = Post<JsonTextEncoding>;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_the_json_of_server_fn() {
        let value = vec![("Tareas".to_owned(), 3_i64)];
        let bytes = <JsonTextEncoding as Encodes<_>>::encode(&value).unwrap();
        assert_eq!(bytes, <server_fn::codec::JsonEncoding as Encodes<_>>::encode(&value).unwrap());
        let back: Vec<(String, i64)> = <JsonTextEncoding as Decodes<_>>::decode(bytes).unwrap();
        assert_eq!(back, value);
        let bad = <JsonTextEncoding as Decodes<Vec<(String, i64)>>>::decode(Bytes::from_static(b"\xff"));
        assert!(bad.is_err());
    }

    /// A server function left on the default encoding would still work; it would only add a
    /// second deserializer of its answer to the bundle. This keeps them all on `JsonText`.
    #[test]
    fn every_server_function_answers_through_json_text() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join("api");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines().map(str::trim).filter(|l| l.starts_with("#[server(prefix")) {
                seen += 1;
                assert!(line.contains("output = crate::api::codec::JsonText"), "{}: {line}", path.display());
            }
        }
        assert!(seen > 50, "the server functions were not found ({seen})");
    }
}
