//! A small Markdown subset rendered to man(7) roff, for the hand-written parts of the man pages
//! (docs/man/*.md): `#` sections, `##` subsections, paragraphs, `- ` bullets (continued by
//! indented lines), indented code blocks, and inline `code` (bold) and *emphasis* (italic).

/// Escapes text for roff: backslashes and hyphens, and a leading `.` or `'`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            _ => out.push(c),
        }
    }
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

/// Inline markup: `code` in bold, *text* in italic; everything else escaped. An already
/// escaped `\-` in the source (as in NAME lines) is kept as is.
fn inline(text: &str) -> String {
    let text = text.replace("\\-", "-");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find(['`', '*']) {
        let (before, after) = rest.split_at(i);
        out.push_str(&escape(before));
        let mark = &after[..1];
        let body = &after[1..];
        match body.find(mark) {
            Some(end) if end > 0 => {
                let font = if mark == "`" { "\\fB" } else { "\\fI" };
                out.push_str(font);
                out.push_str(&escape(&body[..end]));
                out.push_str("\\fR");
                rest = &body[end + 1..];
            }
            _ => {
                out.push_str(&escape(mark));
                rest = body;
            }
        }
    }
    out.push_str(&escape(rest));
    if out.starts_with("\\fB.") || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

#[derive(PartialEq)]
enum Block {
    None,
    Para,
    Item,
    Code,
}

/// Renders `md` to roff lines (no `.TH`: the caller writes the title).
pub fn to_roff(md: &str) -> String {
    let mut out = String::new();
    let mut block = Block::None;
    for line in md.lines() {
        if block == Block::Code {
            if let Some(code) = line.strip_prefix("    ") {
                out.push_str(&escape(code));
                out.push('\n');
                continue;
            }
            if line.trim().is_empty() {
                out.push('\n');
                continue;
            }
            out.push_str(".fi\n.RE\n");
            block = Block::None;
        }
        if let Some(h) = line.strip_prefix("## ") {
            out.push_str(&format!(".SS \"{}\"\n", escape(h)));
            block = Block::None;
        } else if let Some(h) = line.strip_prefix("# ") {
            out.push_str(&format!(".SH \"{}\"\n", escape(h)));
            block = Block::None;
        } else if line.trim().is_empty() {
            // The next block starts with `.PP`, which also ends a bullet's indentation.
            block = Block::None;
        } else if let Some(item) = line.strip_prefix("- ") {
            out.push_str(".IP \\(bu 2\n");
            out.push_str(&inline(item));
            out.push('\n');
            block = Block::Item;
        } else if block == Block::None && line.starts_with("    ") {
            out.push_str(".PP\n.RS 4\n.nf\n");
            out.push_str(&escape(&line[4..]));
            out.push('\n');
            block = Block::Code;
        } else {
            if block == Block::None {
                out.push_str(".PP\n");
                block = Block::Para;
            }
            out.push_str(&inline(line.trim()));
            out.push('\n');
        }
    }
    if block == Block::Code {
        out.push_str(".fi\n.RE\n");
    }
    // Trailing blank lines inside a code block would print as empty lines: drop them.
    out.replace("\n\n.fi", "\n.fi")
}

#[cfg(test)]
mod tests {
    use super::to_roff;

    #[test]
    fn renders_the_subset() {
        let md = "# NAME\n\nfoo \\- bar\n\n- `-t` checks\n- *x* y\n\nText `a.b` here.\n\n    .code -x\n    more\n\n## Sub\nEnd\n";
        let roff = to_roff(md);
        assert_eq!(
            roff,
            ".SH \"NAME\"\n.PP\nfoo \\- bar\n.IP \\(bu 2\n\\fB\\-t\\fR checks\n.IP \\(bu 2\n\
             \\fIx\\fR y\n.PP\nText \\fBa.b\\fR here.\n.PP\n.RS 4\n.nf\n\\&.code \\-x\nmore\n.fi\n.RE\n\
             .SS \"Sub\"\n.PP\nEnd\n"
        );
    }

    #[test]
    fn unbalanced_marks_are_literal() {
        assert_eq!(to_roff("a `b and 2*3\n"), ".PP\na `b and 2*3\n");
    }
}
