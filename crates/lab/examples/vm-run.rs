//! Runs a shell script (argument or stdin) inside the IPVS VM and prints its
//! output; used by `scripts/ipvs-vm.sh`. Exits with the script's exit code.

use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut script = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    if script.is_empty() {
        let _ = std::io::stdin().read_to_string(&mut script);
    }
    let vm = match lab::vm::VmBuilder::new().build() {
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
