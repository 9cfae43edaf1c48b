//! `GET /docs`: Swagger UI with its assets embedded (it works offline). The page is 1.6 MB of
//! HTML, CSS and JavaScript; it is built once and, for clients that accept gzip, compressed
//! once (on first use) and sent compressed — about a fifth of the bytes.

use std::io::Write;
use std::sync::OnceLock;

use bytes::Bytes;
use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, Request, Response};

/// The Swagger UI page, plain and (lazily) gzipped.
pub struct Docs {
    html: Bytes,
    gzip: OnceLock<Option<Bytes>>,
}

impl Docs {
    pub fn new(html: String) -> Docs {
        Docs {
            html: Bytes::from(html),
            gzip: OnceLock::new(),
        }
    }

    fn gzipped(&self) -> Option<&Bytes> {
        self.gzip
            .get_or_init(|| {
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                encoder.write_all(&self.html).ok()?;
                encoder.finish().ok().map(Bytes::from)
            })
            .as_ref()
    }
}

/// Whether `Accept-Encoding` admits gzip (RFC 9110 §12.5.3: listed, or `*`, with q > 0).
fn accepts_gzip(req: &Request) -> bool {
    let Some(accept) = req.headers().get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    accept.split(',').any(|coding| {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
        });
        !refused && (name.eq_ignore_ascii_case("gzip") || name == "*")
    })
}

impl Endpoint for Docs {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let mut resp = Response::builder()
            .status(StatusCode::OK)
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )
            .header(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        let body = match accepts_gzip(&req).then(|| self.gzipped()).flatten() {
            Some(gzip) => {
                resp = resp.header(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                gzip.clone()
            }
            None => self.html.clone(),
        };
        Ok(resp.body(body))
    }
}
