//! Every audit-log reader (the forward-only JSON cursor under them) on
//! arbitrary bytes: the first byte picks the format.
#![no_main]
use custody_connectors::audit::{detect, read, LogFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let _ = detect(bytes);
    let format = LogFormat::ALL[pick as usize % LogFormat::ALL.len()];
    let mut n = 0u64;
    let r = read(
        format,
        "kubernetes/prod/audit.jsonl",
        bytes,
        &mut |ev, at| {
            n += ev.time.unsigned_abs() % 2;
            let _ = at.location();
        },
    );
    for e in &r.errors {
        let _ = e.to_string();
    }
});
