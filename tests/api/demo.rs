//! `/demo`: the page a front-end developer copies, served from the binary. (The real browser
//! drives it in `tests/interop/demo.mjs`.)

use crate::helpers::altcha::gated;

#[tokio::test]
async fn the_demo_page_and_its_files_come_from_the_binary_under_a_strict_csp() {
    let app = gated(&[]).await;
    let page = app.get("/demo").await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("<altcha-widget") && html.contains("data-pow=\"altcha\""));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no absolute URL in the page"
    );
    for (file, kind) in [
        ("demo.js", "text/javascript"),
        ("altcha.js", "text/javascript"),
        ("pbkdf2.js", "text/javascript"),
        ("altcha.css", "text/css"),
        ("LICENSE-altcha.txt", "text/plain"),
    ] {
        let resp = app.get(&format!("/demo/{file}")).await;
        assert_eq!(resp.status(), 200, "{file}");
        assert!(
            resp.headers()["content-type"].to_str().unwrap().starts_with(kind),
            "{file}"
        );
    }
    assert_eq!(app.get("/demo/../Cargo.toml").await.status(), 404);
    assert_eq!(app.get("/demo/nothing.js").await.status(), 404);
}
