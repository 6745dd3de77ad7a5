//! Dev tool: reads cases separated by `\n====\n` on stdin and prints each one's error class and message.
use std::io::Read;
fn main() {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).unwrap();
    for (i, case) in s.split("\n====\n").enumerate() {
        match aio::parser::parse_module(case) {
            Ok(_) => println!("{} => OK", i),
            Err(e) => println!("{} => {} {}", i, e.kind.class_name(), e.message),
        }
    }
}
