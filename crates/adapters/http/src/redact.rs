//! Hiding secrets in text that may echo a URL or a server's message.

/// Query parameters whose value is a secret (vendors' spellings, compared case-insensitively).
const SECRET_PARAMS: [&str; 6] = [
    "apikey",
    "api_key",
    "token",
    "access_token",
    "appkey",
    "appsecret",
];

/// `text` with the value of every `name=value` pair whose name is a known secret-carrying query
/// parameter (`apikey`, `api_key`, `token`, `access_token`, `appkey`, `appsecret`) replaced by
/// `***`. A pair starts after `?`, `&`, whitespace or the start of the text; its value runs to
/// the next `&`, `#`, whitespace, quote or closing bracket. The value is hidden as the URL
/// carries it, so an encoded secret (`S3CR+ET%26X%3D1`) is hidden too.
pub fn redact_secret_params(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut at_boundary = true;
    while let Some(c) = rest.chars().next() {
        if at_boundary
            && let Some(name) = SECRET_PARAMS.iter().find(|name| {
                rest.len() > name.len()
                    && rest.is_char_boundary(name.len())
                    && rest[..name.len()].eq_ignore_ascii_case(name)
                    && rest[name.len()..].starts_with('=')
            })
        {
            let value_start = name.len() + 1;
            let value_len = rest[value_start..]
                .find(|ch: char| {
                    ch == '&' || ch == '#' || ch.is_whitespace() || "\"')]}>".contains(ch)
                })
                .unwrap_or(rest.len() - value_start);
            out.push_str(&rest[..value_start]);
            out.push_str("***");
            rest = &rest[value_start + value_len..];
            at_boundary = false;
            continue;
        }
        at_boundary = c == '?' || c == '&' || c.is_whitespace() || c == '(';
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The forms a secret can take in text: verbatim, form-encoded (as a query value) and
/// percent-encoded (as a path segment), without duplicates or empty strings.
pub(crate) fn secret_forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string()];
    if let Ok(url) = reqwest::Url::parse_with_params("http://x/", [("k", secret)])
        && let Some(q) = url.query()
        && let Some(v) = q.strip_prefix("k=")
    {
        forms.push(v.to_string());
    }
    if let Ok(mut url) = reqwest::Url::parse("http://x/") {
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.clear().push(secret);
        }
        if let Some(v) = url.path().strip_prefix('/') {
            forms.push(v.to_string());
        }
    }
    let mut out: Vec<String> = Vec::new();
    for f in forms {
        if !f.is_empty() && !out.contains(&f) {
            out.push(f);
        }
    }
    // Longest first, so that a form containing another is replaced whole.
    out.sort_by_key(|f| std::cmp::Reverse(f.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_params_are_redacted_in_any_encoding() {
        let echoed = "error sending request for url (https://www.alphavantage.co/query?function=TIME_SERIES_DAILY&symbol=SPY&apikey=S3CR+ET%26X%3D1&outputsize=full): connection refused";
        let redacted = redact_secret_params(echoed);
        assert_eq!(
            redacted,
            "error sending request for url (https://www.alphavantage.co/query?function=TIME_SERIES_DAILY&symbol=SPY&apikey=***&outputsize=full): connection refused"
        );
        assert_eq!(
            redact_secret_params("GET /q?APIKEY=abc%20d token=xyz&x=1"),
            "GET /q?APIKEY=*** token=***&x=1"
        );
        assert_eq!(
            redact_secret_params("?monkey=1&mytoken=2"),
            "?monkey=1&mytoken=2"
        );
    }

    #[test]
    fn secret_forms_cover_encodings() {
        let forms = secret_forms("a b/c&d=e");
        assert!(forms.contains(&"a b/c&d=e".to_string()));
        assert!(forms.contains(&"a+b%2Fc%26d%3De".to_string()), "{forms:?}");
        assert!(forms.contains(&"a%20b%2Fc&d=e".to_string()), "{forms:?}");
        assert_eq!(secret_forms("plain"), vec!["plain".to_string()]);
    }
}
