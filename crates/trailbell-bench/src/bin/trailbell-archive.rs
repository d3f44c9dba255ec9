//! `trailbell-archive`: writes a synthetic CloudTrail trail (log files and digest files, in S3's
//! key layout) for the scan benchmark. See `--help` and [`trailbell_bench::archive`].

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use trailbell_bench::archive::{self, Config, Summary, days_from_civil};
use trailbell_bench::report::thousands;

const HELP: &str = "\
trailbell-archive: a seeded synthetic CloudTrail archive, laid out as a trail writes it to S3

    DIR/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_YYYYMMDDTHHMMZ_<random>.json.gz
    DIR/AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/...json.gz   (digest files, to be skipped)

One log file per account and region every 5 minutes (when it had events), each {\"Records\":[...]}
gzipped at level 6. The records are trailbell-bench's CloudTrail events (their `detail`). The same
options and seed write the same bytes.

USAGE:
    cargo run --release -p trailbell-bench --bin trailbell-archive -- --out DIR [OPTIONS]

OPTIONS:
    --out DIR          where to write (DIR/AWSLogs must not exist yet)
    --size-mb N        decompressed size of the log files to aim at, in MB of 10^6 bytes (default 1200)
    --seed S           the seed (default 1)
    --accounts N       accounts, 1 to 20 (default 4)
    --days N           days of logs from 2026-11-02 (default 3)
    --start YYYY-MM-DD the first day (default 2026-11-02)
    --threads N        compressing threads (default: the number of cores)
    --quiet            no progress on standard error (none either when it is not a terminal)
    -h, --help         this text

Prints what it wrote, also as `key value` lines to DIR/trailbell-archive.txt (not a .json file, so
that scanners walking DIR do not read it).
";

struct Args {
    out: PathBuf,
    config: Config,
    quiet: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    fn value<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
        let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
        v.replace(['_', ','], "")
            .parse()
            .map_err(|_| format!("{flag}: cannot read {v:?}"))
    }
    let mut config = Config::default();
    let mut out = None;
    let mut quiet = false;
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--out" => out = Some(PathBuf::from(value::<String>("--out", argv.next())?)),
            "--size-mb" => {
                config.target_bytes = value::<u64>("--size-mb", argv.next())?
                    .checked_mul(1_000_000)
                    .ok_or("--size-mb: too large")?;
            }
            "--seed" => config.seed = value("--seed", argv.next())?,
            "--accounts" => config.accounts = value("--accounts", argv.next())?,
            "--days" => config.days = value("--days", argv.next())?,
            "--threads" => config.threads = value("--threads", argv.next())?,
            "--start" => {
                let v: String = value("--start", argv.next())?;
                let parts: Vec<&str> = v.split('-').collect();
                let bad = || format!("--start: expected YYYY-MM-DD, got {v:?}");
                let [y, m, d] = parts[..] else {
                    return Err(bad());
                };
                let (y, m, d) = (
                    y.parse().map_err(|_| bad())?,
                    m.parse().map_err(|_| bad())?,
                    d.parse().map_err(|_| bad())?,
                );
                if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
                    return Err(bad());
                }
                config.first_day = days_from_civil(y, m, d);
            }
            "--quiet" => quiet = true,
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    let out = out.ok_or("--out DIR is required (see --help)")?;
    if config.target_bytes == 0 {
        return Err("--size-mb must be at least 1".to_owned());
    }
    Ok(Some(Args { out, config, quiet }))
}

fn lines(s: &Summary, config: &Config, secs: f64) -> Vec<(&'static str, String)> {
    vec![
        ("seed", config.seed.to_string()),
        ("accounts", config.accounts.to_string()),
        ("days", config.days.to_string()),
        ("target_bytes", config.target_bytes.to_string()),
        ("files", s.files.to_string()),
        ("records", s.records.to_string()),
        ("duplicates", s.duplicates.to_string()),
        ("compressed_bytes", s.compressed_bytes.to_string()),
        ("uncompressed_bytes", s.uncompressed_bytes.to_string()),
        ("digest_files", s.digest_files.to_string()),
        ("digest_bytes", s.digest_bytes.to_string()),
        ("min_records_per_file", s.min_records_per_file.to_string()),
        ("max_records_per_file", s.max_records_per_file.to_string()),
        ("read_only", s.read_only.to_string()),
        ("console_logins", s.console_logins.to_string()),
        ("sign_ins_without_mfa", s.sign_ins_without_mfa.to_string()),
        ("seconds", format!("{secs:.1}")),
    ]
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("trailbell-archive: {e}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let quiet = args.quiet || !std::io::stderr().is_terminal();
    let mut last = -1.0;
    let mut progress = |done: f64| {
        if quiet || done - last < 0.02 && done < 1.0 {
            return;
        }
        last = done;
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\rwriting... {:3.0}%", done * 100.0);
        if done >= 1.0 {
            let _ = writeln!(err);
        }
    };
    let summary = match archive::generate(&args.out, &args.config, &mut progress) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("trailbell-archive: {e}");
            return ExitCode::from(2);
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let s = &summary;
    println!(
        "Wrote {} log files ({} records, {} of them delivered twice; {} to {} records a file) in {}: \
         {:.1} MB compressed, {:.1} MB decompressed; {} digest files ({:.1} MB) under CloudTrail-Digest/, in {secs:.1} s.",
        thousands(s.files),
        thousands(s.records),
        thousands(s.duplicates),
        s.min_records_per_file,
        s.max_records_per_file,
        args.out.display(),
        s.compressed_bytes as f64 / 1e6,
        s.uncompressed_bytes as f64 / 1e6,
        thousands(s.digest_files),
        s.digest_bytes as f64 / 1e6,
    );
    println!(
        "Records: {:.1}% read-only, {} console sign-ins, {} distinct successful Root/IAMUser console sign-ins without MFA.",
        s.read_only as f64 * 100.0 / s.records.max(1) as f64,
        thousands(s.console_logins),
        thousands(s.sign_ins_without_mfa),
    );
    let manifest: String = lines(s, &args.config, secs)
        .into_iter()
        .map(|(k, v)| format!("{k} {v}\n"))
        .collect();
    if let Err(e) = std::fs::write(args.out.join("trailbell-archive.txt"), manifest) {
        eprintln!("trailbell-archive: failed to write the manifest: {e}");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
