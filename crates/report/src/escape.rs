//! Escaping of user text for HTML/SVG and of JSON embedded in a `<script>` data island.

/// Escapes `& < > " '` so that any text is safe in element content and in quoted attributes.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    push_html(&mut out, text);
    out
}

/// Appends `text` to `out`, escaped as by [`html`].
pub fn push_html(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
}

/// Makes serialized JSON safe inside `<script type="application/json">`: `<`, `>` and `&` only
/// occur inside JSON strings, where `\u003c` etc. decode to the same characters, so `</script>`
/// can never close the element. U+2028/U+2029 are escaped too.
pub fn json_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            html(r#"<script>alert("x&'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;&#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(html("TSLA"), "TSLA");
    }

    #[test]
    fn json_island_cannot_close_script() {
        let json = serde_json::to_string(&["</script><b>&", "\u{2028}"]).unwrap();
        let safe = json_for_script(&json);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        let back: Vec<String> = serde_json::from_str(&safe).unwrap();
        assert_eq!(
            back,
            vec!["</script><b>&".to_string(), "\u{2028}".to_string()]
        );
    }
}
