//! CSV exports: written by the `csv` crate, read from the database a page at a time and
//! handed out as a stream of chunks, so an export of any size holds one page in memory.
//!
//! Every document starts with a UTF-8 byte-order mark (Excel then reads "Código" as UTF-8),
//! and every cell that holds someone's text is guarded against spreadsheet formulas.

use std::future::Future;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::error::{AppError, AppResult};

/// Rows read per query while exporting.
pub const PAGE_ROWS: u32 = 500;

/// The UTF-8 byte-order mark every export starts with.
pub const BOM: &str = "\u{feff}";

/// A CSV document as a stream of chunks: the mark and the header, then one chunk per page.
pub struct CsvStream(BoxStream<'static, AppResult<Vec<u8>>>);

impl CsvStream {
    /// The chunks, for a streamed response body.
    pub fn into_stream(self) -> BoxStream<'static, AppResult<Vec<u8>>> {
        self.0
    }

    /// The whole document as text, its byte-order mark included.
    pub async fn text(self) -> AppResult<String> {
        let bytes: Vec<u8> = self.0.try_concat().await?;
        String::from_utf8(bytes).map_err(AppError::internal)
    }

    /// `header`, then the chunks `next_page` writes, one call per page: it gets the cursor the
    /// previous call returned (`None` the first time) and returns its chunk and the cursor of
    /// the next page, or no cursor after the last. Nothing is read before the stream is polled,
    /// so permissions must be checked before calling this.
    pub fn paged<C, F, Fut>(header: &[&str], mut next_page: F) -> CsvStream
    where
        C: Send + 'static,
        F: FnMut(Option<C>) -> Fut + Send + 'static,
        Fut: Future<Output = AppResult<(Vec<u8>, Option<C>)>> + Send + 'static,
    {
        let mut sheet = Sheet::new();
        sheet.row(header.iter().map(|h| Cell::Plain(h)));
        let mut head = BOM.as_bytes().to_vec();
        let head = sheet.take().map(|bytes| {
            head.extend(bytes);
            head
        });
        // `Some(cursor)`: a page to read; `None`: done.
        let pages = stream::try_unfold(Some(None), move |page: Option<Option<C>>| {
            let fetched = page.map(&mut next_page);
            async move {
                let Some(fetched) = fetched else { return Ok(None) };
                let (chunk, next) = fetched.await?;
                Ok(Some((chunk, next.map(Some))))
            }
        });
        CsvStream(stream::once(async move { head }).chain(pages).boxed())
    }
}

/// One cell of a row.
pub enum Cell<'a> {
    /// Text the system wrote (labels, numbers, dates): written as is.
    Plain(&'a str),
    /// Text a person wrote (names, titles, places, notes): a `=`, `+`, `-`, `@`, tab or
    /// carriage return at its start, or right after a `;`, tab or line break inside it, gets a
    /// `'`, so a spreadsheet shows it instead of running it.
    Text(&'a str),
}

/// Rows written into a buffer, taken out a page at a time.
pub struct Sheet {
    writer: ::csv::Writer<Vec<u8>>,
}

impl Default for Sheet {
    fn default() -> Self {
        Self::new()
    }
}

impl Sheet {
    pub fn new() -> Sheet {
        Sheet { writer: Self::writer() }
    }

    fn writer() -> ::csv::Writer<Vec<u8>> {
        ::csv::WriterBuilder::new().terminator(::csv::Terminator::CRLF).from_writer(Vec::new())
    }

    /// Appends one row.
    pub fn row<'a>(&mut self, cells: impl IntoIterator<Item = Cell<'a>>) {
        use std::borrow::Cow;
        let record = cells.into_iter().map(|cell| match cell {
            Cell::Plain(s) => Cow::Borrowed(s.as_bytes()),
            Cell::Text(s) => match guard(s) {
                Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                Cow::Owned(s) => Cow::Owned(s.into_bytes()),
            },
        });
        // Writing into memory cannot fail; a record error would be a bug of ours.
        if let Err(e) = self.writer.write_record(record) {
            tracing::error!(error = %e, "csv row not written");
        }
    }

    /// The bytes written since the last call.
    pub fn take(&mut self) -> AppResult<Vec<u8>> {
        std::mem::replace(&mut self.writer, Self::writer()).into_inner().map_err(AppError::internal)
    }
}

