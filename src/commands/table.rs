//! Left-aligned text tables, as buildx's tabwriter prints them: the last
//! column is not padded and trailing blanks are trimmed.

use std::fmt::Write as _;

/// Lays out `rows` in columns separated by at least `gap` spaces; widths
/// count characters, not bytes.
pub(super) fn table(rows: &[Vec<String>], gap: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            rows.iter()
                .filter_map(|row| row.get(column))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (column, cell) in row.iter().enumerate() {
            if column + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}{:gap$}", "", width = widths[column]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns_by_characters() {
        let rows = vec![
            vec!["TARGET".to_owned(), "DESCRIPTION".to_owned()],
            vec!["bâtir (default)".to_owned(), "the app".to_owned()],
            vec!["x".to_owned(), String::new()],
        ];
        insta::assert_snapshot!(table(&rows, 3), @r"
        TARGET            DESCRIPTION
        bâtir (default)   the app
        x
        ");
        let rows = vec![
            vec!["KIND".to_owned(), "SIZE".to_owned()],
            vec!["snapshots".to_owned(), "1kB".to_owned()],
        ];
        assert_eq!(table(&rows, 2), "KIND       SIZE\nsnapshots  1kB\n");
    }
}
