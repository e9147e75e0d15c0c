//! The syntax tree: logical lines become statements (a keyword and its arguments), and `{ }`
//! become nested blocks. One-line blocks (`virtual_ipaddress { 192.0.2.1 }`) and a `{` alone on
//! the next line are accepted; unbalanced braces are reported where they are.

use crate::diag::{Diagnostics, Loc, SourceMap};
use crate::lexer::{self, Word};
use crate::preprocess::{LineOrigin, LineSink};

/// A word with its place in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The word.
    pub text: String,
    /// Where it was written.
    pub loc: Loc,
}

/// A statement: `keyword arg arg ... [{ children }]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The first word.
    pub keyword: Token,
    /// The following words on the same line.
    pub args: Vec<Token>,
    /// The block that follows, if any.
    pub block: Option<Vec<Node>>,
}

impl Node {
    /// The keyword's text.
    pub fn name(&self) -> &str {
        &self.keyword.text
    }
    /// Where the statement starts.
    pub fn loc(&self) -> Loc {
        self.keyword.loc
    }
    /// The children (empty when there is no block).
    pub fn children(&self) -> &[Node] {
        self.block.as_deref().unwrap_or(&[])
    }
    /// The keyword followed by the arguments, as written words.
    pub fn words(&self) -> impl Iterator<Item = &Token> {
        std::iter::once(&self.keyword).chain(self.args.iter())
    }
    /// The place spanning all arguments (or the keyword if there are none).
    pub fn args_loc(&self) -> Loc {
        match (self.args.first(), self.args.last()) {
            (Some(first), Some(last)) if first.loc.line == last.loc.line => Loc {
                len: (last.loc.col + last.loc.len)
                    .saturating_sub(first.loc.col)
                    .max(1),
                ..first.loc
            },
            (Some(first), _) => first.loc,
            _ => self.keyword.loc,
        }
    }
}

/// Deepest block nesting accepted (keepalived's deepest is about five levels).
const MAX_NESTING: usize = 32;

struct Frame {
    nodes: Vec<Node>,
    /// The statement owning this block and where its `{` was.
    owner: Option<(Node, Loc)>,
}

/// Builds the tree incrementally from the preprocessor's lines.
pub struct TreeBuilder<'a> {
    stack: Vec<Frame>,
    /// Receives each top-level statement once it is complete, so a large configuration is never
    /// held as a whole tree; without it, top-level statements are kept for [`TreeBuilder::finish`].
    on_top: Option<TopSink<'a>>,
    /// Braces opened beyond MAX_NESTING: reported once each, and their `}` are absorbed.
    too_deep: usize,
}

/// A consumer of complete top-level statements.
pub type TopSink<'a> = Box<dyn FnMut(Node) + 'a>;

impl Default for TreeBuilder<'_> {
    fn default() -> Self {
        Self {
            stack: vec![Frame {
                nodes: Vec::new(),
                owner: None,
            }],
            on_top: None,
            too_deep: 0,
        }
    }
}

impl<'a> TreeBuilder<'a> {
    /// A builder that hands each complete top-level statement to `on_top`.
    pub fn streaming(on_top: TopSink<'a>) -> Self {
        Self {
            on_top: Some(on_top),
            ..Self::default()
        }
    }
}

impl LineSink for TreeBuilder<'_> {
    fn line(&mut self, text: &str, at: LineOrigin, sources: &SourceMap, diags: &mut Diagnostics) {
        let mut unterminated = false;
        let words = lexer::split_words(text, &mut unterminated);
        let locate = |w: &Word| locate_word(w, at, sources);
        if unterminated && let Some(last) = words.last() {
            diags.error(locate(last), "unterminated quoted string");
        }
        let stack = &mut self.stack;
        let on_top = &mut self.on_top;
        let mut current: Vec<Token> = Vec::new();
        for word in words {
            if word.is_open() {
                let loc = locate(&word);
                if stack.len() > MAX_NESTING {
                    diags.error(loc, format!("blocks nested more than {MAX_NESTING} deep"));
                    self.too_deep += 1;
                    current.clear();
                    continue;
                }
                let owner = if current.is_empty() {
                    // `{` alone: attach to the previous statement if it has no block yet.
                    let top = stack.last_mut().map(|f| &mut f.nodes);
                    match top.and_then(|nodes| nodes.pop_if(|n| n.block.is_none())) {
                        Some(node) => node,
                        None => {
                            diags.error(loc, "'{' without a keyword before it");
                            Node {
                                keyword: Token {
                                    text: String::new(),
                                    loc,
                                },
                                args: Vec::new(),
                                block: None,
                            }
                        }
                    }
                } else {
                    statement(std::mem::take(&mut current))
                };
                stack.push(Frame {
                    nodes: Vec::new(),
                    owner: Some((owner, loc)),
                });
            } else if word.is_close() {
                let loc = locate(&word);
                if !current.is_empty() {
                    push(stack, statement(std::mem::take(&mut current)), on_top);
                }
                if self.too_deep > 0 {
                    self.too_deep -= 1;
                } else if stack.len() > 1 {
                    close_frame(stack, on_top);
                } else {
                    diags.error(loc, "unexpected '}' (no block is open)");
                }
            } else {
                let loc = locate(&word);
                current.push(Token {
                    text: word.text,
                    loc,
                });
            }
        }
        if !current.is_empty() {
            push(stack, statement(current), on_top);
        }
    }
}

