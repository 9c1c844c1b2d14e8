//! RFC-style field diagrams and field tables, for the module docs of the
//! generated code (so the code and the spec read side by side).

use crate::model::Layout;

const ROW_BITS: u32 = 32;

/// The diagram of one format, 32 bits per row as in RFC 791.
pub fn diagram(layout: &Layout) -> Vec<String> {
    let total = layout.len as u32 * 8;
    let mut lines = vec![
        " 0                   1                   2                   3".to_string(),
        " 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1".to_string(),
    ];
    let border = |bits: u32| "+-".repeat(bits as usize) + "+";
    lines.push(border(total.min(ROW_BITS)));
    let mut row_start = 0;
    while row_start < total {
        let row_end = (row_start + ROW_BITS).min(total);
        let mut line = String::from("|");
        for f in &layout.fields {
            let (start, end) = (f.bit_offset, f.bit_offset + f.def.bits);
            let (a, b) = (start.max(row_start), end.min(row_end));
            if a >= b {
                continue;
            }
            let width = (2 * (b - a) - 1) as usize;
            let label = if a == start {
                f.def.name.clone()
            } else {
                format!("{} (cont.)", f.def.name)
            };
            line += &center(&label, width);
            line.push('|');
        }
        lines.push(line);
        lines.push(border(row_end - row_start));
        row_start = row_end;
    }
    lines
}

/// `label` centred in `width` columns, cut short when it does not fit.
fn center(label: &str, width: usize) -> String {
    let label: String = if label.len() > width {
        label.chars().take(width).collect()
    } else {
        label.to_string()
    };
    let left = (width - label.len()) / 2;
    format!(
        "{}{}{}",
        " ".repeat(left),
        label,
        " ".repeat(width - left - label.len())
    )
}

/// A Markdown table: field, offset, width, meaning.
pub fn field_table(layout: &Layout) -> Vec<String> {
    let mut lines = vec![
        "| field | byte.bit | bits | meaning |".to_string(),
        "|---|---|---|---|".to_string(),
    ];
    for f in &layout.fields {
        lines.push(format!(
            "| `{}` | {}.{} | {} | {} |",
            f.def.name,
            f.bit_offset / 8,
            f.bit_offset % 8,
            f.def.bits,
            f.def.doc.replace('|', "\\|")
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The IPv4 diagram reads like RFC 791's, sub-byte fields included.
    #[test]
    fn ipv4_diagram() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let modules = crate::load(&root).unwrap();
        let ipv4 = modules.iter().find(|m| m.name == "ipv4").unwrap();
        let lines = super::diagram(&ipv4.formats[0]);
        let expected = [
            " 0                   1                   2                   3",
            " 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1",
            "+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+",
            "|version|  ihl  |   dscp    |ecn|         total_length          |",
            "+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+",
            "|        identification         |r|d|m|     fragment_offset     |",
        ];
        assert_eq!(lines[..6], expected);
        assert_eq!(lines.len(), 3 + 2 * 5, "five 32-bit rows");
    }

    /// A field wider than a row continues on the next one; a short last row
    /// is drawn only as wide as it is.
    #[test]
    fn ethernet_diagram() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let modules = crate::load(&root).unwrap();
        let eth = modules.iter().find(|m| m.name == "ethernet").unwrap();
        let lines = super::diagram(&eth.formats[0]);
        assert_eq!(
            lines[5],
            "|          dst (cont.)          |              src              |"
        );
        assert_eq!(lines[9], "|           ethertype           |");
        assert_eq!(lines[10], "+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+");
    }
}
