//! A parameter the edge reads, declared on an operation only so the spec documents it (the
//! proof-of-work payload: `altcha` in the query, `Altcha` as a header). Extracting it is a
//! no-op: the operation never reads it, and the edge's fast path may call the operation
//! without the query poem-openapi's router would have parsed.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaParamIn, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

/// In the query (`HEADER = false`) or a header (`true`); optional, a string.
pub struct EdgeParam<const HEADER: bool>;

impl<'a, const HEADER: bool> ApiExtractor<'a> for EdgeParam<HEADER> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    const PARAM_IS_REQUIRED: bool = false;
    type ParamType = String;
    type ParamRawType = String;

    fn register(registry: &mut Registry) {
        <String as Type>::register(registry);
    }

    fn param_in() -> Option<MetaParamIn> {
        Some(if HEADER {
            MetaParamIn::Header
        } else {
            MetaParamIn::Query
        })
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(String::schema_ref())
    }

    async fn from_request(
        _request: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(EdgeParam)
    }
}
