//! `decompress-only`: the floor under any scan of a CloudTrail archive. Reads and inflates every
//! log file of a directory tree with libdeflate, whole buffer at a time (the decompressor
//! `trailbell scan` uses), on N threads, and counts the bytes. `--parse` also reads each file's
//! JSON with serde_json (validating it, keeping nothing) and counts the records.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Deserialize;
use serde::de::IgnoredAny;
use trailbell_bench::archive::log_files;
use trailbell_bench::report::thousands;

const HELP: &str = "\
decompress-only: read and inflate every log file under DIR, nothing else

Walks DIR as `trailbell scan` does (.json.gz and .json files, CloudTrail-Digest/ skipped), then
reads each file whole and inflates it with libdeflate into a buffer sized from the gzip trailer,
on N threads. Prints files, bytes and seconds.

USAGE:
    cargo run --release -p trailbell-bench --bin decompress-only -- DIR [OPTIONS]

OPTIONS:
    --threads N   threads (default: the number of cores)
    --parse       also parse each file's {\"Records\":[...]} with serde_json (every value skipped
                  but validated) and count the records
    -h, --help    this text
";

#[derive(Deserialize)]
struct LogFile {
    #[serde(rename = "Records")]
    records: Vec<IgnoredAny>,
}

#[derive(Default)]
struct Totals {
    files: u64,
    compressed: u64,
    inflated: u64,
    records: u64,
}

fn work(files: &[PathBuf], next: &AtomicUsize, parse: bool) -> Result<Totals, String> {
    let mut totals = Totals::default();
    let mut inflater = libdeflater::Decompressor::new();
    let mut out = Vec::new();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(path) = files.get(i) else {
            return Ok(totals);
        };
        let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let text: &[u8] = if data.starts_with(&[0x1f, 0x8b]) {
            let trailer = data
                .len()
                .checked_sub(4)
                .ok_or_else(|| format!("{}: truncated", path.display()))?;
            let mut size = [0; 4];
            size.copy_from_slice(&data[trailer..]);
            let size = u32::from_le_bytes(size) as usize;
            if out.len() < size {
                out.resize(size, 0);
            }
            let n = inflater
                .gzip_decompress(&data, &mut out[..size])
                .map_err(|e| format!("{}: {e}", path.display()))?;
            &out[..n]
        } else {
            &data
        };
        totals.files += 1;
        totals.compressed += data.len() as u64;
        totals.inflated += text.len() as u64;
        if parse {
            let file: LogFile =
                serde_json::from_slice(text).map_err(|e| format!("{}: {e}", path.display()))?;
            totals.records += file.records.len() as u64;
        }
    }
}

fn main() -> ExitCode {
    let mut dir = None;
    let mut threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut parse = false;
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--threads" => match argv.next().and_then(|v| v.parse().ok()) {
                Some(n) if n > 0 => threads = n,
                _ => {
                    eprintln!("decompress-only: --threads needs a number above 0");
                    return ExitCode::from(2);
                }
            },
            "--parse" => parse = true,
            "-h" | "--help" => {
                print!("{HELP}");
                return ExitCode::SUCCESS;
            }
            other if dir.is_none() && !other.starts_with('-') => dir = Some(PathBuf::from(other)),
            other => {
                eprintln!("decompress-only: unknown argument {other:?} (see --help)");
                return ExitCode::from(2);
            }
        }
    }
    let Some(dir) = dir else {
        eprintln!("decompress-only: DIR is required (see --help)");
        return ExitCode::from(2);
    };

    let started = Instant::now();
    let files = match log_files(&dir) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("decompress-only: {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    };
    let next = AtomicUsize::new(0);
    let results: Vec<Result<Totals, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| work(&files, &next, parse)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a thread panicked".to_owned()))
            })
            .collect()
    });
    let secs = started.elapsed().as_secs_f64();
    let mut total = Totals::default();
    for result in results {
        match result {
            Ok(t) => {
                total.files += t.files;
                total.compressed += t.compressed;
                total.inflated += t.inflated;
                total.records += t.records;
            }
            Err(e) => {
                eprintln!("decompress-only: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let records = if parse {
        format!(", {} records", thousands(total.records))
    } else {
        String::new()
    };
    println!(
        "{} files, {} bytes read, {} bytes inflated{records}, {threads} threads, {secs:.3} s, {:.1} MB/s inflated",
        thousands(total.files),
        thousands(total.compressed),
        thousands(total.inflated),
        total.inflated as f64 / 1e6 / secs.max(1e-9),
    );
    ExitCode::SUCCESS
}
