//! HTTP_GET / SSL_GET options and their `url` blocks.

use super::hex::parse_digest;
use crate::build::Cx;
use crate::model::lvs::*;
use crate::tree::Node;

#[rustfmt::skip]
const URL_KEYWORDS: &[&str] = &[
    "path", "digest", "status_code", "virtualhost", "regex", "regex_no_match", "regex_options",
    "regex_min_offset", "regex_max_offset", "regex_stack", "tls_compliant",
];

const REGEX_OPTIONS: &[(&str, RegexOption)] = &[
    ("allow_empty_class", RegexOption::AllowEmptyClass),
    ("alt_bsux", RegexOption::AltBsux),
    ("auto_callout", RegexOption::AutoCallout),
    ("caseless", RegexOption::Caseless),
    ("dollar_endonly", RegexOption::DollarEndonly),
    ("dotall", RegexOption::Dotall),
    ("dupnames", RegexOption::Dupnames),
    ("extended", RegexOption::Extended),
    ("firstline", RegexOption::Firstline),
    ("match_unset_backref", RegexOption::MatchUnsetBackref),
    ("multiline", RegexOption::Multiline),
    ("never_ucp", RegexOption::NeverUcp),
    ("never_utf", RegexOption::NeverUtf),
    ("no_auto_capture", RegexOption::NoAutoCapture),
    ("no_auto_possess", RegexOption::NoAutoPossess),
    ("no_dotstar_anchor", RegexOption::NoDotstarAnchor),
    ("no_start_optimize", RegexOption::NoStartOptimize),
    ("ucp", RegexOption::Ucp),
    ("ungreedy", RegexOption::Ungreedy),
    ("utf", RegexOption::Utf),
    ("never_backslash_c", RegexOption::NeverBackslashC),
    ("alt_circumflex", RegexOption::AltCircumflex),
    ("alt_verbnames", RegexOption::AltVerbnames),
    ("use_offset_limit", RegexOption::UseOffsetLimit),
];

pub(super) fn http_keyword(
    cx: &mut Cx,
    node: &Node,
    http: &mut HttpCheck,
    vhost: &mut Option<String>,
    retry: &mut Option<u32>,
) -> bool {
    match node.name() {
        "nb_get_retry" => {
            cx.error(
                node.loc(),
                "nb_get_retry is deprecated - use `retry` (value applied)",
            );
            *retry = cx.int(node, 0, 0..=u32::MAX).or(*retry);
        }
        "virtualhost" => {
            cx.at_most(node, 1);
            *vhost = cx.string(node).or(vhost.take());
        }
        "http_protocol" => {
            cx.at_most(node, 1);
            let table = [
                ("1.0", HttpProtocol::Http10),
                ("1.0C", HttpProtocol::Http10C),
                ("1.0c", HttpProtocol::Http10C),
                ("1.1", HttpProtocol::Http11),
            ];
            if let Some(p) = cx.choice(node, 0, &table) {
                http.http_protocol = p;
            }
        }
        "enable_sni" => {
            cx.at_most(node, 1);
            http.enable_sni = cx.bool_opt(node, 0);
        }
        "sni_name" => {
            cx.at_most(node, 1);
            http.sni_name = cx.string(node).or(http.sni_name.take());
        }
        "fast_recovery" => {
            cx.at_most(node, 1);
            http.fast_recovery = cx.bool_opt(node, 0);
        }
        "tls_compliant" => {
            cx.at_most(node, 1);
            http.tls_compliant = cx.bool_opt(node, 0);
        }
        "url" => {
            if let Some(u) = build_url(cx, node) {
                http.urls.push(u);
            }
        }
        _ => return false,
    }
    true
}

fn build_url(cx: &mut Cx, node: &Node) -> Option<Url> {
    let mut url = Url::new(String::new(), node.loc());
    let mut has_path = false;
    for child in cx.block(node).unwrap_or(&[]) {
        match child.name() {
            "path" => {
                cx.at_most(child, 1);
                if let Some(p) = cx.string(child) {
                    url.path = p;
                    has_path = true;
                }
            }
            "digest" => {
                cx.at_most(child, 1);
                let Some(tok) = cx.arg(child, 0) else {
                    continue;
                };
                match parse_digest(&tok.text) {
                    Some(d) => url.digest = Some(d),
                    None => cx.error(
                        tok.loc,
                        format!(
                            "digest `{}` must be 32 hexadecimal characters (an MD5 sum)",
                            tok.text
                        ),
                    ),
                }
            }
            "status_code" => {
                cx.arg(child, 0);
                for tok in &child.args {
                    let range = match tok.text.split_once('-') {
                        Some((a, b)) => a.parse::<u16>().ok().zip(b.parse::<u16>().ok()),
                        None => tok.text.parse::<u16>().ok().map(|c| (c, c)),
                    };
                    match range {
                        Some((from, to))
                            if (100..=599).contains(&from)
                                && (100..=599).contains(&to)
                                && from <= to =>
                        {
                            url.status_codes.push(StatusRange { from, to })
                        }
                        _ => cx.error(
                            tok.loc,
                            format!(
                                "invalid HTTP status code `{}` (100-599, or a range like 200-299)",
                                tok.text
                            ),
                        ),
                    }
                }
            }
            "virtualhost" => {
                cx.at_most(child, 1);
                url.virtualhost = cx.string(child).or(url.virtualhost.take());
            }
            "regex" => {
                cx.at_most(child, 1);
                url.regex = cx.string(child).or(url.regex.take());
            }
            "regex_no_match" => {
                cx.at_most(child, 0);
                url.regex_no_match = true;
            }
            "regex_options" => {
                cx.arg(child, 0);
                for tok in &child.args {
                    if let Some(o) = cx.choice_token("regex_options", tok, REGEX_OPTIONS)
                        && !url.regex_options.contains(&o)
                    {
                        url.regex_options.push(o);
                    }
                }
            }
            "regex_min_offset" => {
                url.regex_min_offset = cx.int(child, 0, 0..=u32::MAX).or(url.regex_min_offset)
            }
            "regex_max_offset" => {
                url.regex_max_offset = cx.int(child, 0, 0..=u32::MAX).or(url.regex_max_offset)
            }
            "regex_stack" => {
                let start = cx.int(child, 0, 0..=u32::MAX);
                let max = cx.int(child, 1, 0..=u32::MAX);
                if let (Some(s), Some(m)) = (start, max) {
                    if s > m {
                        cx.error(
                            child.args_loc(),
                            "regex_stack: start size is greater than the maximum",
                        );
                    } else {
                        url.regex_stack = Some((s, m));
                    }
                }
            }
            "tls_compliant" => {
                cx.at_most(child, 1);
                url.tls_compliant = cx.bool_opt(child, 0);
            }
            _ => {
                cx.unknown(child, "url", URL_KEYWORDS);
                continue;
            }
        }
        cx.mark("url", child);
    }
    if !has_path {
        cx.error(node.loc(), "url has no path - ignoring");
        return None;
    }
    if url.status_codes.is_empty() {
        url.status_codes.push(StatusRange { from: 200, to: 299 });
    }
    Some(url)
}
