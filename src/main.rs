fn main() {
    std::process::exit(shockwave::cli::main());
}
