//! `GET /demo`: a page that gets a token the way a CusDeb web app does — through the ALTCHA
//! widget when `POW=altcha` — and checks its signature in the browser against the JWKS. Its
//! files are in the binary (the widget's are vendored from npm, `demo/altcha/README.md`); it
//! makes no request outside the service, under a strict Content-Security-Policy.

use poem::http::{HeaderValue, StatusCode, header};
use poem::web::Path;
use poem::{Endpoint, Response, handler};

use crate::state::AppState;

/// No inline script or style, nothing from elsewhere; workers and fetches to this origin only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

const INDEX: &str = include_str!("demo/index.html");

/// The page's files: name, content type, bytes.
const ASSETS: [(&str, &str, &[u8]); 6] = [
    (
        "demo.js",
        "text/javascript; charset=utf-8",
        include_bytes!("demo/demo.js"),
    ),
    ("demo.css", "text/css; charset=utf-8", include_bytes!("demo/demo.css")),
    (
        "altcha.js",
        "text/javascript; charset=utf-8",
        include_bytes!("demo/altcha/altcha.min.js"),
    ),
    (
        "altcha.css",
        "text/css; charset=utf-8",
        include_bytes!("demo/altcha/altcha.css"),
    ),
    (
        "pbkdf2.js",
        "text/javascript; charset=utf-8",
        include_bytes!("demo/altcha/pbkdf2.js"),
    ),
    (
        "LICENSE-altcha.txt",
        "text/plain; charset=utf-8",
        include_bytes!("demo/altcha/LICENSE.txt"),
    ),
];

/// The page for this configuration, rendered once.
pub fn page(state: &AppState) -> impl Endpoint<Output = Response> + use<> {
    let pow = state.gate.is_some();
    let html = INDEX
        .replace(
            "{{ALTCHA_HEAD}}",
            if pow {
                "<link rel=\"stylesheet\" href=\"demo/altcha.css\">\n<script src=\"demo/altcha.js\" defer></script>\n"
            } else {
                ""
            },
        )
        .replace("{{POW}}", if pow { "altcha" } else { "off" })
        .replace(
            "{{POW_NOTE}}",
            if pow {
                "This issuer asks for a proof of work (POW=altcha): the ALTCHA widget below solves a challenge first (<a href=\"demo/LICENSE-altcha.txt\">its licence</a>)."
            } else {
                "This issuer asks for no proof of work (POW=off): the button asks for a token directly."
            },
        )
        .replace(
            "{{WIDGET}}",
            if pow {
                "<altcha-widget challenge=\"anonymous/challenge\" auto=\"off\" name=\"altcha\"></altcha-widget>\n"
            } else {
                ""
            },
        );
    let html = bytes::Bytes::from(html);
    poem::endpoint::make_sync(move |_| secured(html.clone(), "text/html; charset=utf-8", "no-cache"))
}

/// `/demo/NAME`: one of the page's files.
pub fn assets() -> impl Endpoint<Output = Response> {
    asset
}

#[handler]
fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => secured(bytes::Bytes::from_static(body), kind, "public, max-age=300"),
        None => super::problem::Problem::new(StatusCode::NOT_FOUND, "no such file of the demo page").into_response(),
    }
}

fn secured(body: bytes::Bytes, kind: &'static str, cache: &'static str) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, HeaderValue::from_static(kind))
        .header(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP))
        .header(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"))
        .header(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"))
        .header(header::CACHE_CONTROL, HeaderValue::from_static(cache))
        .body(body)
}
