//! Lists the schema migrations (`migrations/sqlite`, `migrations/postgres`) for `src/migrations.rs`
//! to embed: each file's version, description and text, as sqlx's `migrate!` macro would, without
//! the macro crate (which builds both database drivers a second time for the compiler).
use std::{env, fs, path::Path};

fn main() {
    let root = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("migrations");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut out = String::new();
    for backend in ["sqlite", "postgres"] {
        let dir = root.join(backend);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<(i64, String, String)> = Vec::new();
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Some((version, rest)) = name.split_once('_') else { continue };
            let Some(description) = rest.strip_suffix(".sql") else { continue };
            assert!(!description.ends_with(".up") && !description.ends_with(".down"), "{name}: reversible migrations are not used");
            let version: i64 = version.parse().unwrap_or_else(|_| panic!("{name}: the name starts with its version number"));
            files.push((version, description.replace('_', " "), path.display().to_string()));
        }
        files.sort();
        out += &format!("/// The {backend} migrations: version, description, SQL.\npub(crate) const {}: &[(i64, &str, &str)] = &[\n", backend.to_uppercase());
        for (version, description, path) in files {
            out += &format!("    ({version}, {description:?}, include_str!({path:?})),\n");
        }
        out += "];\n";
    }
    fs::write(Path::new(&env::var("OUT_DIR").unwrap()).join("migrations.rs"), out).unwrap();
}
