//! ANSI styling that switches off cleanly (`--color`, `NO_COLOR`, pipes).

/// Applies terminal styles when enabled; a no-op otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    pub enabled: bool,
}

impl Paint {
    pub const PLAIN: Paint = Paint { enabled: false };

    fn wrap(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }

    pub fn red(self, text: &str) -> String {
        self.wrap("31", text)
    }

    pub fn green(self, text: &str) -> String {
        self.wrap("32", text)
    }

    pub fn yellow(self, text: &str) -> String {
        self.wrap("33", text)
    }

    pub fn cyan(self, text: &str) -> String {
        self.wrap("36", text)
    }

    /// Colours a unified diff line by line.
    pub fn diff(self, diff: &str) -> String {
        if !self.enabled {
            return diff.to_owned();
        }
        diff.split_inclusive('\n')
            .map(|line| {
                let (body, nl) = match line.strip_suffix('\n') {
                    Some(b) => (b, "\n"),
                    None => (line, ""),
                };
                let styled = if body.starts_with("+++") || body.starts_with("---") {
                    self.bold(body)
                } else if body.starts_with('+') {
                    self.green(body)
                } else if body.starts_with('-') {
                    self.red(body)
                } else if body.starts_with("@@") {
                    self.cyan(body)
                } else {
                    body.to_owned()
                };
                styled + nl
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::term::for_stream;

    /// The output layer lets through exactly these codes
    /// ([`crate::term::PAINT_SGR`]); a new style must be added there.
    #[test]
    fn every_style_passes_the_output_layer() {
        let on = Paint { enabled: true };
        let styled = [
            on.bold("x"),
            on.dim("x"),
            on.red("x"),
            on.green("x"),
            on.yellow("x"),
            on.cyan("x"),
            on.diff("+++ a\n--- b\n+x\n-y\n@@ z\n"),
        ];
        for text in styled {
            assert_eq!(for_stream(&text, true), text);
            assert!(for_stream(&text, false).contains("\\x1b["));
        }
    }
}
