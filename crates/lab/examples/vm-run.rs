//! Runs a shell script inside the IPVS VM and prints its output; used by
//! `scripts/ipvs-vm.sh`. Exits with the script's exit code (2 when the VM
//! cannot run).
//!
//! `vm-run [--bin SRC[:DEST]]... [--file SRC:DEST]... [SCRIPT...]`: `--bin`
//! copies a host program with its shared libraries (default DEST
//! `/usr/local/bin/NAME`), `--file` a plain file; the script is the
//! remaining arguments joined by spaces, or stdin when there are none.

use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut builder = lab::vm::VmBuilder::new();
    let mut words = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bin" | "--file" => {
                let Some(spec) = args.next() else {
                    eprintln!("ipvs-vm: {arg} needs SRC[:DEST]");
                    return ExitCode::from(2);
                };
                let (src, dest) = match spec.split_once(':') {
                    Some((s, d)) => (s.to_owned(), d.to_owned()),
                    None => {
                        let name = spec.rsplit('/').next().unwrap_or(&spec);
                        (spec.clone(), format!("/usr/local/bin/{name}"))
                    }
                };
                builder = if arg == "--bin" {
                    builder.binary(src, &dest)
                } else {
                    builder.file(src, &dest)
                };
            }
            _ => words.push(arg),
        }
    }
    let mut script = words.join(" ");
    if script.is_empty() {
        let _ = std::io::stdin().read_to_string(&mut script);
    }
    let vm = match builder.build() {
        Ok(vm) => vm,
        Err(e) => {
            eprintln!("ipvs-vm: {e}");
            return ExitCode::from(2);
        }
    };
    match vm.run(&script) {
        Ok(out) => {
            print!("{}", out.stdout);
            eprint!("{}", out.stderr);
            for m in &out.module_failures {
                eprintln!("ipvs-vm: insmod {m} failed");
            }
            eprintln!(
                "ipvs-vm: kernel {}, exit {}, boot {:.2?}, total {:.2?}",
                vm.kernel_release(),
                out.exit_code,
                out.boot_time,
                out.total_time
            );
            ExitCode::from(u8::try_from(out.exit_code).unwrap_or(1))
        }
        Err(e) => {
            eprintln!("ipvs-vm: {e}");
            ExitCode::from(2)
        }
    }
}
