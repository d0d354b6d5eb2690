//! Local input files (a stack file, a saved plan, a backup document to restore): opened once
//! without blocking, refused unless the opened file is a regular one, and read to a bound,
//! never past it, even when the file grows while it is read.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// What a bounded read found.
#[derive(Debug, PartialEq, Eq)]
pub enum Bounded {
    Bytes(Vec<u8>),
    /// Not a regular file: what it is instead ("a FIFO", "a directory"...).
    NotRegular(&'static str),
    /// More bytes than the bound: its size, as the open file says.
    TooLarge(u64),
}

/// The bytes of the regular file at `path`, if it holds at most `max` of them. The type and
/// size are those of the file opened, not of a path looked at before (nothing can be swapped
/// in between); opening is non-blocking, so a FIFO without a writer is refused rather than
/// waited on; at most `max + 1` bytes are read, so a file that grows after the size check is
/// refused too.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Bounded> {
    // O_NONBLOCK makes open() of a FIFO return at once; reading a regular file ignores it.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(Bounded::NotRegular(kind(meta.file_type())));
    }
    if meta.len() > max {
        return Ok(Bounded::TooLarge(meta.len()));
    }
    match read_at_most(&file, max)? {
        Some(bytes) => Ok(Bounded::Bytes(bytes)),
        None => Ok(Bounded::TooLarge(
            file.metadata()?.len().max(max.saturating_add(1)),
        )),
    }
}

/// All of `reader` if it holds at most `max` bytes; `None` if it holds more, after reading
/// `max + 1` of them and no more.
fn read_at_most(reader: impl Read, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}

fn kind(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_regular_file_within_the_bound_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.json");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(
            read_bounded(&path, 10).unwrap(),
            Bounded::Bytes(b"0123456789".to_vec())
        );
        assert_eq!(read_bounded(&path, 9).unwrap(), Bounded::TooLarge(10));
        assert_eq!(
            read_bounded(dir.path(), 10).unwrap(),
            Bounded::NotRegular("a directory")
        );
        assert_eq!(
            read_bounded(Path::new("/dev/zero"), 10).unwrap(),
            Bounded::NotRegular("a character device")
        );
        let missing = read_bounded(&dir.path().join("missing"), 10).unwrap_err();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    }

    #[test]
    fn a_fifo_without_a_writer_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Without O_NONBLOCK the open itself would wait for a writer, forever.
        assert_eq!(
            read_bounded(&fifo, 10).unwrap(),
            Bounded::NotRegular("a FIFO")
        );
    }

    /// A file that never ends (as one that keeps growing, or /dev/zero), counting what was
    /// read of it.
    struct Endless(u64);

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(b'x');
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
    }

    #[test]
    fn a_file_that_grows_past_the_bound_is_read_no_further_than_one_byte_past_it() {
        // What read_bounded reads after the size check of the open file: a file that grew
        // meanwhile is read to max + 1 bytes and refused.
        let mut endless = Endless(0);
        assert_eq!(read_at_most(&mut endless, 10).unwrap(), None);
        assert_eq!(endless.0, 11);
        assert_eq!(
            read_at_most(&b"0123456789"[..], 10).unwrap(),
            Some(b"0123456789".to_vec())
        );
        assert_eq!(read_at_most(&b"0123456789"[..], 9).unwrap(), None);
    }
}