/// Characters a spreadsheet takes as the start of a formula.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];
/// Where a spreadsheet may start a new cell inside our quoted one: a program that splits rows
/// on `;` or tabs (Excel in Spanish locales does, on `;`) ignores our quotes, which are not at
/// the start of its cell, and a line break starts a row.
const CELL_BREAK: [char; 4] = [';', '\t', '\r', '\n'];

/// `value` as a spreadsheet shows it rather than runs it: a `'` before every formula start at
/// the beginning of the text or right after a [`CELL_BREAK`].
fn guard(value: &str) -> std::borrow::Cow<'_, str> {
    let risky = |at: usize| value[at..].starts_with(FORMULA_START);
    let breaks = value.match_indices(CELL_BREAK).map(|(at, brk)| at + brk.len());
    if !risky(0) && !breaks.clone().any(risky) {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut guarded = String::with_capacity(value.len() + 4);
    let mut from = 0;
    for at in std::iter::once(0).chain(breaks).filter(|&at| risky(at)) {
        guarded.push_str(&value[from..at]);
        guarded.push('\'');
        from = at;
    }
    guarded.push_str(&value[from..]);
    std::borrow::Cow::Owned(guarded)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_needs_quoting_and_guards_formulas() {
        let mut sheet = Sheet::new();
        sheet.row([Cell::Plain("-3"), Cell::Text("=1+1"), Cell::Text("a, \"b\"\nc"), Cell::Text("@x")]);
        let text = String::from_utf8(sheet.take().unwrap()).unwrap();
        assert_eq!(text, "-3,'=1+1,\"a, \"\"b\"\"\nc\",'@x\r\n");
        assert!(sheet.take().unwrap().is_empty(), "taken once");
    }

    #[test]
    fn a_formula_after_a_semicolon_tab_or_line_break_is_guarded_too() {
        // Read by a program that splits on `;` (Excel in Spanish), our quotes do not hold.
        assert_eq!(guard("Ronda;=HIPERVINCULO(1);"), "Ronda;'=HIPERVINCULO(1);");
        assert_eq!(guard("a\t+1\n-2\r\n@3;;=4"), "a\t'+1\n'-2\r\n'@3;;'=4");
        assert_eq!(guard("=1;=2"), "'=1;'=2");
        assert_eq!(guard("Calle 5, -34.6; Norte"), "Calle 5, -34.6; Norte", "only right after a break");
        assert!(matches!(guard("Ronda; norte"), std::borrow::Cow::Borrowed(_)));
        let mut sheet = Sheet::new();
        sheet.row([Cell::Plain("COD"), Cell::Text("x;=cmd|' /C calc'!A0;")]);
        let text = String::from_utf8(sheet.take().unwrap()).unwrap();
        assert!(text.split([';', ',', '\n']).all(|cell| !cell.trim_start_matches('"').starts_with('=')), "{text}");
    }

    #[tokio::test]
    async fn pages_follow_the_header_until_no_cursor_is_left() {
        let stream = CsvStream::paged(&["Código", "N"], |cursor: Option<u32>| async move {
            let page = cursor.unwrap_or(0);
            let mut sheet = Sheet::new();
            sheet.row([Cell::Plain("X"), Cell::Plain(&page.to_string())]);
            Ok((sheet.take()?, (page < 2).then_some(page + 1)))
        });
        assert_eq!(stream.text().await.unwrap(), "\u{feff}Código,N\r\nX,0\r\nX,1\r\nX,2\r\n");
    }

    #[tokio::test]
    async fn an_error_ends_the_stream_with_it() {
        let stream =
            CsvStream::paged(&["A"], |_: Option<u8>| async { Err::<(Vec<u8>, _), _>(AppError::internal("x")) });
        assert!(stream.text().await.is_err());
    }
}
