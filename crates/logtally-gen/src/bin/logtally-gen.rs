//! `logtally-gen DIR FILES LINES [SEED] [oracle|wild]`: writes a gzip corpus.
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: logtally-gen DIR FILES LINES [SEED] [oracle|wild]";
    let (Some(dir), Some(files), Some(lines)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let parse = |s: &str| s.parse::<usize>().map_err(|e| format!("{s}: {e}"));
    let style = match args.get(4).map(String::as_str) {
        None | Some("oracle") => logtally_gen::Style::Oracle,
        Some("wild") => logtally_gen::Style::Wild,
        Some(other) => {
            eprintln!("unknown style {other}; {usage}");
            return ExitCode::from(2);
        }
    };
    let result = (|| -> Result<Vec<PathBuf>, String> {
        let seed = args
            .get(3)
            .map_or(Ok(1), |s| s.parse::<u64>().map_err(|e| e.to_string()))?;
        logtally_gen::write_corpus(dir.as_ref(), parse(files)?, parse(lines)?, seed, style)
            .map_err(|e| format!("{dir}: {e}"))
    })();
    match result {
        Ok(paths) => {
            for p in paths {
                println!("{}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("logtally-gen: {e}");
            ExitCode::FAILURE
        }
    }
}
