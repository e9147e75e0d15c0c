//! `genhash`: the digest tool for HTTP checks. Not implemented yet (the checkers issue builds it).

fn main() {
    eprintln!("genhash: not yet implemented (it arrives with the health checkers)");
    std::process::exit(2);
}
