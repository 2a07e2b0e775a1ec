//! Plain aligned columns, for terminals and logs alike.

/// A table with a header row; columns padded to their widest cell.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    indent: usize,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Self {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            indent: 0,
        }
    }

    /// Indents every line by `n` spaces.
    pub fn indent(mut self, n: usize) -> Self {
        self.indent = n;
        self
    }

    /// Adds a row. A cell is one line: what it holds is made inert
    /// ([`super::inert`]), since cells show names and values from files,
    /// plugins and models.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows
            .push(cells.iter().map(|c| super::inert(c)).collect());
    }

    /// Renders the table; the last column is not padded.
    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths = vec![0; columns];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = " ".repeat(self.indent);
            for (i, cell) in row.iter().enumerate().take(columns) {
                line.push_str(cell);
                if i + 1 < columns {
                    line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_columns_to_the_widest_cell() {
        let mut t = Table::new(&["NAME", "KIND"]);
        t.row(vec!["docker-resource".into(), "resource".into()]);
        assert_eq!(
            t.render(),
            "NAME             KIND\ndocker-resource  resource\n"
        );
    }

    /// A cell from a model or a file cannot start a line or move the
    /// cursor.
    #[test]
    fn a_cell_is_one_inert_line() {
        let mut t = Table::new(&["FIELD", "VALUE"]);
        t.row(vec![
            "env_vars.MODE\nINJECTED".into(),
            "\u{1b}[2J\u{202e}x".into(),
        ]);
        assert_eq!(
            t.render(),
            "FIELD                    VALUE\nenv_vars.MODE\\nINJECTED  \\u{1b}[2J\\u{202e}x\n"
        );
    }
}
