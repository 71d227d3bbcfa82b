//! Format templates over record attributes, in Python logging's three
//! styles: `%(name)s`, `{name}` and `$name` / `${name}`.

use core::fmt;

use serde_json::Value;

/// Which placeholder syntax a template uses (Python's `style` argument).
///
/// ```
/// use fluent_std::handler::FormatStyle;
/// assert_eq!("{".parse::<FormatStyle>(), Ok(FormatStyle::Brace));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormatStyle {
    /// `%(name)s`, `%(lineno)d`, `%(created)f`, `%(created).3f`, `%%`.
    #[default]
    Percent,
    /// `{name}`, `{{` and `}}` for literal braces.
    Brace,
    /// `$name` or `${name}`, `$$` for a literal dollar.
    Dollar,
}

impl core::str::FromStr for FormatStyle {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "%" => Ok(FormatStyle::Percent),
            "{" => Ok(FormatStyle::Brace),
            "$" => Ok(FormatStyle::Dollar),
            other => Err(format!("unknown style {other:?} (expected %, {{ or $)")),
        }
    }
}

/// Why a template could not be rendered.
///
/// ```
/// let e = fluent_std::handler::TemplateError::MissingKey("user".into());
/// assert_eq!(e.to_string(), "the record has no attribute \"user\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateError {
    /// The record has no attribute of this name (Python's `KeyError`).
    MissingKey(String),
    /// The template itself is malformed.
    Malformed(String),
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::MissingKey(k) => write!(f, "the record has no attribute {k:?}"),
            TemplateError::Malformed(t) => write!(f, "malformed format template {t:?}"),
        }
    }
}

impl std::error::Error for TemplateError {}

/// Renders `template` with the attributes `lookup` finds.
pub(crate) fn render(
    template: &str,
    style: FormatStyle,
    lookup: &dyn Fn(&str) -> Option<Value>,
) -> Result<String, TemplateError> {
    let malformed = || TemplateError::Malformed(template.to_owned());
    let get = |key: &str| lookup(key).ok_or_else(|| TemplateError::MissingKey(key.to_owned()));
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    match style {
        FormatStyle::Percent => {
            while let Some(at) = rest.find('%') {
                out.push_str(&rest[..at]);
                rest = &rest[at + 1..];
                if let Some(r) = rest.strip_prefix('%') {
                    out.push('%');
                    rest = r;
                    continue;
                }
                let r = rest.strip_prefix('(').ok_or_else(malformed)?;
                let close = r.find(')').ok_or_else(malformed)?;
                let key = &r[..close];
                let spec_and_rest = &r[close + 1..];
                let conv_at = spec_and_rest.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(malformed)?;
                let (spec, conv) = (&spec_and_rest[..conv_at], &spec_and_rest[conv_at..conv_at + 1]);
                rest = &spec_and_rest[conv_at + 1..];
                percent_conversion(&mut out, &get(key)?, spec, conv).ok_or_else(malformed)?;
            }
            out.push_str(rest);
        }
        FormatStyle::Brace => {
            while let Some(at) = rest.find(['{', '}']) {
                out.push_str(&rest[..at]);
                let brace = &rest[at..at + 1];
                rest = &rest[at + 1..];
                if let Some(r) = rest.strip_prefix(brace) {
                    out.push_str(brace);
                    rest = r;
                    continue;
                }
                if brace == "}" {
                    return Err(malformed());
                }
                let close = rest.find('}').ok_or_else(malformed)?;
                let field = &rest[..close];
                let key = field.split([':', '!']).next().unwrap_or_default();
                out.push_str(&display(&get(key)?));
                rest = &rest[close + 1..];
            }
            out.push_str(rest);
        }
        FormatStyle::Dollar => {
            while let Some(at) = rest.find('$') {
                out.push_str(&rest[..at]);
                rest = &rest[at + 1..];
                if let Some(r) = rest.strip_prefix('$') {
                    out.push('$');
                    rest = r;
                    continue;
                }
                let key = if let Some(r) = rest.strip_prefix('{') {
                    let close = r.find('}').ok_or_else(malformed)?;
                    rest = &r[close + 1..];
                    &r[..close]
                } else {
                    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
                    let key = &rest[..end];
                    rest = &rest[end..];
                    key
                };
                if key.is_empty() {
                    return Err(malformed());
                }
                out.push_str(&display(&get(key)?));
            }
            out.push_str(rest);
        }
    }
    Ok(out)
}

/// A value as `str()` would show it.
pub(crate) fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        other => other.to_string(),
    }
}

/// `%s`, `%r`, `%d`/`%i`, `%f` (with an optional precision like `.3`).
fn percent_conversion(out: &mut String, value: &Value, spec: &str, conv: &str) -> Option<()> {
    use fmt::Write;
    match conv {
        "s" => out.push_str(&display(value)),
        "r" => match value {
            Value::String(s) => write!(out, "'{s}'").ok()?,
            other => out.push_str(&display(other)),
        },
        "d" | "i" => {
            let n = value.as_i64().or_else(|| value.as_f64().map(|f| f.trunc() as i64))?;
            write!(out, "{n}").ok()?;
        }
        "f" => {
            let x = value.as_f64()?;
            let precision = spec.strip_prefix('.').and_then(|p| p.parse::<usize>().ok()).unwrap_or(6);
            write!(out, "{x:.precision$}").ok()?;
        }
        _ => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(key: &str) -> Option<Value> {
        match key {
            "name" => Some("app.db".into()),
            "lineno" => Some(42.into()),
            "created" => Some(1.5.into()),
            _ => None,
        }
    }

    #[test]
    fn three_styles() {
        let r = |t, s| render(t, s, &attrs);
        assert_eq!(r("%(name)s:%(lineno)d %(created).2f 100%%", FormatStyle::Percent).unwrap(), "app.db:42 1.50 100%");
        assert_eq!(r("{name}:{lineno} {{x}}", FormatStyle::Brace).unwrap(), "app.db:42 {x}");
        assert_eq!(r("$name:${lineno}x $$", FormatStyle::Dollar).unwrap(), "app.db:42x $");
    }

    #[test]
    fn missing_and_malformed() {
        assert_eq!(render("%(nope)s", FormatStyle::Percent, &attrs), Err(TemplateError::MissingKey("nope".into())));
        assert_eq!(render("{nope}", FormatStyle::Brace, &attrs), Err(TemplateError::MissingKey("nope".into())));
        assert!(matches!(render("%(name", FormatStyle::Percent, &attrs), Err(TemplateError::Malformed(_))));
        assert!(matches!(render("{name", FormatStyle::Brace, &attrs), Err(TemplateError::Malformed(_))));
        assert!(matches!(render("%(name)d", FormatStyle::Percent, &attrs), Err(TemplateError::Malformed(_))));
    }
}
