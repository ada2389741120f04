//! Scenario errors: every one names the file, the line and column, and the field.

use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// Not TOML, a missing or unknown field, or a value of the wrong type; the message is
    /// toml's, which names the field.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// Well-formed but inconsistent or out of range.
    #[error("{file}:{line}:{column}: {field}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        /// Dotted path of the field, e.g. `network.tiers[1].oversubscription`.
        field: String,
        message: String,
    },
}

impl ScenarioError {
    pub fn line(&self) -> usize {
        match self {
            ScenarioError::Syntax { line, .. } | ScenarioError::Invalid { line, .. } => *line,
        }
    }

    pub(crate) fn syntax(file: &str, text: &str, err: &toml::de::Error) -> Self {
        let (line, column) = err
            .span()
            .map(|s| line_col(text, s.start))
            .unwrap_or((1, 1));
        ScenarioError::Syntax {
            file: file.to_string(),
            line,
            column,
            message: err.message().trim().to_string(),
        }
    }
}

/// Builds [`ScenarioError::Invalid`] values for one file.
pub(crate) struct Locator<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl Locator<'_> {
    pub fn invalid(
        &self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ScenarioError {
        let (line, column) = line_col(self.text, span.start);
        ScenarioError::Invalid {
            file: self.file.to_string(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut cut = offset;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let before = &text[..cut];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::line_col;

    #[test]
    fn line_and_column_are_one_based() {
        let t = "a = 1\nbb = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 11), (2, 6));
        assert_eq!(line_col(t, 999), (3, 1));
    }
}
