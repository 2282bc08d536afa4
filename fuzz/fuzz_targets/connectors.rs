//! Every export parser on arbitrary bytes: the first byte picks the format
//! (and the path the detector sees), the rest is the file. No input may
//! panic, hang or abort; errors must be located.
#![no_main]
use custody_connectors::{detect, parse, Format, ParseContext, SourceFile};
use custody_model::Fingerprinter;
use libfuzzer_sys::fuzz_target;

const PATHS: [&str; 6] = [
    "export.json",
    "aws/111122223333/access-keys.json",
    "terraform.tfstate",
    "okta/groups/00g1/users.json",
    "vault/sys/policies/acl/ci.json",
    "report.csv",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let fp = Fingerprinter::new(&[7u8; 32]).expect("a 32-byte key");
    let ctx = ParseContext { fingerprinter: &fp };
    let path = PATHS[pick as usize % PATHS.len()];
    let _ = detect(path, bytes);
    let format = Format::ALL[pick as usize % Format::ALL.len()];
    let parsed = parse(format, &SourceFile { path, bytes }, &ctx);
    for e in &parsed.errors {
        let _ = e.to_string();
    }
});
