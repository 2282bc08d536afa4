//! # custody-web: the web UI's assets
//!
//! One page (`index.html`), one script (`app.js`, plain JavaScript routed by
//! the URL fragment) and one stylesheet, embedded in the binary at build time
//! so `custody serve` works offline with no CDN and nothing to install. The
//! page only calls the HTTP API under `/v1` with the browser session
//! `custody-server` gives it; every answer comes from `custody-app`.
//!
//! **Must not:** compute an answer, hold a secret, load anything from
//! another origin, or run inline script (the content security policy
//! forbids it).

/// `(content type, body)` of an asset.
pub type Asset = (&'static str, &'static [u8]);

/// The page itself.
pub const INDEX_ASSET: Asset = (
    "text/html; charset=utf-8",
    include_bytes!("../assets/index.html"),
);

const ASSETS: &[(&str, Asset)] = &[
    ("", INDEX_ASSET),
    ("index.html", INDEX_ASSET),
    (
        "app.js",
        (
            "text/javascript; charset=utf-8",
            include_bytes!("../assets/app.js"),
        ),
    ),
    (
        "app.css",
        (
            "text/css; charset=utf-8",
            include_bytes!("../assets/app.css"),
        ),
    ),
    (
        "favicon.svg",
        ("image/svg+xml", include_bytes!("../assets/favicon.svg")),
    ),
];

/// The asset at `path` (relative to `/ui/`).
pub fn asset(path: &str) -> Option<Asset> {
    ASSETS.iter().find(|(p, _)| *p == path).map(|(_, a)| *a)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_has_no_inline_script_or_remote_asset() {
        let page = std::str::from_utf8(super::INDEX_ASSET.1).unwrap();
        for tag in page.split("<script").skip(1) {
            let head = &tag[..tag.find('>').unwrap()];
            assert!(
                head.contains("src=\"/ui/"),
                "inline or remote script: {head}"
            );
        }
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(!page.contains(" style="), "inline style");
        assert!(!page.contains("onclick"), "inline handler");
    }
}
