//! A response header as a ready `HeaderValue`, for poem-openapi responses. A `String` header
//! costs an allocation and a validated copy per response; a constant (`no-store`, `*`) or a
//! shared value (the JWKS ETag) goes out here as a reference-counted clone. The spec describes
//! it exactly as a `String` header.

use std::borrow::Cow;

use poem::http::HeaderValue;
use poem_openapi::registry::MetaSchemaRef;
use poem_openapi::types::{ToHeader, Type};

#[derive(Debug, Clone)]
pub struct Header(pub HeaderValue);

impl Header {
    pub const fn from_static(value: &'static str) -> Header {
        Header(HeaderValue::from_static(value))
    }
}

impl Type for Header {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        String::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        String::schema_ref()
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl ToHeader for Header {
    fn to_header(&self) -> Option<HeaderValue> {
        Some(self.0.clone())
    }
}