impl TreeBuilder<'_> {
    /// Closes what is still open (reporting each unclosed `{`) and returns the top-level nodes
    /// (none when streaming: they went to the sink).
    pub fn finish(mut self, diags: &mut Diagnostics) -> Vec<Node> {
        while self.stack.len() > 1 {
            if let Some(Frame {
                owner: Some((node, open)),
                ..
            }) = self.stack.last()
            {
                diags.error(*open, format!("'{{' of '{}' is never closed", node.name()));
            }
            close_frame(&mut self.stack, &mut self.on_top);
        }
        let nodes = self.stack.pop().map(|f| f.nodes).unwrap_or_default();
        match &mut self.on_top {
            Some(sink) => {
                nodes.into_iter().for_each(sink);
                Vec::new()
            }
            None => nodes,
        }
    }
}

fn statement(mut words: Vec<Token>) -> Node {
    let keyword = words.remove(0);
    Node {
        keyword,
        args: words,
        block: None,
    }
}

fn push(stack: &mut [Frame], node: Node, on_top: &mut Option<TopSink<'_>>) {
    let at_top = stack.len() == 1;
    if let Some(top) = stack.last_mut() {
        // At the top level the previous statement is complete once another one starts (it is
        // kept until then because a `{` on the next line may still belong to it).
        if let (true, Some(sink)) = (at_top, on_top.as_mut())
            && let Some(previous) = top.nodes.pop()
        {
            sink(previous);
        }
        top.nodes.push(node);
    }
}

fn close_frame(stack: &mut Vec<Frame>, on_top: &mut Option<TopSink<'_>>) {
    if let Some(frame) = stack.pop()
        && let Some((mut owner, _)) = frame.owner
    {
        owner.block = Some(frame.nodes);
        if !owner.keyword.text.is_empty() {
            push(stack, owner, on_top);
        }
    }
}

/// Finds a word's column in the file's own line. Expanded lines rarely match the file text
/// column for column, so the word is searched for; failing that, the whole line is marked.
fn locate_word(word: &Word, line: LineOrigin, sources: &SourceMap) -> Loc {
    if !line.expanded {
        // Columns are relative to the trimmed text, which starts `indent` characters in.
        return Loc {
            file: line.file,
            line: line.line,
            col: word.col + line.indent,
            len: word.len,
        };
    }
    let raw = sources.line(line.file, line.line).unwrap_or("");
    if let Some(byte) = raw
        .find(word.text.as_str())
        .filter(|_| !word.text.is_empty())
    {
        let col = u32::try_from(raw[..byte].chars().count() + 1).unwrap_or(1);
        let len = u32::try_from(word.text.chars().count()).unwrap_or(1);
        return Loc {
            file: line.file,
            line: line.line,
            col,
            len,
        };
    }
    let start = raw.chars().take_while(|c| c.is_whitespace()).count();
    let len = raw.trim().chars().count().max(1);
    Loc {
        file: line.file,
        line: line.line,
        col: u32::try_from(start + 1).unwrap_or(1),
        len: u32::try_from(len).unwrap_or(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::{PreprocessOptions, preprocess_str};

    fn tree(text: &str) -> (Vec<Node>, Diagnostics) {
        let mut sources = SourceMap::default();
        let mut diags = Diagnostics::default();
        let mut builder = TreeBuilder::default();
        preprocess_str(
            "t.conf",
            text,
            &PreprocessOptions::default(),
            &mut sources,
            &mut diags,
            &mut builder,
        );
        (builder.finish(&mut diags), diags)
    }

    #[test]
    fn nested_and_one_line_blocks() {
        let (nodes, diags) = tree(
            "vrrp_instance VI_1 {\n  state MASTER\n  virtual_ipaddress { 192.0.2.1/24 192.0.2.2 }\n}\n",
        );
        assert!(!diags.has_errors());
        assert_eq!(nodes.len(), 1);
        let inst = &nodes[0];
        assert_eq!(inst.args[0].text, "VI_1");
        assert_eq!(inst.children()[0].args[0].text, "MASTER");
        assert_eq!(inst.children()[0].keyword.loc.col, 3);
        let vips = inst.children()[1].children();
        assert_eq!(vips[0].name(), "192.0.2.1/24");
        assert_eq!(vips[0].args[0].text, "192.0.2.2");
    }

    #[test]
    fn brace_on_next_line() {
        let (nodes, diags) = tree("global_defs\n{\n router_id x\n}\n");
        assert!(!diags.has_errors());
        assert_eq!(nodes[0].children()[0].name(), "router_id");
    }

    #[test]
    fn unbalanced_braces_are_located() {
        let (_, diags) = tree("a {\n b {\n}\n");
        assert_eq!(diags.items().len(), 1);
        assert_eq!(diags.items()[0].loc.line, 1);
        let (_, diags) = tree("a\n}\n");
        assert_eq!(
            (diags.items()[0].loc.line, diags.items()[0].loc.col),
            (2, 1)
        );
    }
}
