//! The fake interpreter binary; everything is in the library (`fake_interpreter::main`),
//! so the `plugin-conformance` CLI can be the fake interpreter too.

fn main() {
    fake_interpreter::main(std::env::args().collect())
}
