#![deny(unsafe_code)]

fn main() {
    std::process::exit(shockwave::cli::main());
}
