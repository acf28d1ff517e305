//! The schema migrations, embedded in the binary (listed by `build.rs`): the same migrations,
//! checksums and order as sqlx's `migrate!` macro gives, so databases it migrated stay valid.
use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::Backend;

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// The migrations of `backend`, in version order.
pub fn migrator(backend: Backend) -> Migrator {
    let files = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    let migrations = files.iter().map(|&(version, description, sql)| Migration::new(version, Cow::Borrowed(description), MigrationType::Simple, Cow::Borrowed(sql), sql.starts_with("-- no-transaction"))).collect::<Vec<_>>();
    Migrator { migrations: Cow::Owned(migrations), ..Migrator::DEFAULT }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_embedded_in_version_order() {
        for (backend, dir) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
            let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/").to_string() + dir).unwrap().count();
            let versions = migrator(backend).iter().map(|m| m.version).collect::<Vec<_>>();
            assert_eq!(versions.len(), on_disk, "{dir}");
            assert!(versions.windows(2).all(|w| w[0] < w[1]) && versions[0] == 1, "{dir}: {versions:?}");
            assert_eq!(migrator(backend).iter().next().unwrap().description, "init");
        }
    }

    #[test]
    fn checksums_are_those_of_the_files() {
        use sha2::{Digest, Sha384};
        let init = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite/0001_init.sql")).unwrap();
        assert_eq!(migrator(Backend::Sqlite).iter().next().unwrap().checksum.as_ref(), Sha384::digest(&init).as_slice());
    }
}
