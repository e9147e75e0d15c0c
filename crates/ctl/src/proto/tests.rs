use super::*;

fn parse(s: &str) -> Result<Command, RequestError> {
    parse_request(s.as_bytes())
}

#[test]
fn every_command_goes_through_its_own_line() {
    let commands = [
        Command::Status,
        Command::Maintenance {
            instance: "VI_1".into(),
            on: true,
        },
        Command::Drain {
            virtual_server: "[2001:db8::10]:80".into(),
            real_server: "[2001:db8::2]:80".into(),
            on: false,
        },
        Command::Reload,
        Command::Dump {
            kind: DumpKind::Json,
        },
    ];
    for c in commands {
        let line = request_line(&c);
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        assert_eq!(parse(line.trim_end()), Ok(c));
    }
}

#[test]
fn bad_requests_are_refused_with_their_reason() {
    let cases = [
        ("", "not JSON"),
        ("status", "not JSON"),
        ("[1]", "a request is a JSON object"),
        ("{\"command\":\"status\"}", "no \"version\""),
        (
            "{\"version\":2,\"command\":\"status\"}",
            "protocol version 2 is not spoken here",
        ),
        (
            "{\"version\":\"1\",\"command\":\"status\"}",
            "version \"1\"",
        ),
        ("{\"version\":1}", "no \"command\""),
        ("{\"version\":1,\"command\":7}", "not a string"),
        (
            "{\"version\":1,\"command\":\"stat\"}",
            "unknown variant `stat`",
        ),
        (
            "{\"version\":1,\"command\":\"maintenance\",\"on\":true}",
            "missing field `instance`",
        ),
        (
            "{\"version\":1,\"command\":\"maintenance\",\"instance\":\"VI_1\",\"on\":\"yes\"}",
            "bad request",
        ),
        (
            "{\"version\":1,\"command\":\"status\",\"extra\":1}",
            "unknown field `extra`",
        ),
        (
            "{\"version\":1,\"command\":\"dump\",\"kind\":\"core\"}",
            "unknown variant `core`",
        ),
    ];
    for (line, want) in cases {
        let e = parse(line).expect_err(line);
        assert!(e.0.contains(want), "{line}: {e} (wanted {want})");
    }
    let long = format!(
        "{{\"version\":1,\"command\":\"maintenance\",\"instance\":\"{}\",\"on\":true}}",
        "x".repeat(MAX_REQUEST)
    );
    assert!(parse(&long).expect_err("long").0.contains("longer than"));
}

/// The request parser's fuzz target, run here on random and mutated input: it never panics,
/// and whatever it accepts goes round its own line again.
#[test]
fn the_parser_survives_random_and_mutated_input() {
    let mut rng = fastrand::Rng::with_seed(0x6b63_746c);
    let seeds: Vec<Vec<u8>> = [
        Command::Status,
        Command::Maintenance {
            instance: "VI_1".into(),
            on: true,
        },
        Command::Drain {
            virtual_server: "198.51.100.10:80".into(),
            real_server: "192.0.2.2:80".into(),
            on: true,
        },
        Command::Reload,
        Command::Dump {
            kind: DumpKind::Data,
        },
    ]
    .iter()
    .map(|c| request_line(c).trim_end().as_bytes().to_vec())
    .collect();
    let alphabet = b"{}[]\":,0123456789 -.eEtrufalsnvio\\\x00\xff";
    let mut accepted = 0;
    for i in 0..50_000 {
        let mut input = if i % 4 == 0 {
            (0..rng.usize(0..64)).map(|_| rng.u8(..)).collect()
        } else {
            seeds[rng.usize(..seeds.len())].clone()
        };
        for _ in 0..rng.usize(0..4) {
            if input.is_empty() {
                break;
            }
            let at = rng.usize(..input.len());
            match rng.u8(0..3) {
                0 => input[at] = alphabet[rng.usize(..alphabet.len())],
                1 => {
                    input.remove(at);
                }
                _ => input.insert(at, alphabet[rng.usize(..alphabet.len())]),
            }
        }
        if let Ok(c) = parse_request(&input) {
            accepted += 1;
            assert_eq!(parse(request_line(&c).trim_end()), Ok(c));
        }
    }
    // The mutations keep some requests valid: the round trip was exercised.
    assert!(accepted > 1000, "only {accepted} accepted");
}

#[test]
fn responses_are_one_line_each() {
    let ok = Response::ok(serde_json::json!({"applied": true, "errors": []}));
    let err = Response::error("no vrrp_instance \"VI_9\"\nhere");
    for r in [ok, err] {
        let line = r.line();
        assert_eq!(line.matches('\n').count(), 1);
        let back: Response = serde_json::from_str(&line).expect("parses");
        assert_eq!(back, r);
    }
}
